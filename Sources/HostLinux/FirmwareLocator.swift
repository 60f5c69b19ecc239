import VMCore

/// Finds the OVMF images of ``OVMFImages/knownLocations`` that are installed under the host root.
public struct FirmwareLocator: Sendable {
    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// Every known pair whose two files exist, preferred first.
    public func installed() -> [OVMFImages] {
        OVMFImages.knownLocations.filter { fileSystem.exists($0.code) && fileSystem.exists($0.varsTemplate) }
    }

    /// The preferred installed pair with or without Secure Boot, or nil.
    public func preferred(secureBoot: Bool = false) -> OVMFImages? {
        installed().first { $0.secureBoot == secureBoot }
    }
}
