import Foundation
import HostLinux
import VMCore

/// Internal snapshots of a stopped VM's qcow2 disks, taken with `qemu-img snapshot` on every
/// writable disk under one name.
struct DiskSnapshots {
    /// One snapshot as `vm snapshot NAME list` shows it: present on `disks` of the VM's disks.
    struct Entry: Encodable, Equatable {
        var name: String
        /// Seconds since 1970 of the newest disk's snapshot of that name.
        var date: Int
        var disks: [String]
    }

    /// What `qemu-img info --output=json` says of one image.
    struct ImageInfo: Decodable {
        struct Snapshot: Decodable {
            var name: String
            var dateSeconds: Int

            enum CodingKeys: String, CodingKey {
                case name
                case dateSeconds = "date-sec"
            }
        }

        var format: String
        var snapshots: [Snapshot]?
    }

    /// The VM's name.
    let vm: String
    /// The writable disk images, in definition order.
    let disks: [String]
    let runner: any HostCommandRunner

    /// The writable disks of `spec`; refuses a VM without one.
    init(_ spec: VMSpec, runner: any HostCommandRunner = ProcessCommandRunner()) throws {
        vm = spec.name.rawValue
        disks = spec.disks.filter { !$0.readOnly }.map(\.path)
        self.runner = runner
        guard !disks.isEmpty else {
            throw CommandFailure("\(spec.name) has no writable [[disk]] to snapshot")
        }
    }

    /// Every snapshot name on any disk, oldest first. Refuses images that are not qcow2.
    func list() throws -> [Entry] {
        try Self.entries(disks.map { ($0, try info($0)) })
    }

    /// Merges the snapshots of each disk into one entry per name, oldest first.
    static func entries(_ images: [(path: String, info: ImageInfo)]) -> [Entry] {
        var byName: [String: Entry] = [:]
        for (path, info) in images {
            for snapshot in info.snapshots ?? [] {
                var entry = byName[snapshot.name] ?? Entry(name: snapshot.name, date: snapshot.dateSeconds, disks: [])
                entry.date = max(entry.date, snapshot.dateSeconds)
                entry.disks.append(path)
                byName[snapshot.name] = entry
            }
        }
        return byName.values.sorted { ($0.date, $0.name) < ($1.date, $1.name) }
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
        guard info.format == "qcow2" else {
            throw CommandFailure("\(disk) is \(info.format), and only qcow2 images hold snapshots; convert it with "
                + "`qemu-img convert -O qcow2 \(disk) NEW.qcow2` and point the [[disk]] at NEW.qcow2")
        }
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
            let reason = result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
            throw CommandFailure("qemu-img \(arguments.joined(separator: " ")) failed: \(reason)")
        }
        return result.standardOutput
    }
}
