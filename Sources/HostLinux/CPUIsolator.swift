import FoundationEssentials
import Glibc
import VMCore

/// What ``CPUIsolator`` changed for one VM, kept in its state folder until it is undone: the
/// record recovery works from after a crash.
public struct CPUIsolation: Sendable, Codable, Equatable {
    /// The VM's cgroup (QEMU's process), removed when it is empty.
    public var vmCgroup: String
    /// The cgroup the root cgroup's own processes were moved to, on the host CPUs.
    public var hostCgroup: String
    /// Top-level cgroups whose `cpuset.cpus` was narrowed to the host CPUs, with the value before.
    public var narrowed: [Narrowed]
    /// Whether `+cpuset` was added to the root's `cgroup.subtree_control`.
    public var enabledCpuset: Bool

    public struct Narrowed: Sendable, Codable, Equatable {
        public var cgroup: String
        public var previous: String

        public init(cgroup: String, previous: String) {
            self.cgroup = cgroup
            self.previous = previous
        }
    }

    public init(vmCgroup: String, hostCgroup: String, narrowed: [Narrowed], enabledCpuset: Bool) {
        self.vmCgroup = vmCgroup
        self.hostCgroup = hostCgroup
        self.narrowed = narrowed
        self.enabledCpuset = enabledCpuset
    }
}

