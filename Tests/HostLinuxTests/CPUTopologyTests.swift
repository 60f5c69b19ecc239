import Foundation
import HostLinux
import HostLinuxFakes
import Testing
import VMCore

@Suite("CPU topology and the suggested layout")
struct CPUTopologyTests {
    @Test func cpuListsParseAndFormat() {
        #expect(CPUList.parse("0-3,8,10-11\n") == [0, 1, 2, 3, 8, 10, 11])
        #expect(CPUList.parse("") == [])
        #expect(CPUList.parse("\n") == [])
        for bad in ["(null)", "1-", "-1", "3-1", "a", "1,,2", "0-99999999"] {
            #expect(CPUList.parse(bad) == nil, "\(bad)")
        }
        #expect(CPUList.format([5, 0, 1, 2, 2]) == "0-2,5")
        #expect(CPUList.format([]) == "")
    }

    /// The report for a few VM sizes, as `vm host cpus --vcpus N` prints it.
    func report(_ tree: FakeHostTree, vcpus: [Int]) throws -> String {
        let topology = try CPUTopologyReader(fileSystem: tree.fileSystem).read()
        return vcpus.map { CPUTopologyReport.render(topology, vcpus: $0) }.joined(separator: "\n---\n")
    }

    @Test("Ryzen 9 5950X: a VM stays in the CCD without the host's core, and spans both only when it must")
    func ryzen() throws {
        let tree = try FakeHostTree.ryzen5950X()
        let topology = try CPUTopologyReader(fileSystem: tree.fileSystem).read()
        #expect(topology.cores.count == 16 && topology.l3Groups.count == 2)
        let layout = try CPULayoutPlanner.suggest(vcpus: 8, on: topology)
        #expect(layout.vcpus == [8, 24, 9, 25, 10, 26, 11, 27])
        #expect(layout.emulator == [0, 16])
        #expect((layout.sockets, layout.cores, layout.threads) == (1, 4, 2))
        try expectGolden(report(tree, vcpus: [8, 16, 24, 31]), "ryzen-5950x.cpus")
    }

