import Foundation
import HostLinux
import Synchronization
import VMCore

/// A ``HostFileSystem`` over a ``FakeHostTree`` that reacts to sysfs writes the way the PCI core does:
/// `driver_override`, `drivers/D/unbind`, `drivers/D/bind` and `drivers_probe`. Faults can be injected:
/// an unbind that blocks until ``releaseBlockedUnbinds()``, and functions that refuse to bind.
public final class FakeKernel: HostFileSystem, Sendable {
    public let tree: FakeHostTree
    private let base: RootedFileSystem
    private let state = Mutex(State())
    private let gate = DispatchSemaphore(value: 0)

    private struct State {
        var blockingUnbinds: Set<PCIAddress> = []
        var refusingBind: Set<PCIAddress> = []
        var writes: [String] = []
        /// Per huge page pool folder: how many pages the kernel can have at most.
        var hugePageLimits: [String: Int] = [:]
    }

    public init(tree: FakeHostTree) {
        self.tree = tree
        self.base = tree.fileSystem
    }

    public var root: HostRoot { base.root }

    /// Every attribute write, as `path <- value`.
    public var writes: [String] { state.withLock { $0.writes } }

    /// Unbinding this function blocks (as an NVIDIA unbind does while the card is held).
    public func blockUnbind(of address: String) { state.withLock { _ = $0.blockingUnbinds.insert(PCIAddress(address)!) } }

    /// Probing this function binds nothing.
    public func refuseBind(of address: String) { state.withLock { _ = $0.refusingBind.insert(PCIAddress(address)!) } }

    /// Probing this function binds again (undoes ``refuseBind(of:)``).
    public func allowBind(of address: String) { state.withLock { _ = $0.refusingBind.remove(PCIAddress(address)!) } }

    /// A huge page pool at `folder` (`.../hugepages-2048kB`) with `total` pages of which `inUse`
    /// are taken, that can grow to `limit` pages at most (memory fragmentation, in the fake).
    public func hugePagePool(_ folder: String, total: Int, inUse: Int = 0, limit: Int) throws {
        try tree.file("\(folder)/nr_hugepages", "\(total)\n")
        try tree.file("\(folder)/free_hugepages", "\(total - inUse)\n")
        state.withLock { $0.hugePageLimits[folder] = limit }
    }

    static let cgroupRoot = "/sys/fs/cgroup"

    /// A cgroup v2 hierarchy with the cpuset controller: `processes` in the root cgroup, and each
    /// of `children` (e.g. `system.slice`) with its processes and an unrestricted `cpuset.cpus`.
    public func cgroupTree(processes: [Int32], children: [String: [Int32]]) throws {
        let root = Self.cgroupRoot
        try tree.file("\(root)/cgroup.controllers", "cpuset cpu io memory hugetlb pids\n")
        try tree.file("\(root)/cgroup.subtree_control", "memory pids\n")
        try tree.file("\(root)/cgroup.procs", processes.map { "\($0)\n" }.joined())
        for (child, members) in children {
            try tree.file("\(root)/\(child)/cgroup.procs", members.map { "\($0)\n" }.joined())
            try tree.file("\(root)/\(child)/cpuset.cpus", "\n")
        }
    }

    static let cpusetV1Root = "/sys/fs/cgroup/cpuset"

    /// A cgroup v1 cpuset hierarchy (no v2): `processes` in its root cgroup (CPUs `cpus`, memory
    /// node 0), and each of `children` with its processes, the same CPUs and node.
    public func cpusetV1Tree(processes: [Int32], children: [String: [Int32]], cpus: String) throws {
        let root = Self.cpusetV1Root
        try tree.file("\(root)/cpuset.cpus", "\(cpus)\n")
        try tree.file("\(root)/cpuset.mems", "0\n")
        try tree.file("\(root)/cgroup.procs", processes.map { "\($0)\n" }.joined())
        for (child, members) in children {
            try tree.file("\(root)/\(child)/cgroup.procs", members.map { "\($0)\n" }.joined())
            try tree.file("\(root)/\(child)/cpuset.cpus", "\(cpus)\n")
            try tree.file("\(root)/\(child)/cpuset.mems", "0\n")
        }
    }

