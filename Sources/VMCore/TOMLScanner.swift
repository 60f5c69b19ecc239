/// A read position over the bytes of a TOML document, and the lexical pieces of TOML 1.0:
/// whitespace, comments, newlines, keys and strings. Every step moves forward, so a document is
/// scanned in linear time. Errors carry the byte offset; ``TOMLDocument`` turns it into line:column.
struct TOMLScanner {
    /// A lexical or grammar error at a byte offset.
    struct Failure: Error {
        let offset: Int
        let message: String
    }

    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    func byte(at index: Int) -> UInt8? { index < bytes.count ? bytes[index] : nil }

    func failure(_ message: String, at position: Int? = nil) -> Failure {
        Failure(offset: position ?? offset, message: message)
    }

    /// `'x'`, `a NUL byte`, `U+001B`, `the end of the file`: what the scanner found, for messages.
    func found(at position: Int? = nil) -> String {
        let index = position ?? offset
        guard let byte = byte(at: index) else { return "the end of the file" }
        switch byte {
        case 0: return "a NUL byte"
        case 0x0A: return "the end of the line"
        case 0x0D where self.byte(at: index + 1) == 0x0A: return "the end of the line"
        case 0x21...0x7E: return "'\(Character(Unicode.Scalar(byte)))'"
        case 0x80...:
            var iterator = bytes[index...].makeIterator()
            var decoder = UTF8()
            if case .scalarValue(let scalar) = decoder.decode(&iterator) {
                return "'\(Character(scalar))' (U+\(hex(scalar.value)))"
            }
            return "an invalid UTF-8 byte"
        default: return "the control character U+\(hex(UInt32(byte)))"
        }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Bytes TOML forbids everywhere except as a tab or line break: U+0000...U+001F and U+007F.
    static func isControl(_ byte: UInt8) -> Bool { (byte < 0x20 && byte != 0x09) || byte == 0x7F }

    // MARK: Whitespace, comments, line breaks

    mutating func skipSpaces() {
        while let byte = current, byte == 0x20 || byte == 0x09 { offset += 1 }
    }

    /// A `#` comment up to (not including) the line break.
    mutating func skipComment() throws(Failure) {
        guard current == UInt8(ascii: "#") else { return }
        offset += 1
        while let byte = current, byte != 0x0A {
            if byte == 0x0D, self.byte(at: offset + 1) == 0x0A { return }
            if Self.isControl(byte) { throw failure("\(found()) is not allowed in a comment") }
            offset += 1
        }
    }

    /// Consumes LF or CRLF; false when there is no line break here. A lone CR is an error.
    mutating func lineBreak() throws(Failure) -> Bool {
        switch current {
        case 0x0A:
            offset += 1
            return true
        case 0x0D:
            guard byte(at: offset + 1) == 0x0A else { throw failure("a carriage return must be followed by a line feed") }
            offset += 2
            return true
        default:
            return false
        }
    }

    /// Spaces, an optional comment, then a line break or the end of the file.
    mutating func endOfLine(after what: String) throws(Failure) {
        skipSpaces()
        try skipComment()
        guard current != nil else { return }
        guard try lineBreak() else { throw failure("expected the end of the line after \(what), found \(found())") }
    }

    /// Whitespace, comments and line breaks (between array items).
    mutating func skipBlank() throws(Failure) {
        while true {
            skipSpaces()
            try skipComment()
            guard try lineBreak() else { return }
        }
    }

    /// Expects `byte` here and steps over it.
    mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
        guard current == byte else { throw failure("expected \(what), found \(found())") }
        offset += 1
    }

    // MARK: Keys

    /// A key: bare or quoted parts joined by dots, each with the offset it starts at.
    mutating func key() throws(Failure) -> [(name: String, offset: Int)] {
        var parts: [(name: String, offset: Int)] = []
        while true {
            skipSpaces()
            let start = offset
            parts.append((try keyPart(), start))
            skipSpaces()
            guard current == UInt8(ascii: ".") else { return parts }
            offset += 1
        }
    }

