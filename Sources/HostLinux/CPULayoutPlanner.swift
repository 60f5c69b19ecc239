import VMCore

/// Where a VM's threads run on the host, and the guest topology that matches it.
public struct CPULayout: Sendable, Codable, Equatable {
    /// The host CPU of each vCPU, by vCPU index. SMT siblings are neighbours, so that the guest
    /// sees them as the threads of one core.
    public var vcpus: [Int]
    /// Host CPUs for QEMU's emulator and I/O threads: the core left to the host.
    public var emulator: [Int]
    /// The guest topology that matches the pinning (`[cpu] sockets/cores/threads`).
    public var sockets: Int
    public var cores: Int
    public var threads: Int
    /// Why these CPUs, one line each.
    public var notes: [String]
}

/// Why no layout can be suggested.
public enum CPULayoutError: Error, Sendable, Equatable, CustomStringConvertible {
    /// More vCPUs than the host has CPUs once a core is kept for the host.
    case tooManyVCPUs(asked: Int, available: Int)

    public var description: String {
        switch self {
        case let .tooManyVCPUs(asked, available):
            return "\(asked) vCPUs do not fit: the host keeps CPU 0's core, which leaves \(available) CPU\(available == 1 ? "" : "s") for a VM; ask for \(available) or fewer"
        }
    }
}

/// Suggests where a VM of N vCPUs should run: whole cores with their SMT siblings, P-cores before
/// E-cores, isolated CPUs before the others, one L3 group (a CCX/CCD on AMD) and one NUMA node
/// when the VM fits in one (an L3 group without the host's core first), and CPU 0's core left to
/// the host and QEMU's emulator threads. Pure.
public enum CPULayoutPlanner {
    public static func suggest(vcpus: Int, on topology: CPUTopology) throws(CPULayoutError) -> CPULayout {
        let cores = topology.cores
        let hostCore = cores.first { $0.contains(topology.cpus.first?.id ?? 0) } ?? []
        var candidates = cores.filter { $0 != hostCore }
        let available = candidates.reduce(0) { $0 + $1.count }
        guard vcpus >= 1, vcpus <= available else { throw .tooManyVCPUs(asked: vcpus, available: available) }
        var notes: [String] = []

        // Narrow to the preferred kind of core while it still holds the VM.
        let isolated = Set(topology.isolated)
        let preferences: [(String, ([Int]) -> Bool)] = [
            ("P-cores only", { core in topology.cpu(core[0])?.coreType != .efficiency }),
            ("isolated CPUs only (isolcpus)", { core in !isolated.isEmpty && core.allSatisfy(isolated.contains) }),
        ]
        for (note, keep) in preferences {
            let kept = candidates.filter(keep)
            if kept.count < candidates.count, kept.reduce(0, { $0 + $1.count }) >= vcpus {
                candidates = kept
                notes.append(note)
            }
        }

        // One L3 group when one holds the VM: groups without the host's core first, then the
        // fullest; else fill groups in that order, one NUMA node before the next.
        let groups = topology.l3Groups
        func group(of core: [Int]) -> Int { groups.firstIndex { $0.contains(core[0]) } ?? 0 }
        func node(of core: [Int]) -> Int { topology.cpu(core[0])?.node ?? 0 }
        let byGroup = Dictionary(grouping: candidates, by: group)
        let hostGroup = hostCore.first.map { first in groups.firstIndex { $0.contains(first) } ?? 0 }
        let order = byGroup.keys.sorted { a, b in
            let (aHost, bHost) = (a == hostGroup, b == hostGroup)
            if aHost != bHost { return !aHost }
            let (aNode, bNode) = (node(of: byGroup[a]![0]), node(of: byGroup[b]![0]))
            if aNode != bNode { return aNode < bNode }
            return a < b
        }
        let chosen: [[Int]]
        if let single = order.first(where: { byGroup[$0]!.reduce(0) { $0 + $1.count } >= vcpus }) {
            chosen = byGroup[single]!
            if groups.count > 1 { notes.append("one L3 group (CPUs \(CPUList.format(groups[single])))") }
        } else {
            chosen = order.flatMap { byGroup[$0]! }
            notes.append("spans L3 groups: no single group has \(vcpus) CPUs free")
        }

        var pinned: [Int] = []
        var used: [[Int]] = []
        for core in chosen where pinned.count < vcpus {
            pinned += core.prefix(vcpus - pinned.count)
            used.append(core)
        }
        let threads = used.first?.count ?? 1
        let whole = used.allSatisfy { $0.count == threads } && vcpus % threads == 0
        if !whole { notes.append("\(vcpus) vCPUs do not fill whole cores: the guest sees \(vcpus) single-thread cores") }
        return CPULayout(vcpus: pinned, emulator: hostCore, sockets: 1,
                         cores: whole ? vcpus / threads : vcpus, threads: whole ? threads : 1, notes: notes)
    }
}

extension CPUSpec {
    /// `pin = "auto"` made explicit for this host: the suggested layout for this many vCPUs, and
    /// the guest topology that matches it (SMT siblings as the threads of one guest core).
    /// Other pinnings are returned as they are.
    public func resolvingAutoPin(on topology: CPUTopology) throws(CPULayoutError) -> CPUSpec {
        guard pin == .auto else { return self }
        let layout = try CPULayoutPlanner.suggest(vcpus: count, on: topology)
        var resolved = self
        resolved.sockets = layout.sockets
        resolved.cores = layout.cores
        resolved.threads = layout.threads
        resolved.pin = .explicit(CPUPins(vcpus: layout.vcpus, emulator: layout.emulator))
        return resolved
    }
}
