import VMCore

/// The text of `vm host cpus`: the topology by L3 group and core, and a suggested layout. Pure.
public enum CPUTopologyReport {
    /// CPUs a VM may use at most on this host: all but CPU 0's core.
    public static func availableForVMs(_ topology: CPUTopology) -> Int {
        topology.cores.dropFirst().reduce(0) { $0 + $1.count }
    }

    /// The report; `held` names, for each host CPU a running VM's vCPU is pinned to, that VM.
    public static func render(_ topology: CPUTopology, vcpus: Int, held: [Int: String] = [:]) -> String {
        let cores = topology.cores
        let counts = Set(cores.map(\.count)).sorted()
        let threads = counts.count == 1 ? plural(counts[0], "thread") : counts.map(String.init).joined(separator: " or ") + " threads"
        let nodes = topology.nodes
        var lines = [
            "CPUs: \(topology.cpus.count) online in \(plural(topology.packages.count, "package")), "
                + "\(plural(cores.count, "core")) (\(threads) each), \(plural(topology.l3Groups.count, "L3 group")), "
                + (nodes.count > 1 ? "\(nodes.count) NUMA nodes" : "one NUMA node"),
            "isolated (isolcpus): \(listOrNone(topology.isolated)); nohz_full: \(listOrNone(topology.nohzFull))",
        ]
        let hostCore = cores.first ?? []
        for (index, group) in topology.l3Groups.enumerated() {
            let first = topology.cpu(group[0])
            let where_ = [first?.node.map { "node \($0)" }, topology.packages.count > 1 ? first.map { "package \($0.package)" } : nil]
                .compactMap { $0 }.joined(separator: ", ")
            lines.append("")
            lines.append("L3 group \(index): CPUs \(CPUList.format(group))" + (where_.isEmpty ? "" : " (\(where_))"))
            for core in cores where group.contains(core[0]) {
                var marks: [String] = []
                switch topology.cpu(core[0])?.coreType {
                case .performance: marks.append("P-core")
                case .efficiency: marks.append("E-core")
                case nil: break
                }
                if core == hostCore { marks.append("kept for the host") }
                if core.allSatisfy(Set(topology.isolated).contains) && !topology.isolated.isEmpty { marks.append("isolated") }
                for vm in Set(core.compactMap { held[$0] }).sorted() {
                    let cpus = core.filter { held[$0] == vm }
                    marks.append("held by \(vm) (CPU\(cpus.count == 1 ? "" : "s") \(CPUList.format(cpus)))")
                }
                let cpus = core.map(String.init).joined(separator: ",")
                lines.append(marks.isEmpty ? "  core \(cpus)"
                    : "  core \(cpus.column(width: max(8, cpus.count))) \(marks.joined(separator: ", "))")
            }
        }
        lines.append("")
        do {
            let layout = try CPULayoutPlanner.suggest(vcpus: vcpus, on: topology)
            lines.append("suggested layout for \(plural(vcpus, "vCPU")):")
            lines.append("  \(vcpus == 1 ? "vCPU 0" : "vCPUs 0-\(vcpus - 1)") on host CPUs \(layout.vcpus.map(String.init).joined(separator: ","))")
            lines.append("  emulator and I/O threads on \(CPUList.format(layout.emulator))")
            lines.append("  guest topology under [cpu]: sockets = \(layout.sockets), cores = \(layout.cores), threads = \(layout.threads)")
            for note in layout.notes { lines.append("  why: \(note)") }
        } catch {
            lines.append("no layout for \(plural(vcpus, "vCPU")): \(error)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
    private static func listOrNone(_ cpus: [Int]) -> String { cpus.isEmpty ? "none" : CPUList.format(cpus) }
}
