import HostLinux
import VMCore

/// The host side of a hand-over, checked before the card moves: its IOMMU group must hold only
/// its functions (or bridges), and no host process may hold it unless forced.
public struct HostPreCheck: Sendable {
    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// The verified `slot` and the processes holding the device nodes of its `functions`.
    /// Throws ``HandoverError/groupNotIsolated(_:)`` when the slot cannot be read or its group
    /// holds other devices.
    public func verify(_ slot: PCISlot, functions: [PCIAddress]) throws(HandoverError) -> (slot: VerifiedSlot, holders: [DeviceHolder]) {
        let verified: VerifiedSlot
        do {
            verified = try DriverBinder(fileSystem: fileSystem).verify(slot)
        } catch let error as BindError {
            throw .groupNotIsolated(error.description)
        } catch {
            throw .groupNotIsolated("\(error)")
        }
        let holders = HolderScanner(fileSystem: fileSystem).holders(of: verified.functions.filter { functions.contains($0.address) })
        return (verified, holders)
    }

    /// Refuses held cards unless `force`; returns the warning to report when forced (nil: not held).
    public static func refuseHolders(_ holders: [DeviceHolder], force: Bool) throws(HandoverError) -> String? {
        guard !holders.isEmpty else { return nil }
        guard force else { throw .heldByHost(holders) }
        return "continuing although host processes hold the card (--force): " + holders.map { "\($0.pid) \($0.command)" }.joined(separator: ", ")
    }
}
