import Logging
import QEMU
import QMP

/// Puts the extras ISO into a running VM's CD-ROM drive (`blockdev-change-medium`).
public enum ExtrasAttacher {
    /// A removable drive from `query-block`.
    public struct Drive: Sendable, Equatable {
        /// The block backend name (`cd0`); empty for `-blockdev` drives.
        public var device: String
        /// The guest device's id or QOM path.
        public var qdev: String
        /// The file now in it, if any.
        public var file: String?
    }

    /// The removable drives in a `query-block` reply.
    public static func removableDrives(queryBlock reply: JSONValue) -> [Drive] {
        (reply.arrayValue ?? []).compactMap { entry in
            guard entry["removable"]?.boolValue == true else { return nil }
            return Drive(device: entry["device"]?.stringValue ?? "", qdev: entry["qdev"]?.stringValue ?? "",
                         file: entry["inserted"]?["file"]?.stringValue)
        }
    }

    /// The drive to use: the extras drive `vm up` added, else one already holding this ISO,
    /// else the first empty one, else the first one.
    public static func choose(_ drives: [Drive], iso: String) -> Drive? {
        drives.first { $0.device == QEMUCommandLine.extrasDriveID }
            ?? drives.first { $0.file == iso }
            ?? drives.first { $0.file == nil }
            ?? drives.first
    }

    /// Loads `iso` into a CD-ROM drive of the VM behind `qmpSocket`; returns the drive used.
    public static func attach(iso: String, vm: String, qmpSocket: String, logger: Logger) async throws -> Drive {
        let client = try await QMPClient.connect(path: qmpSocket, timeout: .seconds(5), logger: logger)
        defer { client.close() }
        let drives = removableDrives(queryBlock: try await client.execute("query-block"))
        guard let drive = choose(drives, iso: iso) else { throw ExtrasError.noCDDrive(vm: vm) }
        var arguments: [String: JSONValue] = ["filename": .string(iso), "format": "raw", "read-only-mode": "read-only"]
        if drive.qdev.isEmpty { arguments["device"] = .string(drive.device) } else { arguments["id"] = .string(drive.qdev) }
        _ = try await client.execute("blockdev-change-medium", arguments: arguments)
        return drive
    }
}