    /// The root of the hierarchy `cgroup` belongs to.
    private func hierarchyRoot(of cgroup: String) -> String {
        cgroup == Self.cpusetV1Root || cgroup.hasPrefix(Self.cpusetV1Root + "/") ? Self.cpusetV1Root : Self.cgroupRoot
    }

    /// The processes of a cgroup, as the kernel lists them.
    public func processes(in cgroup: String) throws -> [Int32] {
        try base.readText("\(cgroup)/cgroup.procs").split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
    }

    /// Writing a pid to `cgroup.procs` moves the process out of whichever cgroup of the same
    /// hierarchy held it; a v1 cpuset without CPUs or memory nodes takes none (ENOSPC).
    private func moveProcess(_ text: String, to cgroup: String) throws {
        guard let pid = Int32(text) else { throw HostError.io(path: cgroup, operation: "write", errno: EINVAL) }
        let root = hierarchyRoot(of: cgroup)
        if root == Self.cpusetV1Root, try ["cpuset.cpus", "cpuset.mems"].contains(where: { try base.readTrimmed("\(cgroup)/\($0)").isEmpty }) {
            throw HostError.io(path: "\(cgroup)/cgroup.procs", operation: "write", errno: ENOSPC)
        }
        var all = [root]
        all += try base.contentsOfDirectory(root).map { "\(root)/\($0)" }.filter(base.isDirectory)
        for other in all where other != cgroup {
            let members = try processes(in: other)
            if members.contains(pid) {
                try base.writeAttribute(members.filter { $0 != pid }.map { "\($0)\n" }.joined(), to: "\(other)/cgroup.procs")
            }
        }
        let members = try processes(in: cgroup)
        if !members.contains(pid) { try base.writeAttribute((members + [pid]).map { "\($0)\n" }.joined(), to: "\(cgroup)/cgroup.procs") }
    }

    /// Lets every blocked unbind finish.
    public func releaseBlockedUnbinds() {
        for _ in 0..<16 { gate.signal() }
    }

    public func writeAttribute(_ value: String, to path: String) throws {
        state.withLock { $0.writes.append("\(path) <- \(value.trimmingCharacters(in: .newlines))") }
        let parts = path.split(separator: "/").map(String.init)
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if path == "/sys/bus/pci/drivers_probe" {
            guard let address = PCIAddress(trimmed) else { throw HostError.io(path: path, operation: "write", errno: EINVAL) }
            try probe(address)
        } else if parts.count == 6, parts[0...3] == ["sys", "bus", "pci", "drivers"], parts[5] == "unbind" {
            guard let address = PCIAddress(trimmed), tree.fileSystem.linkBasename(PCIDeviceReader.directory(of: address) + "/driver") == parts[4]
            else { throw HostError.io(path: path, operation: "write", errno: ENODEV) }
            if state.withLock({ $0.blockingUnbinds.contains(address) }) { gate.wait() }
            try tree.unbind(address)
        } else if parts.count == 6, parts[0...3] == ["sys", "bus", "pci", "drivers"], parts[5] == "bind" {
            guard let address = PCIAddress(trimmed) else { throw HostError.io(path: path, operation: "write", errno: EINVAL) }
            try tree.bind(address, to: parts[4])
        } else if parts.count == 6, parts[0...3] == ["sys", "bus", "platform", "drivers"], parts[5] == "unbind" || parts[5] == "bind" {
            try platform(parts[5], device: trimmed, driver: parts[4])
        } else if parts.last == "nr_hugepages", let limit = state.withLock({ $0.hugePageLimits[String(path.dropLast("/nr_hugepages".count))] }) {
            // The kernel grows the pool as far as memory allows, and never drops pages in use.
            let folder = String(path.dropLast("/nr_hugepages".count))
            guard let requested = Int(trimmed), requested >= 0 else { throw HostError.io(path: path, operation: "write", errno: EINVAL) }
            let total = try Int(base.readTrimmed(path)) ?? 0
            let inUse = try total - (Int(base.readTrimmed(folder + "/free_hugepages")) ?? 0)
            let granted = max(min(requested, limit), inUse)
            try base.writeAttribute("\(granted)\n", to: path)
            try base.writeAttribute("\(granted - inUse)\n", to: folder + "/free_hugepages")
        } else if path.hasPrefix(Self.cgroupRoot + "/"), parts.last == "cgroup.procs" {
            try moveProcess(trimmed, to: String(path.dropLast("/cgroup.procs".count)))
        } else if parts.last == "driver_override" {
            try base.writeAttribute(trimmed.isEmpty ? "(null)\n" : trimmed + "\n", to: path)
        } else {
            try base.writeAttribute(value, to: path)
        }
    }

