/// A TOML document while it is read: tables that remember how they were made, so that TOML's
/// rules on defining a key or table twice can be checked (TOML 1.0, "Table" and "Array of Tables").
final class TOMLTable {
    /// How a table came to be; decides what may add to it later.
    enum Origin {
        /// Named on the way to a deeper `[a.b]` header: a later `[a]` may still define it.
        case implicit
        /// Defined by a `[header]` or `[[header]]`.
        case header
        /// Made by a dotted key `a.b = 1`.
        case dotted
        /// An inline table `{ ... }`: complete as written.
        case inline
    }

    /// Tables deeper than this are refused, so that no input can exhaust the stack.
    static let maximumDepth = 32

    var origin: Origin
    let depth: Int
    let line: Int
    private(set) var keys: [String] = []
    private(set) var items: [String: TOMLItem] = [:]

    init(origin: Origin, depth: Int, line: Int) {
        self.origin = origin
        self.depth = depth
        self.line = line
    }

    typealias Failure = TOMLScanner.Failure

    /// Adds `key = item`; a key already here is an error.
    func insert(_ key: String, _ item: TOMLItem, at offset: Int) throws(Failure) {
        if let existing = items[key] {
            throw Failure(offset: offset, message: "'\(key)' is defined twice (first on line \(existing.line))")
        }
        keys.append(key)
        items[key] = item
    }

    private func child(_ key: String, origin: Origin, line: Int, at offset: Int) throws(Failure) -> TOMLTable {
        guard depth < Self.maximumDepth else {
            throw Failure(offset: offset, message: "tables nest more than \(Self.maximumDepth) levels deep")
        }
        let table = TOMLTable(origin: origin, depth: depth + 1, line: line)
        try insert(key, .table(table), at: offset)
        return table
    }

    /// The table `key` names on the way along a header (`[key.deeper]`) or a dotted key
    /// (`key.deeper = 1`), made when missing.
    func intermediate(_ key: String, forHeader: Bool, line: Int, at offset: Int) throws(Failure) -> TOMLTable {
        switch items[key] {
        case nil:
            return try child(key, origin: forHeader ? .implicit : .dotted, line: line, at: offset)
        case .table(let table)?:
            if table.origin == .inline {
                throw Failure(offset: offset, message: "'\(key)' is an inline table (line \(table.line)), which cannot be added to")
            }
            if !forHeader {
                if table.origin == .header {
                    throw Failure(offset: offset, message: "'\(key)' is a table defined by a header on line \(table.line); add the key in that section")
                }
                table.origin = .dotted
            }
            return table
        case .tables(let array)?:
            guard forHeader, let last = array.tables.last else {
                throw Failure(offset: offset, message: "'\(key)' is an array of tables (line \(array.line)); a dotted key cannot add to it")
            }
            return last
        case let existing?:
            throw Failure(offset: offset, message: "'\(key)' is already a value (line \(existing.line)), not a table")
        }
    }

    /// The table a `[header]` ending in `key` defines.
    func headerTable(_ key: String, line: Int, at offset: Int) throws(Failure) -> TOMLTable {
        switch items[key] {
        case nil:
            return try child(key, origin: .header, line: line, at: offset)
        case .table(let table)? where table.origin == .implicit:
            table.origin = .header
            return table
        case .table(let table)?:
            let how = table.origin == .dotted ? "by dotted keys" : "as a table"
            throw Failure(offset: offset, message: "'\(key)' is already defined \(how) (line \(table.line)); a table is defined once")
        case let existing?:
            throw Failure(offset: offset, message: "'\(key)' is already defined (line \(existing.line)) and is not a table")
        }
    }

    /// The new table a `[[header]]` ending in `key` appends.
    func arrayElement(_ key: String, line: Int, at offset: Int) throws(Failure) -> TOMLTable {
        guard depth < Self.maximumDepth else {
            throw Failure(offset: offset, message: "tables nest more than \(Self.maximumDepth) levels deep")
        }
        let array: TOMLTableArray
        switch items[key] {
        case nil:
            array = TOMLTableArray(line: line)
            try insert(key, .tables(array), at: offset)
        case .tables(let existing)?:
            array = existing
        case let existing?:
            throw Failure(offset: offset, message: "'\(key)' is already defined (line \(existing.line)) and is not an array of tables")
        }
        let table = TOMLTable(origin: .header, depth: depth + 1, line: line)
        array.tables.append(table)
        return table
    }

    /// The finished table as a value.
    var node: TOMLDocument.Node {
        .table(keys.map { (key: $0, value: items[$0]!.node) })
    }

    /// The line of each key, for ``TOMLDocument/KeyLines``.
    var keyLines: TOMLDocument.KeyLines {
        TOMLDocument.KeyLines(line: line, children: items.mapValues(\.keyLines), elements: [])
    }
}

/// The tables of a `[[header]]`.
final class TOMLTableArray {
    let line: Int
    var tables: [TOMLTable] = []

    init(line: Int) {
        self.line = line
    }
}

/// A value in a table while the document is read.
enum TOMLItem {
    case value(TOMLDocument.Node, line: Int)
    case array([TOMLItem], line: Int)
    case table(TOMLTable)
    case tables(TOMLTableArray)

    var line: Int {
        switch self {
        case .value(_, let line), .array(_, let line): return line
        case .table(let table): return table.line
        case .tables(let array): return array.line
        }
    }

    var node: TOMLDocument.Node {
        switch self {
        case .value(let node, _): return node
        case .array(let items, _): return .array(items.map(\.node))
        case .table(let table): return table.node
        case .tables(let array): return .array(array.tables.map(\.node))
        }
    }

    var keyLines: TOMLDocument.KeyLines {
        switch self {
        case .value(_, let line): return TOMLDocument.KeyLines(line: line, children: [:], elements: [])
        case .array(let items, let line): return TOMLDocument.KeyLines(line: line, children: [:], elements: items.map(\.keyLines))
        case .table(let table): return table.keyLines
        case .tables(let array):
            return TOMLDocument.KeyLines(line: array.line, children: [:], elements: array.tables.map(\.keyLines))
        }
    }
}
