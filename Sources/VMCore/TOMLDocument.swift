import TOMLKit

/// A parsed TOML document as plain Swift values, keeping key order, with the line of every key.
/// TOMLKit parses; this type turns its tree into values the definition parser can walk without
/// touching the C++ backing store, and adds the line numbers TOMLKit does not expose for keys.
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

    /// The top-level table.
    public let root: [(key: String, value: Node)]
    /// Line of each key path (`cpu.cores`, `gpu[1].address`).
    public let lines: [String: Int]

    /// A TOML syntax error with its position.
    public struct SyntaxError: Error, Sendable, Equatable {
        public let line: Int
        public let column: Int
        public let message: String
    }

    /// Parses `text`; throws ``SyntaxError`` for invalid TOML.
    public init(parsing text: String) throws(SyntaxError) {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw SyntaxError(line: error.source.begin.line, column: error.source.begin.column,
                              message: error.description)
        } catch {
            throw SyntaxError(line: 1, column: 1, message: "\(error)")
        }
        guard case .table(let entries) = Self.node(from: table) else {
            preconditionFailure("a TOML document is a table")
        }
        let lines = Self.keyLines(in: text)
        self.lines = lines
        root = Self.ordered(entries, by: lines, prefix: "")
    }

    private static func node(from value: any TOMLValueConvertible) -> Node {
        switch value.type {
        case .string: return .string(value.string ?? "")
        case .int: return .integer(value.int ?? 0)
        case .double: return .float(value.double ?? 0)
        case .bool: return .boolean(value.bool ?? false)
        case .array:
            guard let array = value.array else { return .array([]) }
            return .array(array.map { node(from: $0) })
        case .table:
            guard let table = value.table else { return .table([]) }
            return .table(table.map { (key: $0.0, value: node(from: $0.1)) })
        case .date, .time, .dateTime: return .other(typeName: value.type.description)
        }
    }

    /// TOMLKit iterates tables in key order, not file order; put keys back in file order so
    /// that errors come out in the order a reader meets them.
    private static func ordered(_ entries: [(key: String, value: Node)], by lines: [String: Int],
                                prefix: String) -> [(key: String, value: Node)] {
        entries.map { entry -> (key: String, value: Node) in
            let path = prefix.isEmpty ? entry.key : "\(prefix).\(entry.key)"
            switch entry.value {
            case .table(let inner):
                return (entry.key, .table(ordered(inner, by: lines, prefix: path)))
            case .array(let items):
                return (entry.key, .array(items.enumerated().map { index, item in
                    guard case .table(let inner) = item else { return item }
                    return .table(ordered(inner, by: lines, prefix: "\(path)[\(index)]"))
                }))
            default:
                return entry
            }
        }
        .sorted { (lines[key(prefix, $0.key)] ?? .max, $0.key) < (lines[key(prefix, $1.key)] ?? .max, $1.key) }
    }

    private static func key(_ prefix: String, _ key: String) -> String {
        prefix.isEmpty ? key : "\(prefix).\(key)"
    }

    /// Finds the line of every `key = value` and `[table]`/`[[array]]` header. Handles the shapes a
    /// definition file uses (bare and quoted keys, dotted keys, arrays of tables); multi-line
    /// strings and arrays are skipped over.
    static func keyLines(in text: String) -> [String: Int] {
        var lines: [String: Int] = [:]
        var prefix = ""
        var arrayCounts: [String: Int] = [:]
        var openMultiline: String?
        var bracketDepth = 0
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.trimming(" \t\r")
            if let delimiter = openMultiline {
                if line.contains(delimiter) { openMultiline = nil }
                continue
            }
            if bracketDepth > 0 {
                bracketDepth += line.filter { $0 == "[" }.count - line.filter { $0 == "]" }.count
                continue
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[[") , let end = line.range(of: "]]") {
                let name = unquote(String(line[line.index(line.startIndex, offsetBy: 2)..<end.lowerBound]))
                let count = arrayCounts[name, default: 0]
                arrayCounts[name] = count + 1
                prefix = "\(name)[\(count)]"
                lines[name] = lines[name] ?? lineNumber
                lines[prefix] = lineNumber
                continue
            }
            if line.hasPrefix("["), let end = line.firstIndex(of: "]") {
                prefix = unquote(String(line[line.index(after: line.startIndex)..<end]))
                lines[prefix] = lineNumber
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let keyText = unquote(String(line[..<equals]))
            let path = prefix.isEmpty ? keyText : "\(prefix).\(keyText)"
            lines[path] = lineNumber
            let value = line[line.index(after: equals)...].trimming(" \t")
            for delimiter in ["\"\"\"", "'''"] where value.hasPrefix(delimiter) {
                if !value.dropFirst(3).contains(delimiter) { openMultiline = delimiter }
            }
            if value.hasPrefix("[") {
                let depth = value.filter { $0 == "[" }.count - value.filter { $0 == "]" }.count
                if depth > 0 { bracketDepth = depth }
            }
        }
        return lines
    }

    /// `"a b" . c` -> `a b.c`
    private static func unquote(_ key: String) -> String {
        key.split(separator: ".")
            .map { $0.trimming(" \t").trimming("\"'") }
            .joined(separator: ".")
    }
}

extension StringProtocol {
    /// The string without leading and trailing characters from `characters`.
    func trimming(_ characters: String) -> String {
        let set = Set(characters)
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
