import FoundationEssentials
import Glibc
import QMP
import VMCore

/// Snapshots of a running VM on the QEMU backend: QEMU's `savevm`, `loadvm` and `delvm` through
/// QMP's `human-monitor-command`. They hold the memory and device state with every writable
/// qcow2 disk (a VM with a passed-through device cannot be saved; the caller refuses it).
struct LiveSnapshots: SnapshotStore {
    let vm: String
    let client: QMPClient
    let disks: [String]

    /// Connects to the VM's QMP socket and reads its writable drives; refuses one that is not qcow2.
    static func connect(_ loaded: LoadedDefinition) async throws -> LiveSnapshots {
        let vm = loaded.spec.name.rawValue
        let client = try await CommandSupport.qmp(loaded)
        let drives = try await writableDrives(client)
        if let other = drives.first(where: { $0.format != "qcow2" }) {
            client.close()
            throw SnapshotEntry.notQCOW2(other.file, format: other.format)
        }
        guard !drives.isEmpty else {
            client.close()
            throw CommandFailure("\(vm) has no writable disk to snapshot")
        }
        return LiveSnapshots(vm: vm, client: client, disks: drives.map(\.file))
    }

    func list() async throws -> [SnapshotEntry] {
        SnapshotEntry.merge(try await Self.writableDrives(client).map { ($0.file, $0.snapshots) })
    }

    func create(_ name: String) async throws {
        if try await list().contains(where: { $0.name == name }) {
            throw CommandFailure("snapshot \(name) exists; pick another name or delete it first")
        }
        try await monitor("savevm \(name)")
    }

    func revert(_ name: String) async throws {
        try await requireExisting(name)
        try await monitor("loadvm \(name)")
    }

    func delete(_ name: String) async throws {
        try await requireExisting(name)
        try await monitor("delvm \(name)")
    }

    func close() {
        client.close()
    }

    private func requireExisting(_ name: String) async throws {
        guard try await list().contains(where: { $0.name == name }) else {
            throw CommandFailure("there is no snapshot \(name); `vm snapshot \(vm) list` shows the snapshots")
        }
    }

    /// Runs one monitor command; HMP answers an error as text, success as nothing.
    private func monitor(_ line: String) async throws {
        let reply = try await client.execute("human-monitor-command", arguments: ["command-line": .string(line)], timeout: .seconds(600))
        let text = (reply.stringValue ?? "").trimmingWhitespace()
        guard text.isEmpty else { throw CommandFailure("QEMU refused `\(line)`: \(text)") }
    }

    /// One writable drive of `query-block` with its image format and snapshots.
    private struct Drive {
        var file: String
        var format: String
        var snapshots: [(name: String, date: Int, machineState: Bool)]
    }

    private static func writableDrives(_ client: QMPClient) async throws -> [Drive] {
        let devices = try await client.execute("query-block").arrayValue ?? []
        return devices.compactMap { device in
            guard let inserted = device["inserted"], inserted["ro"]?.boolValue == false, let file = inserted["file"]?.stringValue else { return nil }
            let snapshots = (inserted["image"]?["snapshots"]?.arrayValue ?? []).compactMap { snapshot -> (String, Int, Bool)? in
                guard let name = snapshot["name"]?.stringValue else { return nil }
                return (name, Int(snapshot["date-sec"]?.intValue ?? 0), (snapshot["vm-state-size"]?.intValue ?? 0) > 0)
            }
            return Drive(file: file, format: inserted["drv"]?.stringValue ?? "unknown", snapshots: snapshots)
        }
    }
}
