import ArgumentParser
import HostLinux
import VMCore

/// `vm host cpus`: the host's CPU topology and where a VM of N vCPUs should run.
struct HostCPUsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpus",
        abstract: "Show the CPU topology (cores, SMT siblings, L3 groups, NUMA nodes, isolated CPUs) and a layout for a VM.",
        discussion: """
            The suggested layout keeps CPU 0's core for the host and QEMU's emulator threads, gives \
            the VM whole cores with their SMT siblings (P-cores before E-cores, isolated CPUs first), \
            and keeps it inside one L3 group (a CCX/CCD on AMD) and one NUMA node when it fits. \
            The CPUs the vCPUs of a running VM (QEMU backend) are pinned to are marked "held by NAME".

            EXAMPLES:
              vm host cpus                  # the topology and a layout for 8 vCPUs
              vm host cpus --vcpus 12       # a layout for 12 vCPUs
              vm host cpus --json           # topology and layout as JSON
            """)

    @Option(help: "Suggest a layout for this many vCPUs (default: 8, or all the host can spare when fewer).")
    var vcpus: Int?

    @OptionGroup var options: HostOptions

    func run() throws {
        let topology = try CPUTopologyReader(fileSystem: options.fileSystem()).read()
        let count = vcpus ?? min(8, CPUTopologyReport.availableForVMs(topology))
        let held = Self.heldCPUs()
        if options.json {
            struct Output: Encodable {
                let topology: CPUTopology
                let cores: [[Int]]
                let l3Groups: [[Int]]
                /// Host CPU (as text: a JSON key) to the running VM whose vCPU is pinned there.
                let held: [String: String]
                let vcpus: Int
                let layout: CPULayout?
                let problem: String?
            }
            var layout: CPULayout?
            var problem: String?
            do { layout = try CPULayoutPlanner.suggest(vcpus: count, on: topology) } catch { problem = error.description }
            try HostOutput.printJSON(Output(topology: topology, cores: topology.cores, l3Groups: topology.l3Groups,
                                            held: Dictionary(uniqueKeysWithValues: held.map { (String($0.key), $0.value) }),
                                            vcpus: count, layout: layout, problem: problem))
        } else {
            print(CPUTopologyReport.render(topology, vcpus: count, held: held), terminator: "")
        }
    }

    /// The host CPUs the vCPUs of running VMs that `vm` launches itself are pinned to, with the
    /// VM's name (libvirt's domains are libvirt's to report: `virsh vcpupin`).
    static func heldCPUs() -> [Int: String] {
        var held: [Int: String] = [:]
        let logger = CommandSupport.quietLogger(debug: false)
        for file in CommandSupport.loader.definitionFiles() {
            guard let loaded = try? CommandSupport.loadResolved(file), loaded.spec.backend == .qemu,
                  case .explicit(let pins) = loaded.spec.cpu.pin,
                  let machine = try? CommandSupport.machine(loaded, logger: logger), machine.isRunning else { continue }
            for cpu in pins.vcpus { held[cpu] = loaded.spec.name.rawValue }
        }
        return held
    }
}
