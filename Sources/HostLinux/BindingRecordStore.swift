import Foundation
import VMCore

/// Remembers the original drivers of slots bound with `vm host bind` (one JSON file per slot under
/// `/var/lib/vm/bindings` in the host root), so that `vm host bind SLOT host` restores them.
public struct BindingRecordStore: Sendable {
    public static let directory = "/var/lib/vm/bindings"

    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    private func path(_ slot: PCISlot) -> String {
        Self.directory + "/" + slot.description.replacingOccurrences(of: ":", with: "_") + ".json"
    }

    /// The recorded bindings of `slot`, or nil.
    public func load(_ slot: PCISlot) throws -> [FunctionBinding]? {
        guard fileSystem.exists(path(slot)) else { return nil }
        return try JSONDecoder().decode([FunctionBinding].self, from: try fileSystem.readData(path(slot)))
    }

    /// Records `bindings` for `slot`, keeping the originals of functions already recorded (a second bind to
    /// vfio-pci must not forget the host driver).
    public func save(_ bindings: [FunctionBinding], for slot: PCISlot) throws {
        let existing = (try load(slot)) ?? []
        let merged = bindings.map { binding in existing.first { $0.address == binding.address } ?? binding }
        _ = try fileSystem.createDirectories(Self.directory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try fileSystem.writeFile(try encoder.encode(merged), to: path(slot), mode: 0o600)
    }

    /// Forgets `slot`.
    public func remove(_ slot: PCISlot) throws {
        if fileSystem.exists(path(slot)) { try fileSystem.removeFile(path(slot)) }
    }
}