/// Why CPUs could not be isolated for a VM.
public enum CPUIsolationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No cgroup hierarchy with the cpuset controller (v2, or v1's cpuset).
    case unsupported(String)
    /// Another VM holds the isolation (its host cgroup exists).
    case busy(String)
    /// A record that does not describe this machine's cgroups.
    case badRecord(String)
    /// Some of the undo failed; each line says what is left.
    case restoreIncomplete([String])

    public var description: String {
        switch self {
        case .unsupported(let why):
            return "CPU isolation needs the cpuset controller (cgroup v2, or v1's cpuset hierarchy): \(why); mount it, or set isolate = false"
        case .busy(let path):
            return "another VM isolates CPUs now (\(path) exists); one VM at a time can, or set isolate = false (if no VM runs, `vm recover` clears it)"
        case .badRecord(let why):
            return "the CPU isolation record is not trusted: \(why); nothing was changed"
        case .restoreIncomplete(let problems):
            return "CPU isolation was not fully undone:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        }
    }
}

/// A cgroup hierarchy with the cpuset controller, where CPU isolation works.
public enum CgroupHierarchy: String, Sendable, Codable, CaseIterable {
    /// cgroup v2, the unified hierarchy at `/sys/fs/cgroup` (systemd's default since 2021).
    case unified
    /// cgroup v1's cpuset hierarchy at `/sys/fs/cgroup/cpuset`: every cgroup needs its own
    /// `cpuset.cpus` and `cpuset.mems` before a process may join it.
    case cpusetV1

    /// The hierarchy's root cgroup.
    public var root: String {
        switch self {
        case .unified: "/sys/fs/cgroup"
        case .cpusetV1: "/sys/fs/cgroup/cpuset"
        }
    }

    /// The cgroup for the root cgroup's processes; its existence marks an isolation in force.
    public var hostCgroup: String { "\(root)/vm-host" }

    /// The cgroup QEMU of VM `name` runs in while isolated.
    public func vmCgroup(_ name: String) -> String { "\(root)/vm-\(name)" }

    /// The hierarchy whose host cgroup `path` is, if any.
    static func owning(hostCgroup path: String) -> CgroupHierarchy? {
        allCases.first { $0.hostCgroup == path }
    }
}

/// Keeps every other task off a VM's CPUs while it runs, with cpusets (cgroup v2, else v1's cpuset
/// hierarchy): QEMU goes into a cgroup of its own (all CPUs; its threads are pinned inside it),
/// every other top-level cgroup (systemd's `system.slice`, `user.slice`, `init.scope`, ...) is
/// narrowed to the host CPUs, and the processes of the root cgroup itself move into a host cgroup
/// on the host CPUs. Undone from the ``CPUIsolation`` record: the old values back, the moved
/// processes back, the cgroups removed. Kernel threads stay where they are (the kernel does not
/// let them move; boot with `isolcpus=` for those). Everything goes through the
/// ``HostFileSystem`` (`VM_HOST_ROOT` in tests).
public struct CPUIsolator: Sendable {
    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// The hierarchy to isolate in: cgroup v2 when it has the cpuset controller, else v1's cpuset.
    public func hierarchy() throws -> CgroupHierarchy {
        if let controllers = fileSystem.readTextIfPresent("\(CgroupHierarchy.unified.root)/cgroup.controllers") {
            guard controllers.split(whereSeparator: \.isWhitespace).contains("cpuset") else {
                throw CPUIsolationError.unsupported("the cpuset controller is not available at \(CgroupHierarchy.unified.root)")
            }
            return .unified
        }
        guard fileSystem.exists("\(CgroupHierarchy.cpusetV1.root)/cpuset.cpus") else {
            throw CPUIsolationError.unsupported("\(CgroupHierarchy.unified.root) is neither cgroup v2 nor has v1's cpuset mounted")
        }
        return .cpusetV1
    }

    /// Moves QEMU `pid` into its own cgroup and keeps every other task on `hostCPUs`.
    public func isolate(vm name: String, qemuPID: Int32, hostCPUs: [Int]) throws -> CPUIsolation {
        let hierarchy = try hierarchy()
        let root = hierarchy.root
        guard !hostCPUs.isEmpty else { throw CPUIsolationError.unsupported("no CPU would be left to the host") }
        guard !fileSystem.exists(hierarchy.hostCgroup) else { throw CPUIsolationError.busy(hierarchy.hostCgroup) }
        _ = try fileSystem.createDirectories(hierarchy.hostCgroup)
        var isolation = CPUIsolation(vmCgroup: hierarchy.vmCgroup(name), hostCgroup: hierarchy.hostCgroup, narrowed: [], enabledCpuset: false)
        do {
            if hierarchy == .unified {
                let subtree = fileSystem.readTextIfPresent("\(root)/cgroup.subtree_control") ?? ""
                if !subtree.split(whereSeparator: \.isWhitespace).contains("cpuset") {
                    try fileSystem.writeAttribute("+cpuset", to: "\(root)/cgroup.subtree_control")
                    isolation.enabledCpuset = true
                }
            }
            let hostList = CPUList.format(hostCPUs)
            _ = try fileSystem.createDirectories(isolation.vmCgroup)
            if hierarchy == .cpusetV1 {
                // A v1 cpuset takes no process before it has CPUs and memory nodes of its own.
                let mems = try fileSystem.readTrimmed("\(root)/cpuset.mems")
                try fileSystem.writeAttribute(try fileSystem.readTrimmed("\(root)/cpuset.cpus"), to: "\(isolation.vmCgroup)/cpuset.cpus")
                for cgroup in [isolation.vmCgroup, hierarchy.hostCgroup] { try fileSystem.writeAttribute(mems, to: "\(cgroup)/cpuset.mems") }
            }
            try fileSystem.writeAttribute(String(qemuPID), to: "\(isolation.vmCgroup)/cgroup.procs")
            try fileSystem.writeAttribute(hostList, to: "\(hierarchy.hostCgroup)/cpuset.cpus")
            try moveProcesses(from: root, to: hierarchy.hostCgroup, except: qemuPID)
            for child in try topLevelCgroups(of: hierarchy) {
                let path = "\(root)/\(child)"
                let previous = try fileSystem.readTrimmed("\(path)/cpuset.cpus")
                try fileSystem.writeAttribute(hostList, to: "\(path)/cpuset.cpus")
                isolation.narrowed.append(CPUIsolation.Narrowed(cgroup: path, previous: previous))
            }
        } catch {
            try? restore(isolation)
            throw error
        }
        return isolation
    }

    /// Undoes `isolation`: each narrowed cgroup gets its value back, the host cgroup's and the VM
    /// cgroup's processes go back to the root cgroup, both cgroups are removed. Goes on past a
    /// failure and reports every one.
    public func restore(_ isolation: CPUIsolation) throws {
        let hierarchy = try check(isolation)
        let root = hierarchy.root
        var problems: [String] = []
        for narrowed in isolation.narrowed {
            do {
                try fileSystem.writeAttribute(narrowed.previous, to: "\(narrowed.cgroup)/cpuset.cpus")
            } catch {
                problems.append("\(narrowed.cgroup)/cpuset.cpus: \(error); write '\(narrowed.previous)' to it")
            }
        }
        for cgroup in [isolation.vmCgroup, isolation.hostCgroup] where fileSystem.isDirectory(cgroup) {
            do {
                try emptyAndRemove(cgroup, into: root)
            } catch {
                problems.append("\(cgroup): \(error); move its processes to \(root)/cgroup.procs and rmdir it")
            }
        }
        if isolation.enabledCpuset { try? fileSystem.writeAttribute("-cpuset", to: "\(root)/cgroup.subtree_control") }
        guard problems.isEmpty else { throw CPUIsolationError.restoreIncomplete(problems) }
    }

    /// A record names cgroups directly under one hierarchy's root, and that hierarchy's host
    /// cgroup, or it is refused; returns the hierarchy.
    @discardableResult
    public func check(_ isolation: CPUIsolation) throws -> CgroupHierarchy {
        guard let hierarchy = CgroupHierarchy.owning(hostCgroup: isolation.hostCgroup) else {
            throw CPUIsolationError.badRecord("its host cgroup \(isolation.hostCgroup) is not vm's")
        }
        let root = hierarchy.root
        func topLevel(_ path: String) -> Bool {
            path.hasPrefix(root + "/") && !path.dropFirst(root.count + 1).contains("/")
                && !path.contains("..") && !path.hasSuffix("/")
        }
        let paths = [isolation.vmCgroup] + isolation.narrowed.map(\.cgroup)
        guard isolation.vmCgroup.hasPrefix(root + "/vm-"), paths.allSatisfy(topLevel),
              isolation.narrowed.allSatisfy({ CPUList.parse($0.previous) != nil }) else {
            throw CPUIsolationError.badRecord("it names cgroups other than the top-level ones vm changes")
        }
        return hierarchy
    }

    /// The top-level cgroups other than vm's own, whose CPUs are narrowed.
    private func topLevelCgroups(of hierarchy: CgroupHierarchy) throws -> [String] {
        try fileSystem.contentsOfDirectory(hierarchy.root).sorted()
            .filter { !$0.hasPrefix("vm-") && fileSystem.isDirectory("\(hierarchy.root)/\($0)") }
            .filter { fileSystem.exists("\(hierarchy.root)/\($0)/cpuset.cpus") }
    }

    /// How many times the processes of a cgroup are listed and moved: one that forks while it is
    /// moved leaves a child behind, which the next round takes.
    private static let moveRounds = 20

    /// Moves every process of cgroup `source` that can move, but `excluded`, into `target`,
    /// again until none is left to try. Kernel threads refuse to move (and are not vm's to move).
    private func moveProcesses(from source: String, to target: String, except excluded: Int32? = nil) throws {
        var tried: Set<Int32> = excluded.map { [$0] } ?? []
        for _ in 0..<Self.moveRounds {
            let left = try processes(in: source).filter { !tried.contains($0) }
            if left.isEmpty { return }
            for pid in left {
                try? fileSystem.writeAttribute(String(pid), to: "\(target)/cgroup.procs")
                tried.insert(pid)
            }
        }
    }

    /// Moves the processes of `cgroup` back to the root cgroup `root` and removes it; a removal
    /// that finds it busy (a process forked into it meanwhile) moves and tries again.
    private func emptyAndRemove(_ cgroup: String, into root: String) throws {
        var attempt = 0
        while true {
            for pid in (try? processes(in: cgroup)) ?? [] {
                try? fileSystem.writeAttribute(String(pid), to: "\(root)/cgroup.procs")
            }
            do {
                return try fileSystem.removeDirectory(cgroup)
            } catch {
                attempt += 1
                if attempt >= Self.moveRounds { throw error }
                usleep(10_000)
            }
        }
    }

    private func processes(in cgroup: String) throws -> [Int32] {
        try fileSystem.readText("\(cgroup)/cgroup.procs").split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
    }
}
