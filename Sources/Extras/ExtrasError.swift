/// Why staging, attaching or installing the extras failed.
public enum ExtrasError: Error, Equatable, Sendable, CustomStringConvertible {
    case badResolution(String)
    case driverDirectoryMissing(String)
    case virtioISOMissing(String)
    /// `xorriso` is not installed.
    case xorrisoMissing
    /// `xorriso` failed.
    case xorrisoFailed(arguments: [String], status: Int32, stderr: String)
    /// The running VM has no CD-ROM drive to put the ISO in.
    case noCDDrive(vm: String)
    /// `vm extras install` before `vm extras stage`.
    case notStaged(path: String)
    /// The guest is not Windows: the scripts are Windows scripts.
    case notWindows(os: String)
    /// No drive in the guest holds the extras disc.
    case discNotFoundInGuest
    case io(String)

    public var description: String {
        switch self {
        case .badResolution(let text): return "resolution \(text) is not WIDTHxHEIGHT (e.g. 3840x2160)"
        case .driverDirectoryMissing(let path): return "driver folder \(path) does not exist"
        case .virtioISOMissing(let path): return "virtio-win ISO \(path) does not exist"
        case .xorrisoMissing: return "xorriso is not installed (Debian: apt-get install xorriso)"
        case .xorrisoFailed(let arguments, let status, let stderr):
            return "xorriso \(arguments.joined(separator: " ")) exited with \(status): \(stderr.trimmingWhitespace())"
        case .noCDDrive(let vm):
            return "\(vm) has no CD-ROM drive to load the ISO into; `vm down \(vm) && vm up \(vm)` attaches the staged extras ISO at boot (or add a [[cdrom]] to the definition for a drive that can change discs while running)"
        case .notStaged(let path): return "no extras ISO at \(path); run `vm extras stage` first"
        case .notWindows(let os): return "the guest runs \(os); the extras are Windows install scripts"
        case .discNotFoundInGuest:
            return "no drive in the guest holds the extras disc (VMEXTRAS.TAG); stage it again while the VM runs (`vm extras stage` loads it into the CD drive) or restart the VM"
        case .io(let text): return text
        }
    }
}

/// A screen size.
public struct Resolution: Sendable, Equatable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// Parses `3840x2160`.
    public init(parsing text: String) throws(ExtrasError) {
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let width = Int(parts[0]), let height = Int(parts[1]),
              (320...16384).contains(width), (200...16384).contains(height) else { throw .badResolution(text) }
        self.init(width: width, height: height)
    }

    public static let uhd = Resolution(width: 3840, height: 2160)
    public var description: String { "\(width)x\(height)" }
}
