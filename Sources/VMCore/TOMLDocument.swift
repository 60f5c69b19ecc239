/// A parsed TOML document as plain Swift values, keeping key order, with the line of every key.
/// Parsed by our own TOML 1.0 parser (``TOMLParser``): the C++ one bundled with TOMLKit aborted on
/// malformed input (see README).
public struct TOMLDocument: Sendable {
    /// A TOML value.
    public indirect enum Node: Sendable, Equatable {
        case string(String)
        case integer(Int)
        case float(Double)
        case boolean(Bool)
        case array([Node])
        case table([(key: String, value: Node)])
        /// A date or time: valid TOML that no definition key takes.
        case other(typeName: String)

        public static func == (lhs: Node, rhs: Node) -> Bool {
            switch (lhs, rhs) {
            case let (.string(a), .string(b)): return a == b
            case let (.integer(a), .integer(b)): return a == b
            case let (.float(a), .float(b)): return a == b
            case let (.boolean(a), .boolean(b)): return a == b
            case let (.array(a), .array(b)): return a == b
            case let (.table(a), .table(b)):
                return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
            case let (.other(a), .other(b)): return a == b
            default: return false
            }
        }

        /// The TOML type name used in error messages.
        public var typeName: String {
            switch self {
            case .string: return "a string"
            case .integer: return "an integer"
            case .float: return "a float"
            case .boolean: return "a boolean"
            case .array: return "an array"
            case .table: return "a table"
            case .other(let name): return "a \(name)"
            }
        }
    }

    /// The top-level table, keys in file order.
    public let root: [(key: String, value: Node)]
    /// Line of each key path (`cpu.cores`, `gpu[1].address`).
    public let lines: KeyLines

    /// The lines of the keys of a document, looked up by key path.
    public struct KeyLines: Sendable {
        let line: Int?
        let children: [String: KeyLines]
        let elements: [KeyLines]

        /// The line of `path` (`cpu.cores`, `gpu[1].address`, `gpu`), or nil when the document has no such key.
        public subscript(path: String) -> Int? {
            var node = self
            for component in path.split(separator: ".", omittingEmptySubsequences: false) {
                var name = Substring(component)
                var indices: [Int] = []
                while name.hasSuffix("]"), let open = name.lastIndex(of: "["), let index = Int(name[name.index(after: open)..<name.index(before: name.endIndex)]) {
                    indices.insert(index, at: 0)
                    name = name[..<open]
                }
                guard let child = node.children[String(name)] else { return nil }
                node = child
                for index in indices {
                    guard node.elements.indices.contains(index) else { return nil }
                    node = node.elements[index]
                }
            }
            return node.line
        }
    }

    /// A TOML syntax error with its position (line and column count from 1; CRLF is one line break).
    public struct SyntaxError: Error, Sendable, Equatable {
        public let line: Int
        public let column: Int
        public let message: String
    }

    /// Parses `text`; throws ``SyntaxError`` for invalid TOML.
    public init(parsing text: String) throws(SyntaxError) {
        try self.init(parsing: Array(text.utf8))
    }

    /// Parses the bytes of a file (TOML 1.0, UTF-8); throws ``SyntaxError`` for invalid TOML or
    /// UTF-8. Runs in time linear in the input and nests at most 32 tables deep, so no input can
    /// hang or crash it.
    public init(parsing bytes: [UInt8]) throws(SyntaxError) {
        let table: TOMLTable
        do {
            table = try TOMLParser.parse(bytes)
        } catch {
            throw Self.syntaxError(error, in: bytes)
        }
        guard case .table(let entries) = table.node else { preconditionFailure("a TOML document is a table") }
        root = entries
        lines = table.keyLines
    }

    private static func syntaxError(_ failure: TOMLScanner.Failure, in bytes: [UInt8]) -> SyntaxError {
        var counter = LineCounter(bytes: bytes)
        let offset = min(failure.offset, bytes.count)
        let line = counter.line(at: offset)
        let lineStart = bytes[..<offset].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        // Columns count characters: every byte that does not continue a UTF-8 sequence.
        let column = bytes[lineStart..<offset].reduce(1) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
        return SyntaxError(line: line, column: column, message: failure.message)
    }
}
