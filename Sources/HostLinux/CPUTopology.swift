import VMCore

/// The kind of core a logical CPU sits on, on a hybrid Intel CPU (P-cores and E-cores).
public enum CoreType: String, Sendable, Codable {
    case performance
    case efficiency
}

/// One logical CPU (a hardware thread), as sysfs describes it.
public struct LogicalCPU: Sendable, Codable, Equatable {
    public var id: Int
    /// The socket (`topology/physical_package_id`).
    public var package: Int
    /// The CPUs on the same core, this one included (`topology/thread_siblings_list`).
    public var siblings: [Int]
    /// The CPUs sharing this one's L3 cache (`cache/indexN/shared_cpu_list` of level 3): a CCX or
    /// CCD on AMD, usually the whole socket on Intel. Empty when sysfs does not say.
    public var l3: [Int]
    /// The NUMA node (`cpuN/nodeM`), when the kernel has NUMA.
    public var node: Int?
    /// P-core or E-core on a hybrid CPU; nil on others.
    public var coreType: CoreType?

    public init(id: Int, package: Int = 0, siblings: [Int], l3: [Int] = [], node: Int? = nil, coreType: CoreType? = nil) {
        self.id = id
        self.package = package
        self.siblings = siblings
        self.l3 = l3
        self.node = node
        self.coreType = coreType
    }
}

/// The host's CPUs: packages, cores with their SMT siblings, L3 groups, NUMA nodes, and the CPUs
/// the kernel keeps for itself (`isolcpus`, `nohz_full`). What `vm host cpus` shows and the CPU
/// layout of a VM is planned on.
public struct CPUTopology: Sendable, Codable, Equatable {
    /// The online CPUs, ascending.
    public var cpus: [LogicalCPU]
    /// CPUs the scheduler leaves alone (`isolcpus=`, `/sys/devices/system/cpu/isolated`).
    public var isolated: [Int]
    /// CPUs without the periodic tick (`nohz_full=`).
    public var nohzFull: [Int]

    public init(cpus: [LogicalCPU], isolated: [Int] = [], nohzFull: [Int] = []) {
        self.cpus = cpus.sorted { $0.id < $1.id }
        self.isolated = isolated
        self.nohzFull = nohzFull
    }

    /// The cores, each as its online SMT siblings, in the order of their first CPU.
    public var cores: [[Int]] { groups { $0.siblings } }

    /// The L3 groups (CPUs sharing an L3 cache), in the order of their first CPU; one group of
    /// every CPU when sysfs names no L3.
    public var l3Groups: [[Int]] { groups { $0.l3.isEmpty ? self.cpus.map(\.id) : $0.l3 } }

    /// The packages (sockets) present.
    public var packages: [Int] { Array(Set(cpus.map(\.package))).sorted() }

    /// The NUMA nodes present (empty without NUMA).
    public var nodes: [Int] { Array(Set(cpus.compactMap(\.node))).sorted() }

    /// The logical CPU `id`, when online.
    public func cpu(_ id: Int) -> LogicalCPU? { cpus.first { $0.id == id } }

    /// Online CPUs grouped by `key` (a CPU list containing the CPU), each group once.
    private func groups(_ key: (LogicalCPU) -> [Int]) -> [[Int]] {
        let online = Set(cpus.map(\.id))
        var seen = Set<Int>()
        var result: [[Int]] = []
        for cpu in cpus where !seen.contains(cpu.id) {
            let group = key(cpu).filter(online.contains)
            let members = group.contains(cpu.id) ? group : [cpu.id]
            seen.formUnion(members)
            result.append(members)
        }
        return result
    }
}

/// Reads ``CPUTopology`` from sysfs under the host root.
public struct CPUTopologyReader: Sendable {
    public let fileSystem: any HostFileSystem
    static let cpuDirectory = "/sys/devices/system/cpu"

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// The host's topology; fails only when the list of online CPUs cannot be read.
    public func read() throws -> CPUTopology {
        let onlinePath = "\(Self.cpuDirectory)/online"
        guard let online = CPUList.parse(try fileSystem.readTrimmed(onlinePath)), !online.isEmpty else {
            throw HostError.malformed(path: onlinePath, detail: "not a CPU list")
        }
        let performance = list("/sys/devices/cpu_core/cpus")
        let efficiency = list("/sys/devices/cpu_atom/cpus")
        let cpus = online.map { id in
            let base = "\(Self.cpuDirectory)/cpu\(id)"
            let coreType: CoreType? = performance.contains(id) ? .performance : efficiency.contains(id) ? .efficiency : nil
            return LogicalCPU(
                id: id,
                package: (try? fileSystem.readTrimmed("\(base)/topology/physical_package_id")).flatMap { Int($0) } ?? 0,
                siblings: nonEmpty(list("\(base)/topology/thread_siblings_list")) ?? [id],
                l3: l3(of: base),
                node: node(of: base),
                coreType: coreType)
        }
        return CPUTopology(cpus: cpus, isolated: list("\(Self.cpuDirectory)/isolated"),
                           nohzFull: list("\(Self.cpuDirectory)/nohz_full"))
    }

    /// A CPU list file; empty when missing or not a list (`nohz_full` reads `(null)` when unset).
    private func list(_ path: String) -> [Int] {
        fileSystem.readTextIfPresent(path).flatMap { CPUList.parse($0) } ?? []
    }

    private func nonEmpty(_ cpus: [Int]) -> [Int]? { cpus.isEmpty ? nil : cpus }

    /// The CPUs sharing the level-3 cache of the CPU at `base`.
    private func l3(of base: String) -> [Int] {
        let caches = (try? fileSystem.contentsOfDirectory("\(base)/cache")) ?? []
        for index in caches.sorted() where index.hasPrefix("index") {
            guard (try? fileSystem.readTrimmed("\(base)/cache/\(index)/level")) == "3" else { continue }
            return list("\(base)/cache/\(index)/shared_cpu_list")
        }
        return []
    }

    /// The NUMA node of the CPU at `base` (its `nodeN` entry).
    private func node(of base: String) -> Int? {
        let entries = (try? fileSystem.contentsOfDirectory(base)) ?? []
        return entries.lazy.filter { $0.hasPrefix("node") }.compactMap { Int($0.dropFirst(4)) }.first
    }
}