    @Test("A running VM's pinned CPUs are marked with its name, each core with the CPUs it holds")
    func heldCPUsAreMarked() throws {
        let tree = try FakeHostTree.ryzen5950X()
        let topology = try CPUTopologyReader(fileSystem: tree.fileSystem).read()
        let text = CPUTopologyReport.render(topology, vcpus: 4, held: [8: "win11", 24: "win11", 9: "win11", 10: "linux"])
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains("core 8,24     held by win11 (CPUs 8,24)"), "\(text)")
        #expect(lines.contains("core 9,25     held by win11 (CPU 9)"), "\(text)")
        #expect(lines.contains("core 10,26    held by linux (CPU 10)"), "\(text)")
        #expect(!text.contains("core 11,27    held"), "\(text)")
        #expect(CPUTopologyReport.render(topology, vcpus: 4) == CPUTopologyReport.render(topology, vcpus: 4, held: [:]))
    }

    @Test("topoext for an AMD host passed through with SMT threads, and only then")
    func topoextOnAMD() {
        var cpu = CPUSpec()
        cpu.threads = 2
        #expect(CPUFlags(vendor: .amd, flags: ["svm", "topoext"]).exposesTopoext(to: cpu))
        #expect(!CPUFlags(vendor: .amd, flags: ["svm"]).exposesTopoext(to: cpu), "the host CPU has no topoext")
        #expect(!CPUFlags(vendor: .intel, flags: ["vmx", "topoext"]).exposesTopoext(to: cpu))
        cpu.threads = 1
        #expect(!CPUFlags(vendor: .amd, flags: ["svm", "topoext"]).exposesTopoext(to: cpu), "no threads to show")
        cpu.threads = 2
        cpu.model = "EPYC"
        #expect(!CPUFlags(vendor: .amd, flags: ["svm", "topoext"]).exposesTopoext(to: cpu), "a named model says itself")
    }

    @Test("Ryzen with isolcpus: the isolated CPUs are used first")
    func ryzenIsolated() throws {
        let tree = try FakeHostTree.ryzen5950X(isolated: [4, 5, 6, 7, 20, 21, 22, 23])
        let topology = try CPUTopologyReader(fileSystem: tree.fileSystem).read()
        #expect(topology.isolated == [4, 5, 6, 7, 20, 21, 22, 23] && topology.nohzFull == topology.isolated)
        let layout = try CPULayoutPlanner.suggest(vcpus: 8, on: topology)
        #expect(layout.vcpus == [4, 20, 5, 21, 6, 22, 7, 23])
        #expect(layout.notes.contains("isolated CPUs only (isolcpus)"))
    }

    @Test("Intel 12700K: P-cores first; E-cores join only when the P-cores are not enough")
    func intelHybrid() throws {
        let tree = try FakeHostTree.intel12700K()
        let topology = try CPUTopologyReader(fileSystem: tree.fileSystem).read()
        #expect(topology.cpu(16)?.coreType == .efficiency && topology.cpu(3)?.coreType == .performance)
        let layout = try CPULayoutPlanner.suggest(vcpus: 8, on: topology)
        #expect(layout.vcpus == [2, 3, 4, 5, 6, 7, 8, 9])
        #expect(layout.notes.contains("P-cores only"))
        let large = try CPULayoutPlanner.suggest(vcpus: 16, on: topology)
        #expect(large.vcpus.contains(16) && large.threads == 1)
        try expectGolden(report(tree, vcpus: [8, 16]), "intel-12700k.cpus")
    }

    @Test("2-socket server: one NUMA node, the one without the host's core, while it holds the VM")
    func twoSockets() throws {
        let tree = try FakeHostTree.twoSocketServer()
        let topology = try CPUTopologyReader(fileSystem: tree.fileSystem).read()
        #expect(topology.nodes == [0, 1] && topology.packages == [0, 1])
        let layout = try CPULayoutPlanner.suggest(vcpus: 16, on: topology)
        #expect(Set(layout.vcpus) == Set(Array(8..<16) + Array(24..<32)))
        try expectGolden(report(tree, vcpus: [8, 16, 20]), "two-socket-server.cpus")
    }

    @Test func tooManyVCPUsSayHowManyFit() throws {
        let tree = try FakeHostTree.intel12700K()
        let topology = try CPUTopologyReader(fileSystem: tree.fileSystem).read()
        #expect(throws: CPULayoutError.tooManyVCPUs(asked: 19, available: 18)) { try CPULayoutPlanner.suggest(vcpus: 19, on: topology) }
        #expect(throws: CPULayoutError.tooManyVCPUs(asked: 0, available: 18)) { try CPULayoutPlanner.suggest(vcpus: 0, on: topology) }
    }

    @Test("this machine's own sysfs reads as as many CPUs as the scheduler has")
    func thisMachine() throws {
        let topology = try CPUTopologyReader(fileSystem: RootedFileSystem(root: .system)).read()
        #expect(topology.cpus.count == ProcessInfo.processInfo.activeProcessorCount)
        #expect(topology.cores.flatMap { $0 }.sorted() == topology.cpus.map(\.id))
    }

    @Test func unreadableOnlineListIsAnError() throws {
        let tree = try FakeHostTree()
        try tree.file("/sys/devices/system/cpu/online", "garbage\n")
        #expect(throws: HostError.malformed(path: "/sys/devices/system/cpu/online", detail: "not a CPU list")) {
            try CPUTopologyReader(fileSystem: tree.fileSystem).read()
        }
    }
}

@Suite("pin = auto")
struct AutoPinTests {
    @Test("pin = auto becomes the suggested layout with a guest topology of whole SMT cores")
    func autoBecomesExplicit() throws {
        let tree = try FakeHostTree.ryzen5950X()
        let topology = try CPUTopologyReader(fileSystem: tree.fileSystem).read()
        var cpu = CPUSpec()
        cpu.cores = 6
        cpu.pin = .auto
        let resolved = try cpu.resolvingAutoPin(on: topology)
        #expect((resolved.sockets, resolved.cores, resolved.threads) == (1, 3, 2))
        #expect(resolved.pin == .explicit(CPUPins(vcpus: [8, 24, 9, 25, 10, 26], emulator: [0, 16])))
        var plain = CPUSpec()
        plain.pin = .explicit(CPUPins(vcpus: [1, 2]))
        #expect(try plain.resolvingAutoPin(on: topology) == plain)
        cpu.cores = 40
        #expect(throws: CPULayoutError.tooManyVCPUs(asked: 40, available: 30)) { try cpu.resolvingAutoPin(on: topology) }
    }
}
