/// One problem in a VM definition file, with where it is and how to fix it.
public struct DefinitionIssue: Error, Sendable, Equatable, CustomStringConvertible {
    /// The definition file.
    public var file: String
    /// 1-based line, when known.
    public var line: Int?
    /// The key path, e.g. `gpu[0].address`; nil for file-level problems.
    public var key: String?
    /// What is wrong.
    public var message: String
    /// How to fix it.
    public var fix: String?

    public init(file: String, line: Int?, key: String?, message: String, fix: String?) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        self.fix = fix
    }

    /// `FILE:LINE: KEY: MESSAGE (fix: FIX)`.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "\(key): " }
        text += message
        if let fix { text += " (fix: \(fix))" }
        return text
    }
}

/// Every problem found in a definition file; thrown when there is at least one.
public struct DefinitionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [DefinitionIssue]
    public init(issues: [DefinitionIssue]) { self.issues = issues }
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
