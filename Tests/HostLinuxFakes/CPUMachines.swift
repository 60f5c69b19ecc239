import HostLinux
import VMCore

/// The CPU part of sysfs for fake hosts, and the trees of three real machines.
extension FakeHostTree {
    /// One logical CPU under `/sys/devices/system/cpu/cpuID`, as the kernel lays it out.
    public func logicalCPU(_ id: Int, package: Int, siblings: [Int], l3: [Int], node: Int?) throws {
        let base = "/sys/devices/system/cpu/cpu\(id)"
        try file("\(base)/topology/physical_package_id", "\(package)\n")
        try file("\(base)/topology/thread_siblings_list", CPUList.format(siblings) + "\n")
        for (index, level) in [(0, 1), (1, 1), (2, 2)] {
            try file("\(base)/cache/index\(index)/level", "\(level)\n")
            try file("\(base)/cache/index\(index)/shared_cpu_list", CPUList.format(siblings) + "\n")
        }
        try file("\(base)/cache/index3/level", "3\n")
        try file("\(base)/cache/index3/shared_cpu_list", CPUList.format(l3) + "\n")
        if let node {
            try symlink("\(base)/node\(node)", to: "/sys/devices/system/node/node\(node)")
        }
    }

    /// The machine-wide CPU files: `online`, `isolated`, `nohz_full` (`(null)` when unset, as
    /// the kernel prints it), and a NUMA node's `cpulist` per node.
    public func cpuLists(online: [Int], isolated: [Int] = [], nohzFull: [Int] = [], nodes: [[Int]] = []) throws {
        try file("/sys/devices/system/cpu/online", CPUList.format(online) + "\n")
        try file("/sys/devices/system/cpu/isolated", CPUList.format(isolated) + "\n")
        try file("/sys/devices/system/cpu/nohz_full", nohzFull.isEmpty ? "(null)\n" : CPUList.format(nohzFull) + "\n")
        for (node, cpus) in nodes.enumerated() {
            try file("/sys/devices/system/node/node\(node)/cpulist", CPUList.format(cpus) + "\n")
        }
    }

    /// AMD Ryzen 9 5950X: 16 cores with SMT (CPU n and n+16 share a core), two CCDs each with its
    /// own L3 (0-7,16-23 and 8-15,24-31), one NUMA node. `isolated` as `isolcpus=` would set it.
    public static func ryzen5950X(isolated: [Int] = []) throws -> FakeHostTree {
        let tree = try FakeHostTree()
        for id in 0..<32 {
            let core = id % 16
            let ccd = core / 8
            try tree.logicalCPU(id, package: 0, siblings: [core, core + 16],
                                l3: Array(ccd * 8..<ccd * 8 + 8) + Array(16 + ccd * 8..<16 + ccd * 8 + 8), node: 0)
        }
        try tree.cpuLists(online: Array(0..<32), isolated: isolated, nohzFull: isolated, nodes: [Array(0..<32)])
        return tree
    }

    /// Intel Core i7-12700K: 8 P-cores with Hyper-Threading (CPUs 0,1 ... 14,15) and 4 E-cores
    /// without (16-19), one L3 for all, no NUMA; `cpu_core`/`cpu_atom` name the kinds.
    public static func intel12700K() throws -> FakeHostTree {
        let tree = try FakeHostTree()
        for id in 0..<20 {
            let siblings = id < 16 ? [id & ~1, id | 1] : [id]
            try tree.logicalCPU(id, package: 0, siblings: siblings, l3: Array(0..<20), node: nil)
        }
        try tree.cpuLists(online: Array(0..<20))
        try tree.file("/sys/devices/cpu_core/cpus", "0-15\n")
        try tree.file("/sys/devices/cpu_atom/cpus", "16-19\n")
        return tree
    }

    /// A 2-socket server with 8 cores per socket and SMT: CPUs 0-7 on socket 0 and 8-15 on socket
    /// 1, their siblings 16-23 and 24-31; one L3 and one NUMA node per socket.
    public static func twoSocketServer() throws -> FakeHostTree {
        let tree = try FakeHostTree()
        for id in 0..<32 {
            let core = id % 16
            let socket = core / 8
            try tree.logicalCPU(id, package: socket, siblings: [core, core + 16],
                                l3: Array(socket * 8..<socket * 8 + 8) + Array(16 + socket * 8..<16 + socket * 8 + 8), node: socket)
        }
        try tree.cpuLists(online: Array(0..<32), nodes: [Array(0..<8) + Array(16..<24), Array(8..<16) + Array(24..<32)])
        return tree
    }
}
