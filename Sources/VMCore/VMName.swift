/// A VM name. It becomes file, socket and domain names, so only letters, digits, `-` and `_` are
/// allowed, it must start with a letter or digit, and it is at most 64 characters long.
public struct VMName: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: String

    /// Validates `rawValue`; throws ``VMNameError`` naming what is wrong.
    public init(_ rawValue: String) throws(VMNameError) {
        guard !rawValue.isEmpty else { throw .empty }
        guard rawValue.count <= 64 else { throw .tooLong(rawValue) }
        if let bad = rawValue.unicodeScalars.first(where: { !Self.allowed($0) }) {
            throw .badCharacter(rawValue, Character(bad))
        }
        guard let first = rawValue.unicodeScalars.first, first != "-", first != "_" else {
            throw .badStart(rawValue)
        }
        self.rawValue = rawValue
    }

    private static func allowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_": return true
        default: return false
        }
    }

    public var description: String { rawValue }

    public static func < (lhs: VMName, rhs: VMName) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Why a VM name was refused.
public enum VMNameError: Error, Equatable, CustomStringConvertible {
    case empty
    case tooLong(String)
    case badCharacter(String, Character)
    case badStart(String)

    public var description: String {
        switch self {
        case .empty:
            return "the VM name is empty; use letters, digits, '-' and '_'"
        case .tooLong(let name):
            return "the VM name '\(name)' is longer than 64 characters"
        case .badCharacter(let name, let character):
            return "the VM name '\(name)' contains '\(character)'; use only letters, digits, '-' and '_'"
        case .badStart(let name):
            return "the VM name '\(name)' must start with a letter or a digit"
        }
    }
}
