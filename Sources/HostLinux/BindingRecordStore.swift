import FoundationEssentials
import Glibc
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
        Self.directory + "/" + slot.description.replacing(":", with: "_") + ".json"
    }

    /// The recorded bindings of `slot`, or nil; a record that does not name exactly `functions`
    /// (the slot's functions on this host) is refused with ``BindError/untrustedRecord(file:reason:)``.
    public func load(_ slot: PCISlot, functions: [PCIAddress]) throws -> [FunctionBinding]? {
        guard fileSystem.exists(path(slot)) else { return nil }
        let bindings: [FunctionBinding]
        do {
            bindings = try JSONDecoder().decode([FunctionBinding].self, from: try fileSystem.readData(path(slot)))
        } catch let error as DecodingError {
            throw BindError.untrustedRecord(file: path(slot), reason: "it is not a binding record (\(error))")
        }
        if let problem = FunctionBinding.problem(in: bindings, expected: functions) {
            throw BindError.untrustedRecord(file: path(slot), reason: problem)
        }
        return bindings
    }

    /// Records `bindings` for `slot`, keeping the originals of functions already recorded (a second bind to
    /// vfio-pci must not forget the host driver).
    public func save(_ bindings: [FunctionBinding], for slot: PCISlot) throws {
        let existing = (try load(slot, functions: bindings.map(\.address))) ?? []
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
