import FoundationEssentials
import Glibc

/// Reads a session file (TOML) into a ``SessionDefinition``; every problem is reported with
/// file, line, key and fix, like definition files.
///
/// ```toml
/// vm = "win11"
/// keep_running = false
/// [[step]]
/// action = "up"
/// [[step]]
/// action = "wait"
/// serial = "login:"
/// timeout = 120
/// ```
public struct SessionParser: Sendable {
    public var file: String

    public init(file: String) {
        self.file = file
    }

    static let actions = ["up", "down", "gpu-attach", "gpu-detach", "wait", "exec", "stage-extras"]

    /// Parses and validates `text`.
    public func parse(_ text: String) throws(DefinitionError) -> SessionDefinition {
        try parse(Array(text.utf8))
    }

    /// Parses and validates the bytes of a file (invalid UTF-8 is reported with its line).
    public func parse(_ bytes: [UInt8]) throws(DefinitionError) -> SessionDefinition {
        let document: TOMLDocument
        do {
            document = try TOMLDocument(parsing: bytes)
        } catch {
            throw DefinitionError(issues: [DefinitionIssue(file: file, line: error.line, key: nil,
                                                           message: "TOML syntax error: \(error.message)", fix: "correct the TOML at column \(error.column)")])
        }
        let issues = IssueCollector(file: file, lines: document.lines)
        let top = TableReader(path: "", entries: document.root, issues: issues)
        top.rejectUnknownKeys(["vm", "keep_running", "step"])
        let vm = top.string("vm", example: "\"win11\"")
        if vm == nil, top.value("vm") == nil {
            issues.report(nil, "the session names no VM", fix: "add vm = \"NAME\" at the top")
        }
        var session = SessionDefinition(vm: vm ?? "", steps: [])
        if let keep = top.boolean("keep_running") { session.keepRunning = keep }
        let readers = top.tables("step")
        if readers.isEmpty, top.value("step") == nil {
            issues.report(nil, "the session has no steps", fix: "add [[step]] sections, e.g. action = \"up\"")
        }
        session.steps = readers.compactMap { step($0, lines: document.lines) }
        if !issues.issues.isEmpty { throw DefinitionError(issues: issues.issues.map(Self.numberedFromOne)) }
        return session
    }

    /// `step[0].action` as `step 1 action`: steps are counted from 1, as a run counts them.
    static func numberedFromOne(_ issue: DefinitionIssue) -> DefinitionIssue {
        guard let key = issue.key, key.hasPrefix("step["), let close = key.firstIndex(of: "]"),
              let index = Int(key[key.index(key.startIndex, offsetBy: 5)..<close]) else { return issue }
        var renamed = issue
        let rest = key[key.index(after: close)...].drop { $0 == "." }
        renamed.key = "step \(index + 1)" + (rest.isEmpty ? "" : " \(rest)")
        return renamed
    }