    private mutating func keyPart() throws(Failure) -> String {
        switch current {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            if byte(at: offset + 1) == current, byte(at: offset + 2) == current {
                throw failure("a key cannot be a multi-line string")
            }
            return current == UInt8(ascii: "\"") ? try basicString() : try literalString()
        default:
            let start = offset
            while let byte = current, Self.isBareKeyByte(byte) { offset += 1 }
            guard offset > start else { throw failure("expected a key, found \(found())") }
            return String(decoding: bytes[start..<offset], as: UTF8.self)
        }
    }

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"): return true
        default: return false
        }
    }

    // MARK: Strings

    /// `"..."` with escapes, on one line.
    mutating func basicString() throws(Failure) -> String {
        let start = offset
        offset += 1
        var output: [UInt8] = []
        while true {
            guard let byte = current, byte != 0x0A, byte != 0x0D else {
                throw failure("this string is not closed on its line; end it with \"", at: start)
            }
            switch byte {
            case UInt8(ascii: "\""):
                offset += 1
                return String(decoding: output, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try escape(into: &output)
            default:
                if Self.isControl(byte) { throw failure("\(found()) is not allowed in a string; write it as an escape") }
                output.append(byte)
                offset += 1
            }
        }
    }

    /// `'...'` taken as it is, on one line.
    mutating func literalString() throws(Failure) -> String {
        let start = offset
        offset += 1
        let contentStart = offset
        while true {
            guard let byte = current, byte != 0x0A, byte != 0x0D else {
                throw failure("this string is not closed on its line; end it with '", at: start)
            }
            if byte == UInt8(ascii: "'") {
                offset += 1
                return String(decoding: bytes[contentStart..<offset - 1], as: UTF8.self)
            }
            if Self.isControl(byte) { throw failure("\(found()) is not allowed in a literal string") }
            offset += 1
        }
    }

    /// `"""..."""` (`basic`, with escapes and line-ending backslashes) or `'''...'''`.
    mutating func multilineString(basic: Bool) throws(Failure) -> String {
        let start = offset
        let quote = bytes[offset]
        offset += 3
        _ = try lineBreak()  // a line break right after the opening quotes is not part of the string
        var output: [UInt8] = []
        while true {
            guard let byte = current else {
                throw failure("this multi-line string is never closed; end it with \(basic ? "\"\"\"" : "'''")", at: start)
            }
            if byte == quote {
                var run = 0
                while current == quote { run += 1; offset += 1 }
                if run >= 3 {
                    guard run <= 5 else { throw failure("too many quotes at the end of a multi-line string", at: offset - run) }
                    output.append(contentsOf: repeatElement(quote, count: run - 3))
                    return String(decoding: output, as: UTF8.self)
                }
                output.append(contentsOf: repeatElement(quote, count: run))
            } else if basic, byte == UInt8(ascii: "\\") {
                if try !skipLineEndingBackslash() { try escape(into: &output) }
            } else if try lineBreak() {
                output.append(0x0A)
            } else {
                if Self.isControl(byte) { throw failure("\(found()) is not allowed in a string") }
                output.append(byte)
                offset += 1
            }
        }
    }

    /// A `\` that ends its line (spaces allowed after it) drops the line break and the whitespace
    /// that follows; false when the backslash is an ordinary escape.
    private mutating func skipLineEndingBackslash() throws(Failure) -> Bool {
        var probe = offset + 1
        while let byte = byte(at: probe), byte == 0x20 || byte == 0x09 { probe += 1 }
        guard byte(at: probe) == 0x0A || (byte(at: probe) == 0x0D && byte(at: probe + 1) == 0x0A) else { return false }
        offset = probe
        while true {
            skipSpaces()
            guard try lineBreak() else { return true }
        }
    }

    /// One escape sequence at `\`.
    private mutating func escape(into output: inout [UInt8]) throws(Failure) {
        let start = offset
        offset += 1
        let simple: UInt8?
        switch current {
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "\""): simple = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): simple = UInt8(ascii: "\\")
        case UInt8(ascii: "u"), UInt8(ascii: "U"): simple = nil
        default:
            throw failure("\\\(found().trimming("'")) is not an escape TOML knows; write \\\\ for a backslash", at: start)
        }
        if let simple {
            output.append(simple)
            offset += 1
            return
        }
        let width = current == UInt8(ascii: "u") ? 4 : 8
        offset += 1
        var value: UInt32 = 0
        for _ in 0..<width {
            guard let byte = current, let digit = Self.hexDigit(byte) else {
                throw failure("\\\(width == 4 ? "u" : "U") needs \(width) hex digits", at: start)
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw failure("\\\(width == 4 ? "u" : "U") escape \(String(value, radix: 16)) is not a Unicode scalar value", at: start)
        }
        output.append(contentsOf: UTF8.encode(scalar)!)
    }

    static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
