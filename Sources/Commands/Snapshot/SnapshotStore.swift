/// What `vm snapshot` works on: the disks of a stopped VM, or a running VM through QEMU.
protocol SnapshotStore {
    /// The disks a snapshot covers.
    var disks: [String] { get }
    /// Every snapshot, oldest first.
    func list() async throws -> [SnapshotEntry]
    /// Takes snapshot `name`; refuses a name in use.
    func create(_ name: String) async throws
    /// Goes back to snapshot `name`.
    func revert(_ name: String) async throws
    /// Deletes snapshot `name`.
    func delete(_ name: String) async throws
}

/// One snapshot as `vm snapshot NAME list` shows it: present on `disks` of the VM's disks.
struct SnapshotEntry: Encodable, Equatable {
    var name: String
    /// Seconds since 1970 of the newest disk's snapshot of that name.
    var date: Int
    var disks: [String]
    /// Whether it holds the running machine (memory and devices) too, not only the disks.
    var machineState: Bool = false

    /// Merges the snapshots of each disk into one entry per name, oldest first.
    static func merge(_ images: [(path: String, snapshots: [(name: String, date: Int, machineState: Bool)])]) -> [SnapshotEntry] {
        var byName: [String: SnapshotEntry] = [:]
        for (path, snapshots) in images {
            for snapshot in snapshots {
                var entry = byName[snapshot.name] ?? SnapshotEntry(name: snapshot.name, date: snapshot.date, disks: [])
                entry.date = max(entry.date, snapshot.date)
                entry.disks.append(path)
                entry.machineState = entry.machineState || snapshot.machineState
                byName[snapshot.name] = entry
            }
        }
        return byName.values.sorted { ($0.date, $0.name) < ($1.date, $1.name) }
    }

    /// The refusal of an image that is not qcow2.
    static func notQCOW2(_ disk: String, format: String) -> CommandFailure {
        CommandFailure("\(disk) is \(format), and only qcow2 images hold snapshots; convert it with "
            + "`qemu-img convert -O qcow2 \(disk) NEW.qcow2` (VM stopped) and point the [[disk]] at NEW.qcow2")
    }
}