    private func step(_ reader: TableReader, lines: TOMLDocument.KeyLines) -> SessionStep? {
        guard let action = reader.string("action", example: "\"up\"") else {
            if reader.value("action") == nil {
                if let misspelt = reader.entries.map(\.key).first(where: { closestMatch(to: $0, among: ["action"]) != nil }) {
                    reader.issues.report(reader.keyPath(misspelt), "unknown key '\(misspelt)'", fix: "did you mean 'action'?")
                } else {
                    reader.issues.report(reader.path, "a [[step]] needs an action", fix: "add action = one of \(Self.actions.joined(separator: ", "))")
                }
            }
            return nil
        }
        let common = ["action", "timeout", "on_failure"]
        let allowed: [String]
        switch action {
        case "up": allowed = common + ["paused"]
        case "down": allowed = common + ["force"]
        case "gpu-attach": allowed = common + ["gpu", "force"]
        case "gpu-detach": allowed = common + ["gpu"]
        case "wait": allowed = common + ["serial", "agent", "event", "seconds", "until_stopped"]
        case "exec": allowed = common + ["guest", "host", "output", "expect_exit"]
        case "stage-extras": allowed = common + ["driver_dir"]
        default:
            let hint = closestMatch(to: action, among: Self.actions).map { "did you mean \"\($0)\"? " } ?? ""
            reader.issues.report(reader.keyPath("action"), "'\(action)' is not a step action",
                                 fix: "\(hint)use one of \(Self.actions.joined(separator: ", "))")
            return nil
        }
        reader.rejectUnknownKeys(allowed)
        let defaultTimeout = action == "wait" ? 300 : 120
        let timeout = reader.integer("timeout", range: 1...604_800, example: "120") ?? defaultTimeout
        let onFailure = reader.choice("on_failure", of: SessionStep.OnFailure.self) ?? .abort
        let gpu = reader.integer("gpu", range: 0...15, example: "0") ?? 0
        let force = reader.boolean("force") ?? false
        let kind: SessionStep.Action
        switch action {
        case "up": kind = .up(paused: reader.boolean("paused") ?? false)
        case "down": kind = .down(force: force)
        case "gpu-attach": kind = .gpuAttach(gpu: gpu, force: force)
        case "gpu-detach": kind = .gpuDetach(gpu: gpu)
        case "wait":
            guard let condition = waitCondition(reader) else { return nil }
            kind = .wait(condition)
        case "exec":
            guard let exec = exec(reader) else { return nil }
            kind = exec
        default: kind = .stageExtras(driverDirectory: reader.string("driver_dir", example: "\"drivers\"").map(resolved))
        }
        return SessionStep(action: kind, timeout: timeout, onFailure: onFailure, line: lines[reader.path])
    }

    private func waitCondition(_ reader: TableReader) -> WaitCondition? {
        var conditions: [WaitCondition] = []
        if let pattern = reader.string("serial", example: "\"login:\"") {
            do {
                _ = try Regex(pattern)
                conditions.append(.serial(pattern: pattern))
            } catch {
                reader.issues.report(reader.keyPath("serial"), "'\(pattern)' is not a valid regular expression", fix: "escape special characters like ( [ . * with a backslash")
                return nil
            }
        }
        if reader.boolean("agent") == true { conditions.append(.agent) }
        if let event = reader.string("event", example: "\"SHUTDOWN\"") { conditions.append(.event(name: event)) }
        if let seconds = reader.integer("seconds", range: 1...604_800, example: "30") { conditions.append(.duration(seconds: seconds)) }
        if reader.boolean("until_stopped") == true { conditions.append(.stopRequest) }
        guard conditions.count == 1 else {
            reader.issues.report(reader.path, conditions.isEmpty ? "a wait step needs something to wait for" : "a wait step waits for one thing",
                                 fix: "give exactly one of serial = \"...\", agent = true, event = \"...\", seconds = N, until_stopped = true")
            return nil
        }
        return conditions[0]
    }

    private func exec(_ reader: TableReader) -> SessionStep.Action? {
        let guest = reader.stringArray("guest", example: "[\"C:\\\\tools\\\\bench.exe\", \"--quick\"]")
        let host = reader.stringArray("host", example: "[\"notify-send\", \"done\"]")
        let output = reader.string("output", example: "\"result.txt\"").map(resolved)
        let expect = Int32(reader.integer("expect_exit", range: 0...255, example: "0") ?? 0)
        switch (guest, host) {
        case (let command?, nil) where !command.isEmpty: return .guestExec(command: command, output: output, expectExit: expect)
        case (nil, let command?) where !command.isEmpty: return .hostExec(command: command, output: output, expectExit: expect)
        case (nil, nil) where reader.value("guest") != nil || reader.value("host") != nil:
            return nil  // the wrong type was reported already
        default:
            reader.issues.report(reader.path, "an exec step runs one non-empty command, in the guest or on the host",
                                 fix: "give guest = [\"program\", \"arg\"] or host = [\"program\", \"arg\"]")
            return nil
        }
    }

    /// Paths relative to the session file's folder.
    func resolved(_ path: String) -> String {
        guard !path.hasPrefix("/"), let slash = file.lastIndex(of: "/") else { return path }
        return String(file[...slash]) + path
    }
}
