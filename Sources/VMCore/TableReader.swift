/// Collects the problems of one definition file while it is read.
final class IssueCollector {
    let file: String
    let lines: TOMLDocument.KeyLines
    private(set) var issues: [DefinitionIssue] = []

    init(file: String, lines: TOMLDocument.KeyLines) {
        self.file = file
        self.lines = lines
    }

    /// Records a problem at `key` (its line looked up, or its table's line).
    func report(_ key: String?, _ message: String, fix: String? = nil) {
        issues.append(DefinitionIssue(file: file, line: key.flatMap(line(of:)), key: key, message: message, fix: fix))
    }

    private func line(of key: String) -> Int? {
        var path = key
        while true {
            if let line = lines[path] { return line }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            path = String(path[..<cut])
        }
    }
}

/// Reads typed values out of one TOML table, reporting wrong types and unknown keys.
struct TableReader {
    let path: String
    let entries: [(key: String, value: TOMLDocument.Node)]
    let issues: IssueCollector

    /// The dotted path of `key` in this table.
    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Reports every key not in `known`, with a suggestion.
    func rejectUnknownKeys(_ known: [String]) {
        for (key, _) in entries where !known.contains(key) {
            if let guess = closestMatch(to: key, among: known) {
                issues.report(keyPath(key), "unknown key '\(key)'", fix: "did you mean '\(guess)'?")
            } else {
                let place = path.isEmpty ? "at the top level"
                    : path.hasSuffix("]") ? "in a [[\(path.prefix { $0 != "[" })]]" : "in [\(path)]"
                issues.report(keyPath(key), "unknown key '\(key)'",
                              fix: "keys allowed \(place): \(known.joined(separator: ", "))")
            }
        }
    }

    func value(_ key: String) -> TOMLDocument.Node? {
        entries.first(where: { $0.key == key })?.value
    }

    private func typeError(_ key: String, expected: String, got node: TOMLDocument.Node, example: String) {
        issues.report(keyPath(key), "expected \(expected), found \(node.typeName)", fix: "write it as \(key) = \(example)")
    }

    func string(_ key: String, example: String = "\"...\"") -> String? {
        guard let node = value(key) else { return nil }
        guard case .string(let text) = node else {
            typeError(key, expected: "a string", got: node, example: example)
            return nil
        }
        return text
    }

    func integer(_ key: String, range: ClosedRange<Int>, example: String = "1") -> Int? {
        guard let node = value(key) else { return nil }
        guard case .integer(let number) = node else {
            typeError(key, expected: "an integer", got: node, example: example)
            return nil
        }
        guard range.contains(number) else {
            issues.report(keyPath(key), "\(number) is out of range",
                          fix: "use a value from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return number
    }

    func boolean(_ key: String) -> Bool? {
        guard let node = value(key) else { return nil }
        guard case .boolean(let flag) = node else {
            typeError(key, expected: "true or false", got: node, example: "true")
            return nil
        }
        return flag
    }

    /// An array whose every item `element` accepts; a wrong item is reported as a type error.
    private func array<Element>(_ key: String, of kind: String, example: String,
                                _ element: (TOMLDocument.Node) -> Element?) -> [Element]? {
        guard let node = value(key) else { return nil }
        guard case .array(let items) = node else {
            typeError(key, expected: kind, got: node, example: example)
            return nil
        }
        var elements: [Element] = []
        for item in items {
            guard let converted = element(item) else {
                typeError(key, expected: kind, got: item, example: example)
                return nil
            }
            elements.append(converted)
        }
        return elements
    }

    func stringArray(_ key: String, example: String) -> [String]? {
        array(key, of: "an array of strings", example: example) { node in
            if case .string(let text) = node { text } else { nil }
        }
    }

    func integerArray(_ key: String, range: ClosedRange<Int>, example: String) -> [Int]? {
        let numbers = array(key, of: "an array of integers", example: example) { node in
            if case .integer(let number) = node { number } else { nil }
        }
        if let outside = numbers?.first(where: { !range.contains($0) }) {
            issues.report(keyPath(key), "\(outside) is out of range", fix: "use values from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return numbers
    }

    /// One of the raw values of `E`; a wrong one is reported with the allowed values.
    func choice<E: RawRepresentable & CaseIterable>(_ key: String, of _: E.Type) -> E? where E.RawValue == String {
        guard let text = string(key, example: "\"\(E.allCases.first!.rawValue)\"") else { return nil }
        if let value = E(rawValue: text) { return value }
        let allowed = E.allCases.map(\.rawValue)
        let hint = closestMatch(to: text, among: allowed).map { "did you mean \"\($0)\"? " } ?? ""
        issues.report(keyPath(key), "'\(text)' is not one of \(allowed.joined(separator: ", "))",
                      fix: "\(hint)write one of: \(allowed.map { "\"\($0)\"" }.joined(separator: ", "))")
        return nil
    }

    /// A sub-table `[key]`; nil when absent or not a table (reported).
    func table(_ key: String) -> TableReader? {
        guard let node = value(key) else { return nil }
        guard case .table(let inner) = node else {
            issues.report(keyPath(key), "expected a table, found \(node.typeName)", fix: "write it as a [\(keyPath(key))] section")
            return nil
        }
        return TableReader(path: keyPath(key), entries: inner, issues: issues)
    }

    /// An array of tables `[[key]]`.
    func tables(_ key: String) -> [TableReader] {
        guard let node = value(key) else { return [] }
        guard case .array(let items) = node else {
            issues.report(keyPath(key), "expected an array of tables, found \(node.typeName)", fix: "write each entry as a [[\(keyPath(key))]] section")
            return []
        }
        return items.enumerated().compactMap { index, item in
            guard case .table(let inner) = item else {
                issues.report("\(keyPath(key))[\(index)]", "expected a table, found \(item.typeName)", fix: "write each entry as a [[\(keyPath(key))]] section")
                return nil
            }
            return TableReader(path: "\(keyPath(key))[\(index)]", entries: inner, issues: issues)
        }
    }
}
