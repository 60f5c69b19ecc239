import QMP

/// What `vm qmp` was asked to do, read from its words and options (pure; no I/O).
struct QMPInvocation: Equatable {
    /// Where the monitor is.
    enum Target: Equatable {
        case socket(String)
        case vm(String)
    }

    /// A command to send.
    struct Command: Equatable {
        var name: String
        var arguments: [String: JSONValue]?
    }

    var target: Target
    var command: Command?

    /// Why the words do not make an invocation.
    enum Problem: Error, Equatable, CustomStringConvertible {
        case noTarget
        case nothingToDo
        case jsonAndWords
        case badJSON(String)
        /// A command object given where a command name goes.
        case objectAsCommand
        case arguments(QMPShellSyntax.ParseError)

        var description: String {
            switch self {
            case .noTarget: return "give a VM name or --socket PATH"
            case .nothingToDo: return "give a COMMAND, --execute '{...}' or --events"
            case .jsonAndWords: return "--execute replaces COMMAND and its key=value arguments; give one or the other"
            case .badJSON(let why): return "--execute: \(why)"
            case .objectAsCommand: return "a QMP command object goes after --execute: vm qmp NAME --execute '{\"execute\": ...}' (--json prints JSON)"
            case .arguments(let error): return error.description
            }
        }
    }

    /// Reads `vm qmp [NAME] [COMMAND [key=value ...]]` with `--socket` / `--execute` / `--events`.
    /// With `--socket` every word belongs to the command; otherwise the first word is the VM name.
    static func parse(words: [String], socket: String?, execute json: String?, events: Bool) throws(Problem) -> QMPInvocation {
        var rest = words[...]
        let target: Target
        if let socket {
            target = .socket(socket)
        } else if let name = rest.popFirst() {
            target = .vm(name)
        } else {
            throw .noTarget
        }
        if let json {
            guard rest.isEmpty else { throw .jsonAndWords }
            return QMPInvocation(target: target, command: try rawCommand(json))
        }
        guard let name = rest.popFirst() else {
            guard events else { throw .nothingToDo }
            return QMPInvocation(target: target, command: nil)
        }
        guard !name.hasPrefix("{") else { throw .objectAsCommand }
        do {
            let arguments = try QMPShellSyntax.parseArguments(Array(rest))
            return QMPInvocation(target: target, command: Command(name: name, arguments: arguments.isEmpty ? nil : arguments))
        } catch {
            throw .arguments(error)
        }
    }

    /// Reads `{"execute": NAME, "arguments": {...}}` (an `id` given there is replaced by ours).
    static func rawCommand(_ text: String) throws(Problem) -> Command {
        let value: JSONValue
        do {
            value = try JSONParser.parse(text)
        } catch {
            throw .badJSON(error.description)
        }
        guard let name = value["execute"]?.stringValue else { throw .badJSON("expected an object with \"execute\"") }
        switch value["arguments"] {
        case nil: return Command(name: name, arguments: nil)
        case .object(let arguments)?: return Command(name: name, arguments: arguments)
        default: throw .badJSON("\"arguments\" must be an object")
        }
    }
}
