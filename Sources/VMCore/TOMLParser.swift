/// TOML 1.0's grammar over ``TOMLScanner``: the lines of a document (table headers and
/// key/value pairs) and the values (strings, scalars, arrays, inline tables) into a ``TOMLTable``.
struct TOMLParser {
    typealias Failure = TOMLScanner.Failure

    private var scanner: TOMLScanner
    private var lines: LineCounter
    private let root = TOMLTable(origin: .header, depth: 0, line: 1)

    /// Parses a whole document; its bytes must be valid UTF-8.
    static func parse(_ bytes: [UInt8]) throws(Failure) -> TOMLTable {
        if let invalid = firstInvalidUTF8(in: bytes) {
            throw Failure(offset: invalid, message: "the file is not valid UTF-8 here; save it as UTF-8")
        }
        var parser = TOMLParser(bytes: bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.scanner.offset = 3 }
        try parser.document()
        return parser.root
    }

    private init(bytes: [UInt8]) {
        scanner = TOMLScanner(bytes: bytes)
        lines = LineCounter(bytes: bytes)
    }

    /// The offset of the first byte that is not part of valid UTF-8, or nil.
    static func firstInvalidUTF8(in bytes: [UInt8]) -> Int? {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    private mutating func document() throws(Failure) {
        var current = root
        while true {
            scanner.skipSpaces()
            try scanner.skipComment()
            if try scanner.lineBreak() { continue }
            guard let byte = scanner.current else { return }
            if byte == UInt8(ascii: "[") {
                current = try header()
                try scanner.endOfLine(after: "the table header")
            } else {
                try keyValue(in: current)
                try scanner.endOfLine(after: "the value")
            }
        }
    }

    /// `[a.b]` or `[[a.b]]`: the table that the following keys go into.
    private mutating func header() throws(Failure) -> TOMLTable {
        let line = lines.line(at: scanner.offset)
        let isArray = scanner.byte(at: scanner.offset + 1) == UInt8(ascii: "[")
        scanner.offset += isArray ? 2 : 1
        let parts = try scanner.key()
        try scanner.expect(UInt8(ascii: "]"), isArray ? "']]' to end the header" : "']' to end the header")
        if isArray { try scanner.expect(UInt8(ascii: "]"), "']]' to end the header") }
        var table = root
        for part in parts.dropLast() {
            table = try table.intermediate(part.name, forHeader: true, line: line, at: part.offset)
        }
        let last = parts[parts.count - 1]
        return isArray ? try table.arrayElement(last.name, line: line, at: last.offset)
            : try table.headerTable(last.name, line: line, at: last.offset)
    }

    /// `key = value` into `table` (a dotted key through the tables it names).
    private mutating func keyValue(in table: TOMLTable) throws(Failure) {
        let parts = try scanner.key()
        let line = lines.line(at: parts[0].offset)
        try scanner.expect(UInt8(ascii: "="), "'=' after the key")
        scanner.skipSpaces()
        var target = table
        for part in parts.dropLast() {
            target = try target.intermediate(part.name, forHeader: false, line: line, at: part.offset)
        }
        let item = try value(depth: target.depth + 1, line: line)
        let last = parts[parts.count - 1]
        try target.insert(last.name, item, at: last.offset)
    }

    private mutating func value(depth: Int, line: Int) throws(Failure) -> TOMLItem {
        guard depth <= TOMLTable.maximumDepth else {
            throw scanner.failure("values nest more than \(TOMLTable.maximumDepth) levels deep")
        }
        let here = scanner.offset
        switch scanner.current {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            let basic = scanner.current == UInt8(ascii: "\"")
            let multiline = scanner.byte(at: here + 1) == scanner.current && scanner.byte(at: here + 2) == scanner.current
            let text = multiline ? try scanner.multilineString(basic: basic)
                : basic ? try scanner.basicString() : try scanner.literalString()
            return .value(.string(text), line: line)
        case UInt8(ascii: "["):
            return try array(depth: depth, line: line)
        case UInt8(ascii: "{"):
            return try inlineTable(depth: depth, line: line)
        default:
            return .value(try scalar(), line: line)
        }
    }

    private mutating func array(depth: Int, line: Int) throws(Failure) -> TOMLItem {
        let start = scanner.offset
        scanner.offset += 1
        var items: [TOMLItem] = []
        try scanner.skipBlank()
        while scanner.current != UInt8(ascii: "]") {
            guard scanner.current != nil else { throw scanner.failure("this array is never closed; end it with ]", at: start) }
            items.append(try value(depth: depth + 1, line: lines.line(at: scanner.offset)))
            try scanner.skipBlank()
            if scanner.current == UInt8(ascii: ",") {
                scanner.offset += 1
                try scanner.skipBlank()
            } else if scanner.current != UInt8(ascii: "]") {
                throw scanner.failure("expected ',' or ']' in the array, found \(scanner.found())")
            }
        }
        scanner.offset += 1
        return .array(items, line: line)
    }

    private mutating func inlineTable(depth: Int, line: Int) throws(Failure) -> TOMLItem {
        let table = TOMLTable(origin: .inline, depth: depth, line: line)
        scanner.offset += 1
        scanner.skipSpaces()
        if scanner.current == UInt8(ascii: "}") {
            scanner.offset += 1
            return .table(table)
        }
        while true {
            try keyValue(in: table)
            scanner.skipSpaces()
            switch scanner.current {
            case UInt8(ascii: ","):
                scanner.offset += 1
                scanner.skipSpaces()
                if scanner.current == UInt8(ascii: "}") { throw scanner.failure("an inline table cannot end with a comma") }
            case UInt8(ascii: "}"):
                scanner.offset += 1
                return .table(table)
            case 0x0A, 0x0D:
                throw scanner.failure("an inline table must be on one line; use a [table] section for more keys")
            default:
                throw scanner.failure("expected ',' or '}' in the inline table, found \(scanner.found())")
            }
        }
    }

    /// A bare value: boolean, number, date or time (`1979-05-27 07:32:00` has a space inside).
    private mutating func scalar() throws(Failure) -> TOMLDocument.Node {
        let start = scanner.offset
        scanTokenBytes()
        if scanner.offset - start == 10, scanner.current == UInt8(ascii: " "),
           let digit = scanner.byte(at: scanner.offset + 1), TOMLScalar.isDecimal(digit),
           scanner.byte(at: scanner.offset + 3) == UInt8(ascii: ":") {
            scanner.offset += 1
            scanTokenBytes()
        }
        guard scanner.offset > start else { throw scanner.failure("expected a value, found \(scanner.found())") }
        let token = scanner.bytes[start..<scanner.offset]
        guard let node = TOMLScalar.value(of: token) else {
            let shown = String(decoding: token.prefix(40), as: UTF8.self) + (token.count > 40 ? "..." : "")
            throw scanner.failure("'\(shown)': \(TOMLScalar.problem(with: token))", at: start)
        }
        return node
    }

    private mutating func scanTokenBytes() {
        while let byte = scanner.current, TOMLScanner.isBareKeyByte(byte) || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":") {
            scanner.offset += 1
        }
    }
}

/// Line numbers of byte offsets, counting forward from the last question (LF ends a line, so a
/// CRLF counts once).
struct LineCounter {
    let bytes: [UInt8]
    private var offset = 0
    private var line = 1

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func line(at target: Int) -> Int {
        if target < offset {
            offset = 0
            line = 1
        }
        while offset < min(target, bytes.count) {
            if bytes[offset] == 0x0A { line += 1 }
            offset += 1
        }
        return line
    }
}
