/// The `key=value` argument syntax of QEMU's `qmp-shell`, as a pure function.
public enum QMPShellSyntax {
    /// Why an argument could not be read.
    public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        /// No `=` in the word.
        case missingEquals(String)
        /// Nothing (or an empty path component) before `=`.
        case emptyKey(String)
        /// The value starts like a JSON object or array but is not valid JSON.
        case invalidJSON(String, JSONParseError)
        /// The same key twice, or a key used both as a value and as an object (`a=1 a.b=2`).
        case conflictingKey(String)

        public var description: String {
            switch self {
            case .missingEquals(let word): return "'\(word)': expected key=value"
            case .emptyKey(let word): return "'\(word)': empty key"
            case .invalidJSON(let word, let error): return "'\(word)': \(error)"
            case .conflictingKey(let key): return "'\(key)' given twice or used both as a value and an object"
            }
        }
    }

    /// Reads `words` such as `id=net0 bus=rp1 addr=0x0 multifunction=true opts={"a":1} a.b=2`
    /// into an argument object. Values: `true`/`false`, integers (decimal, `0x` hex), decimals,
    /// JSON objects/arrays when the value starts with `{` or `[`, anything else a string. Dotted keys
    /// build nested objects.
    public static func parseArguments(_ words: [String]) throws(ParseError) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for word in words {
            guard let equals = word.firstIndex(of: "=") else { throw .missingEquals(word) }
            let key = String(word[..<equals])
            let path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !path.contains(where: \.isEmpty) else { throw .emptyKey(word) }
            let value = try parseValue(String(word[word.index(after: equals)...]), word: word)
            guard insert(value, at: path[...], into: &result) else { throw .conflictingKey(key) }
        }
        return result
    }

    /// Reads one value as described in ``parseArguments(_:)``.
    public static func parseValue(_ text: String, word: String? = nil) throws(ParseError) -> JSONValue {
        switch text {
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: break
        }
        if let first = text.first, first == "{" || first == "[" {
            do {
                return try JSONParser.parse(text)
            } catch {
                throw .invalidJSON(word ?? text, error)
            }
        }
        if let number = integer(text) { return .int(number) }
        if text.contains(where: { $0.isNumber }), !text.contains(where: \.isLetter) || text.lowercased().contains("e"),
            let number = Double(text), number.isFinite, text.first != "+" || text.count > 1
        {
            return .double(number)
        }
        return .string(text)
    }

    private static func integer(_ text: String) -> Int64? {
        var body = Substring(text)
        var negative = false
        if body.first == "-" {
            negative = true
            body = body.dropFirst()
        }
        let value: Int64?
        if body.hasPrefix("0x") || body.hasPrefix("0X") {
            value = Int64(body.dropFirst(2), radix: 16)
        } else if body.allSatisfy(\.isASCII), body.first?.isNumber == true {
            value = Int64(body, radix: 10)
        } else {
            value = nil
        }
        guard let value else { return nil }
        return negative ? -value : value
    }

    private static func insert(_ value: JSONValue, at path: ArraySlice<String>, into object: inout [String: JSONValue]) -> Bool {
        let key = path.first!
        if path.count == 1 {
            guard object[key] == nil else { return false }
            object[key] = value
            return true
        }
        var child: [String: JSONValue]
        switch object[key] {
        case nil: child = [:]
        case .object(let existing): child = existing
        default: return false
        }
        guard insert(value, at: path.dropFirst(), into: &child) else { return false }
        object[key] = .object(child)
        return true
    }
}
