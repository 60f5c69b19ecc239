/// Writes ``JSONValue`` as UTF-8 JSON text: compact (one line, for the wire) or pretty (indented,
/// keys sorted, for people).
public enum JSONWriter {
    /// Compact JSON bytes, no trailing newline. Object keys are sorted when `sortedKeys` is set.
    public static func bytes(_ value: JSONValue, sortedKeys: Bool = false) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(64)
        write(value, to: &output, sortedKeys: sortedKeys)
        return output
    }

    /// Compact JSON text.
    public static func string(_ value: JSONValue, sortedKeys: Bool = false) -> String {
        String(decoding: bytes(value, sortedKeys: sortedKeys), as: UTF8.self)
    }

    /// Indented JSON text with sorted keys, two spaces per level.
    public static func pretty(_ value: JSONValue) -> String {
        var output: [UInt8] = []
        writePretty(value, to: &output, indent: 0)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends the compact form of `value` to `output`.
    public static func write(_ value: JSONValue, to output: inout [UInt8], sortedKeys: Bool = false) {
        switch value {
        case .null, .bool, .int, .double, .string:
            writeScalar(value, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, to: &output, sortedKeys: sortedKeys)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            var first = true
            let pairs = sortedKeys ? members.sorted { $0.key < $1.key } : Array(members)
            for (key, member) in pairs {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                writeString(key, to: &output)
                output.append(UInt8(ascii: ":"))
                write(member, to: &output, sortedKeys: sortedKeys)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func writePretty(_ value: JSONValue, to output: inout [UInt8], indent: Int) {
        switch value {
        case .array(let elements) where !elements.isEmpty:
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                output.append(contentsOf: index == 0 ? [0x0A] : [UInt8(ascii: ","), 0x0A])
                output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent + 2))
                writePretty(element, to: &output, indent: indent + 2)
            }
            output.append(0x0A)
            output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent))
            output.append(UInt8(ascii: "]"))
        case .object(let members) where !members.isEmpty:
            output.append(UInt8(ascii: "{"))
            for (index, pair) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                output.append(contentsOf: index == 0 ? [0x0A] : [UInt8(ascii: ","), 0x0A])
                output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent + 2))
                writeString(pair.key, to: &output)
                output.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
                writePretty(pair.value, to: &output, indent: indent + 2)
            }
            output.append(0x0A)
            output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent))
            output.append(UInt8(ascii: "}"))
        default:
            write(value, to: &output)
        }
    }

    private static func writeScalar(_ value: JSONValue, to output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number): output.append(contentsOf: String(number).utf8)
        case .double(let number):
            // JSON has no NaN or infinity.
            output.append(contentsOf: (number.isFinite ? number.description : "null").utf8)
        case .string(let text): writeString(text, to: &output)
        case .array, .object: write(value, to: &output)
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `text` as a JSON string literal.
    static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [0x5C, UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                output.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
