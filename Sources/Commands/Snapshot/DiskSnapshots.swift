import FoundationEssentials
import Glibc
import HostLinux
import VMCore

/// Internal snapshots of a stopped VM's qcow2 disks, taken with `qemu-img snapshot` on every
/// writable disk under one name.
struct DiskSnapshots: SnapshotStore {
    /// What `qemu-img info --output=json` says of one image.
    struct ImageInfo: Decodable {
        struct Snapshot: Decodable {
            var name: String
            var dateSeconds: Int
            var machineStateSize: Int

            enum CodingKeys: String, CodingKey {
                case name
                case dateSeconds = "date-sec"
                case machineStateSize = "vm-state-size"
            }
        }

        var format: String
        var snapshots: [Snapshot]?
    }

    /// The VM's name.
    let vm: String
    /// The writable disk images, in definition order.
    let disks: [String]
    private let runner = ProcessCommandRunner()

    /// The writable disks of `spec`; refuses a VM without one.
    init(_ spec: VMSpec) throws {
        vm = spec.name.rawValue
        disks = spec.disks.filter { !$0.readOnly }.map(\.path)
        guard !disks.isEmpty else {
            throw CommandFailure("\(spec.name) has no writable [[disk]] to snapshot")
        }
    }

    /// Every snapshot name on any disk, oldest first. Refuses images that are not qcow2.
    func list() throws -> [SnapshotEntry] {
        try SnapshotEntry.merge(disks.map { disk in
            (disk, (try info(disk).snapshots ?? []).map { ($0.name, $0.dateSeconds, $0.machineStateSize > 0) })
        })
    }

    /// Takes snapshot `name` of every disk; refuses a name that one of them has.
    func create(_ name: String) throws {
        if let existing = try list().first(where: { $0.name == name }) {
            throw CommandFailure("snapshot \(name) exists (on \(existing.disks.joined(separator: ", "))); pick another name or delete it first")
        }
        for disk in disks { try qemuImg(["snapshot", "-c", name, disk]) }
    }

    /// Puts every disk back to snapshot `name`; refuses unless every disk has it.
    func revert(_ name: String) throws {
        let entry = try list().first { $0.name == name }
        let missing = disks.filter { !(entry?.disks.contains($0) ?? false) }
        guard missing.isEmpty else {
            throw CommandFailure("snapshot \(name) is not on \(missing.joined(separator: ", ")); `vm snapshot \(vm) list` shows the snapshots")
        }
        for disk in disks { try qemuImg(["snapshot", "-a", name, disk]) }
    }

    /// Deletes snapshot `name` from every disk that has it.
    func delete(_ name: String) throws {
        guard let entry = try list().first(where: { $0.name == name }) else {
            throw CommandFailure("there is no snapshot \(name); `vm snapshot \(vm) list` shows the snapshots")
        }
        for disk in entry.disks { try qemuImg(["snapshot", "-d", name, disk]) }
    }

    private func info(_ disk: String) throws -> ImageInfo {
        let output = try qemuImg(["info", "--output=json", disk])
        guard let info = try? JSONDecoder().decode(ImageInfo.self, from: Data(output.utf8)) else {
            throw CommandFailure("qemu-img info \(disk) printed no image description")
        }
        guard info.format == "qcow2" else { throw SnapshotEntry.notQCOW2(disk, format: info.format) }
        return info
    }

    @discardableResult
    private func qemuImg(_ arguments: [String]) throws -> String {
        let result: CommandResult
        do {
            result = try runner.run(["qemu-img"] + arguments, timeout: .seconds(600))
        } catch {
            throw CommandFailure("\(error); install qemu-utils (scripts/setup does)")
        }
        guard result.status == 0 else {
            let reason = result.standardError.trimmingWhitespace()
            throw CommandFailure("qemu-img \(arguments.joined(separator: " ")) failed: \(reason)")
        }
        return result.standardOutput
    }
}
