import FoundationEssentials
import Glibc
import HostLinux
import VMCore

/// A record of something `vm up` changed on the host for one run, kept in the state folder until
/// it is undone (by the supervisor when QEMU ends, `vm down`, a failed start, or the next `vm up`
/// after a crash). It names the host root the change was made under: only a process working on
/// that same root undoes it, so a record made on a test's fake host is never replayed on the real one.
struct HostChangeRecord<Change: Codable> {
    let path: String

    private struct Stored: Codable {
        var hostRoot: String
        var change: Change
    }

    /// Writes `change`, made under `root`, in one step, 0600.
    func save(_ change: Change, root: HostRoot) throws {
        try FileAccess.write(Array(JSONEncoder().encode(Stored(hostRoot: root.path, change: change))), to: path, permissions: 0o600)
    }

    /// The recorded change, or nil when there is none; a record that does not decode, or was
    /// made under another host root, is refused.
    func read(root: HostRoot) throws -> Change? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let stored = try? JSONDecoder().decode(Stored.self, from: data) else {
            throw HostChangeRecordError.undecodable(path)
        }
        guard stored.hostRoot == root.path else { throw HostChangeRecordError.otherRoot(path, stored.hostRoot) }
        return stored.change
    }

    /// Undoes the recorded change with `undo` and removes the record; nothing when there is none.
    /// A record that does not decode, or was made under another host root, is refused and kept.
    func undo(root: HostRoot, _ undo: (Change) throws -> Void) throws {
        guard let change = try read(root: root) else { return }
        try undo(change)
        try remove()
    }

    /// Removes the record (a change fully undone), if there is one.
    func remove() throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        try FileManager.default.removeItem(atPath: path)
    }
}

/// A host-change record that is not undone here.
enum HostChangeRecordError: Error, CustomStringConvertible {
    case undecodable(String)
    case otherRoot(String, String)

    var description: String {
        switch self {
        case .undecodable(let path):
            return "\(path) is not a record vm wrote; it is not trusted and nothing was changed (remove it once the host looks right)"
        case let .otherRoot(path, root):
            return "\(path) records changes under the host root \(root), not this one; run vm with VM_HOST_ROOT=\(root) to undo them"
        }
    }
}

extension QEMUMachine {
    var hugePagesRecord: HostChangeRecord<HugePageReservation> { HostChangeRecord(path: paths.hugePagesRecord) }
    var cpuIsolationRecord: HostChangeRecord<CPUIsolation> { HostChangeRecord(path: paths.cpuIsolationRecord) }

    /// Reserves the huge pages `hugepages = "2M" | "1G"` asks for (on the NUMA node of the first
    /// pinned vCPU when the host has several) and records them.
    func reserveHugePages() throws {
        guard let size = spec.hugepages else { return }
        var node: Int?
        if case .explicit(let pins) = spec.cpu.pin, let first = pins.vcpus.first,
           let topology = try? CPUTopologyReader(fileSystem: hostFileSystem).read(), topology.nodes.count > 1 {
            node = topology.cpu(first)?.node
        }
        let reserver = HugePageReserver(fileSystem: hostFileSystem)
        let reservation = try reserver.reserve(size.pages(for: spec.memoryMiB), of: size, node: node)
        do {
            try hugePagesRecord.save(reservation, root: hostFileSystem.root)
        } catch {
            try? reserver.release(reservation)
            throw error
        }
    }

    /// Keeps every other task off the pinned vCPUs' CPUs (`[cpu] isolate`) and records it.
    func isolateCPUs(pid: Int32) throws {
        guard spec.cpu.isolate, case .explicit(let pins) = spec.cpu.pin else { return }
        let online = try CPUTopologyReader(fileSystem: hostFileSystem).read().cpus.map(\.id)
        let isolator = CPUIsolator(fileSystem: hostFileSystem)
        let isolation = try isolator.isolate(vm: spec.name.rawValue, qemuPID: pid, hostCPUs: online.filter { !pins.vcpus.contains($0) })
        do {
            try cpuIsolationRecord.save(isolation, root: hostFileSystem.root)
        } catch {
            try? isolator.restore(isolation)
            throw error
        }
    }

    /// Undoes what a run of this VM changed on the host: huge pages and CPU isolation (from their
    /// records), the host's display GPU (``restoreHostDisplay()``), the USB controllers passed
    /// whole (``giveBackUSBControllers()``), the Looking Glass shared memory (by `scan`, or a scan
    /// now). Every record is tried; the first failure is thrown after the others ran.
    /// `keepingGPUOnVFIO` (`vm down --keep-gpu-on-vfio`) leaves a hot-plugged display GPU
    /// released, on vfio-pci, until `vm gpu recover` or the next `vm up`.
    func undoHostChanges(keepingGPUOnVFIO: Bool = false, scan: SharedMemoryScan? = nil) throws {
        removeSharedMemory(scan: scan)
        var failure: (any Error)?
        let root = hostFileSystem.root
        do { try hugePagesRecord.undo(root: root, HugePageReserver(fileSystem: hostFileSystem).release) } catch { failure = failure ?? error }
        do { try cpuIsolationRecord.undo(root: root, CPUIsolator(fileSystem: hostFileSystem).restore) } catch { failure = failure ?? error }
        if !(keepingGPUOnVFIO && releasedGPU?.gpu.plug == .hot) {
            do { _ = try restoreHostDisplay() } catch { failure = failure ?? error }
        }
        do { try giveBackUSBControllers() } catch { failure = failure ?? error }
        if let failure { throw failure }
    }

    /// ``undoHostChanges()`` where a failure can only be reported.
    func undoHostChangesLogged() {
        do {
            try undoHostChanges()
        } catch {
            logger.warning("could not undo the host changes of \(spec.name): \(error)")
        }
    }
}