    /// A platform driver's `bind`/`unbind`: the device link in the driver's folder comes and goes.
    private func platform(_ operation: String, device: String, driver: String) throws {
        let link = "/sys/bus/platform/drivers/\(driver)/\(device)"
        let bound = (try? base.readLink(link)) != nil
        guard base.isDirectory("/sys/devices/platform/" + device), bound == (operation == "unbind") else {
            throw HostError.io(path: "/sys/bus/platform/drivers/\(driver)/\(operation)", operation: "write", errno: operation == "bind" ? EBUSY : ENODEV)
        }
        if operation == "unbind" { try tree.remove(link) } else { try tree.symlink(link, to: "/sys/devices/platform/" + device) }
    }

    /// `drivers_probe`: an unbound function gets its override driver, else its native driver, if that driver is loaded.
    private func probe(_ address: PCIAddress) throws {
        let directory = PCIDeviceReader.directory(of: address)
        guard tree.fileSystem.linkBasename(directory + "/driver") == nil,
              !state.withLock({ $0.refusingBind.contains(address) }) else { return }
        let override = (try? base.readTrimmed(directory + "/driver_override")).flatMap(parseDriverOverride)
        guard let driver = override ?? tree.nativeDrivers[address],
              base.isDirectory("/sys/bus/pci/drivers/" + driver) else { return }
        try tree.bind(address, to: driver)
    }

    // Everything else goes straight to the tree.
    public func readData(_ path: String) throws -> Data { try base.readData(path) }
    public func contentsOfDirectory(_ path: String) throws -> [String] { try base.contentsOfDirectory(path) }
    public func readLink(_ path: String) throws -> String { try base.readLink(path) }
    public func canonicalPath(_ path: String) throws -> String { try base.canonicalPath(path) }
    public func exists(_ path: String) -> Bool { base.exists(path) }
    public func isDirectory(_ path: String) -> Bool { base.isDirectory(path) }
    public func writeFile(_ data: Data, to path: String, mode: UInt16) throws { try base.writeFile(data, to: path, mode: mode) }
    public func permissions(_ path: String) throws -> UInt16 { try base.permissions(path) }
    public func removeFile(_ path: String) throws { try base.removeFile(path) }
    public func createDirectories(_ path: String) throws -> [String] {
        let created = try base.createDirectories(path)
        for cgroup in created where cgroup.hasPrefix(Self.cgroupRoot + "/") {
            // A new cgroup comes with its interface files.
            try tree.file("\(cgroup)/cgroup.procs", "")
            try tree.file("\(cgroup)/cpuset.cpus", "\n")
            if hierarchyRoot(of: cgroup) == Self.cpusetV1Root { try tree.file("\(cgroup)/cpuset.mems", "\n") }
        }
        return created
    }

    public func removeDirectory(_ path: String) throws {
        if path.hasPrefix(Self.cgroupRoot + "/") {
            guard (try base.readTrimmed("\(path)/cgroup.procs")).isEmpty else { throw HostError.io(path: path, operation: "rmdir", errno: EBUSY) }
            for file in try base.contentsOfDirectory(path) { try base.removeFile("\(path)/\(file)") }
        }
        try base.removeDirectory(path)
    }
    public func isReadWritable(_ path: String) -> Bool { base.isReadWritable(path) }
}
