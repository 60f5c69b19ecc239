/// A UEFI firmware pair: read-only code and a variable-store template to copy per VM.
public struct FirmwareImage: Sendable, Hashable, Codable {
    public var code: String
    public var variables: String
    /// Built with Secure Boot support.
    public var secureBoot: Bool

    public init(code: String, variables: String, secureBoot: Bool) {
        self.code = code
        self.variables = variables
        self.secureBoot = secureBoot
    }
}

/// Finds OVMF images where Debian/Ubuntu, Fedora and Arch install them, under the host root.
public struct FirmwareLocator: Sendable {
    /// Known locations, preferred first.
    public static let candidates: [FirmwareImage] = [
        // Debian, Ubuntu (ovmf)
        FirmwareImage(code: "/usr/share/OVMF/OVMF_CODE_4M.fd", variables: "/usr/share/OVMF/OVMF_VARS_4M.fd", secureBoot: false),
        FirmwareImage(code: "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", variables: "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", secureBoot: true),
        FirmwareImage(code: "/usr/share/OVMF/OVMF_CODE.fd", variables: "/usr/share/OVMF/OVMF_VARS.fd", secureBoot: false),
        FirmwareImage(code: "/usr/share/OVMF/OVMF_CODE.secboot.fd", variables: "/usr/share/OVMF/OVMF_VARS.ms.fd", secureBoot: true),
        // Fedora (edk2-ovmf)
        FirmwareImage(code: "/usr/share/edk2/ovmf/OVMF_CODE.fd", variables: "/usr/share/edk2/ovmf/OVMF_VARS.fd", secureBoot: false),
        FirmwareImage(code: "/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", variables: "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd", secureBoot: true),
        // Arch (edk2-ovmf)
        FirmwareImage(code: "/usr/share/edk2/x64/OVMF_CODE.4m.fd", variables: "/usr/share/edk2/x64/OVMF_VARS.4m.fd", secureBoot: false),
        FirmwareImage(code: "/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd", variables: "/usr/share/edk2/x64/OVMF_VARS.4m.fd", secureBoot: true),
        FirmwareImage(code: "/usr/share/edk2-ovmf/x64/OVMF_CODE.fd", variables: "/usr/share/edk2-ovmf/x64/OVMF_VARS.fd", secureBoot: false),
    ]

    public let fileSystem: any HostFileSystem

    public init(fileSystem: any HostFileSystem) {
        self.fileSystem = fileSystem
    }

    /// Every known pair whose two files exist, preferred first.
    public func installed() -> [FirmwareImage] {
        Self.candidates.filter { fileSystem.exists($0.code) && fileSystem.exists($0.variables) }
    }

    /// The preferred installed pair with or without Secure Boot, or nil.
    public func preferred(secureBoot: Bool = false) -> FirmwareImage? {
        installed().first { $0.secureBoot == secureBoot }
    }
}
