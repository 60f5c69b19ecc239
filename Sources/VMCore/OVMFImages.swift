/// A matching pair of OVMF images: read-only code and the vars template copied per VM.
public struct OVMFImages: Sendable, Hashable, Codable {
    public let code: String
    public let varsTemplate: String
    public let secureBoot: Bool

    public init(code: String, varsTemplate: String, secureBoot: Bool) {
        self.code = code
        self.varsTemplate = varsTemplate
        self.secureBoot = secureBoot
    }

    /// Where Debian/Ubuntu, Fedora/RHEL and Arch install OVMF, preferred first.
    public static let knownLocations: [OVMFImages] = [
        // Debian, Ubuntu (package ovmf)
        .init(code: "/usr/share/OVMF/OVMF_CODE_4M.fd", varsTemplate: "/usr/share/OVMF/OVMF_VARS_4M.fd", secureBoot: false),
        // Secure Boot (SMM) code with vars that have Microsoft's keys enrolled, which Windows 11 needs;
        // newer releases name the code `.ms.fd` too (a link to `.secboot.fd`).
        .init(code: "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", varsTemplate: "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", secureBoot: true),
        .init(code: "/usr/share/OVMF/OVMF_CODE_4M.ms.fd", varsTemplate: "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", secureBoot: true),
        .init(code: "/usr/share/OVMF/OVMF_CODE.fd", varsTemplate: "/usr/share/OVMF/OVMF_VARS.fd", secureBoot: false),
        .init(code: "/usr/share/OVMF/OVMF_CODE.secboot.fd", varsTemplate: "/usr/share/OVMF/OVMF_VARS.ms.fd", secureBoot: true),
        // Fedora, RHEL (package edk2-ovmf; its secboot vars have Microsoft's keys enrolled)
        .init(code: "/usr/share/edk2/ovmf/OVMF_CODE.fd", varsTemplate: "/usr/share/edk2/ovmf/OVMF_VARS.fd", secureBoot: false),
        .init(code: "/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", varsTemplate: "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd", secureBoot: true),
        // Arch (package edk2-ovmf): Secure Boot code, but no vars with keys enrolled; a guest can
        // enroll them itself (Windows 11 setup accepts Secure Boot capable firmware)
        .init(code: "/usr/share/edk2/x64/OVMF_CODE.4m.fd", varsTemplate: "/usr/share/edk2/x64/OVMF_VARS.4m.fd", secureBoot: false),
        .init(code: "/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd", varsTemplate: "/usr/share/edk2/x64/OVMF_VARS.4m.fd", secureBoot: true),
        .init(code: "/usr/share/edk2-ovmf/x64/OVMF_CODE.fd", varsTemplate: "/usr/share/edk2-ovmf/x64/OVMF_VARS.fd", secureBoot: false),
    ]

    /// The first installed pair of the wanted kind; `exists` checks a path (under a host root in tests).
    public static func find(secureBoot: Bool, exists: (String) -> Bool) -> OVMFImages? {
        knownLocations.first { $0.secureBoot == secureBoot && exists($0.code) && exists($0.varsTemplate) }
    }
}

extension VMSpec {
    /// This definition with OVMF paths filled in from the host where the file left them out, and
    /// GPUs given as a slot expanded to the slot's functions.
    /// - Parameters:
    ///   - exists: checks that a firmware path exists.
    ///   - functionsOfSlot: the functions present on the host for a slot (from sysfs).
    public func resolvedForLaunch(exists: (String) -> Bool, functionsOfSlot: (PCISlot) -> [PCIAddress]) -> VMSpec {
        var spec = self
        if spec.firmware.kind == .ovmf, spec.firmware.code == nil || spec.firmware.varsTemplate == nil,
           let found = OVMFImages.find(secureBoot: spec.firmware.secureBoot, exists: exists) {
            spec.firmware.code = spec.firmware.code ?? found.code
            spec.firmware.varsTemplate = spec.firmware.varsTemplate ?? found.varsTemplate
        }
        for index in spec.gpus.indices where spec.gpus[index].functions.isEmpty {
            guard let slot = spec.gpus[index].slot else { continue }
            spec.gpus[index].functions = spec.gpus[index].device == .standIn
                ? [slot.function(0), slot.function(1)]
                : functionsOfSlot(slot).sorted()
        }
        return spec
    }
}
