import FoundationEssentials
import Glibc

/// A host input device that `[[input]]` can give to a guest.
public struct InputDevice: Sendable, Equatable, Codable {
    /// Its stable name, `/dev/input/by-id/...-event-kbd` (what a definition should use).
    public var path: String
    /// The event node it points at, `/dev/input/eventN`.
    public var node: String
    /// The kernel's name of the device (`/sys/class/input/eventN/device/name`).
    public var name: String?
    /// Keyboard, mouse, joystick or other, from the by-id name's suffix.
    public var kind: String

    public init(path: String, node: String, name: String?, kind: String) {
        self.path = path
        self.node = node
        self.name = name
        self.kind = kind
    }
}

/// Lists the evdev devices under `/dev/input/by-id` (those ending in `-event-...`, the nodes
/// `input-linux` grabs), through a ``HostFileSystem``.
public struct InputDeviceReader: Sendable {
    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    static let byID = "/dev/input/by-id"

    /// The devices, sorted by path; none when the host has no /dev/input/by-id.
    public func devices() -> [InputDevice] {
        let names = ((try? fileSystem.contentsOfDirectory(Self.byID)) ?? []).filter { $0.contains("-event-") }.sorted()
        return names.compactMap { entry in
            guard let node = fileSystem.linkBasename("\(Self.byID)/\(entry)"), node.hasPrefix("event"),
                  let marker = entry.firstRange(of: "-event-") else { return nil }
            let suffix = String(entry[marker.upperBound...])
            let kind = ["kbd": "keyboard", "mouse": "mouse", "joystick": "controller"][suffix] ?? suffix
            let name = fileSystem.readTextIfPresent("/sys/class/input/\(node)/device/name")?.trimming("\n\r")
            return InputDevice(path: "\(Self.byID)/\(entry)", node: "/dev/input/\(node)", name: name, kind: kind)
        }
    }
}
