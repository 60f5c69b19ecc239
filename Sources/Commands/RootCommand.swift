import ArgumentParser
import FoundationEssentials
import Glibc
import VMCore

/// The `vm` command tree.
public struct RootCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vm",
        abstract: "Run GPU-passthrough virtual machines on Linux.",
        discussion: """
            EXAMPLES:
              vm host check
              vm init win11 --gpu 0000:05:00
              vm up win11
              vm console win11
              vm down win11

            Exit status: 0 success; 1 a run-time failure (one line on stderr: what, and the fix); \
            64 a wrong command line (usage on stderr); `vm down` 3, 4 or 5 when QEMU had to be \
            ended by QMP quit, SIGTERM or SIGKILL; `vm guest exec` the guest program's status; \
            130 a session interrupted.
            """,
        version: VMVersion.current,
        subcommands: [
            UpCommand.self, DownCommand.self, StatusCommand.self, ListCommand.self, LogCommand.self, ConsoleCommand.self,
            PauseCommand.self, ResumeCommand.self, RebootCommand.self, SnapshotCommand.self,
            InitCommand.self, ConfigCommand.self, EditCommand.self, RmCommand.self, ExportCommand.self, ImportCommand.self, QEMUArgsCommand.self, LibvirtXMLCommand.self,
            QMPCommand.self, SessionCommand.self,
            HostCommand.self, GPUCommand.self,
            GuestCommand.self, ExtrasCommand.self, NetCommand.self, USBCommand.self, InputCommand.self,
            VersionCommand.self,
        ]
    )

    public init() {}

    /// Runs the command line of this process and exits: 64 with usage for a wrong command line
    /// (with a "did you mean" for a misspelt verb), 1 with one line for a run-time failure.
    /// On the main actor, so that the parse (synchronous: the completions are) runs on the main
    /// thread at once instead of waiting for a thread of the concurrency pool to start; the
    /// command itself runs on the pool (``runAndExit(_:)``).
    @MainActor public static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        UpReadAhead.start(for: arguments)
        if let unknown = UnknownCommand.find(in: arguments) {
            StandardStream.error.write("vm: \(unknown)\n")
            Glibc.exit(ExitCode.validationFailure.rawValue)
        }
        let parsed: any ParsableCommand
        do {
            parsed = try parseAsRoot(arguments)
        } catch {
            exit(withError: error)
        }
        guard isInTree(type(of: parsed)) else {
            // The parser's own commands (`vm help`) report through their errors.
            do {
                var command = parsed
                try command.run()
            } catch {
                exit(withError: error)
            }
            exit()
        }
        await runAndExit(parsed)
    }

    /// Runs `command` and exits with its outcome, on the concurrency pool: the process ends there,
    /// without the hop back to the main thread that returning to ``main()`` would take (about 0.1 ms
    /// of `vm up`).
    private static func runAndExit(_ command: any ParsableCommand) async -> Never {
        var command = command
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ExitCode {
            Glibc.exit(error.rawValue)
        } catch let error as CleanExit {
            exit(withError: error)
        } catch {
            StandardStream.error.write("vm: \(runTimeMessage(error))\n")
            Glibc.exit(EXIT_FAILURE)
        }
        Glibc.exit(EXIT_SUCCESS)
    }

    /// Whether `command` is this tree's (not one the parser adds, like `help`).
    static func isInTree(_ command: any ParsableCommand.Type, from root: any ParsableCommand.Type = RootCommand.self) -> Bool {
        root == command || root.configuration.subcommands.contains { isInTree(command, from: $0) }
    }

    /// The one line a run-time failure prints (after `vm: `); an error Foundation threw about a
    /// file is shown as what failed, where and the fix (``FileAccessError``), never as
    /// `NSCocoaErrorDomain` text.
    static func runTimeMessage(_ error: any Error) -> String {
        if let validation = error as? ValidationError { return validation.message }
        return message(for: FileAccessError.presentable(error))
    }
}

/// A word of the command line that names no command: `vm stauts`, `vm gpu lst`, `vm help foo`.
enum UnknownCommand {
    /// The message for the first word that should name a subcommand and names none, with the
    /// closest one; nil when every verb is known (options and arguments are the parser's job).
    static func find(in arguments: [String], root: any ParsableCommand.Type = RootCommand.self) -> String? {
        var command = root
        var path = [root.configuration.commandName ?? "vm"]
        var words = arguments[...]
        let isHelp = words.first == "help"
        if isHelp { words = words.dropFirst() }
        for word in words {
            guard !word.hasPrefix("-") else { return nil }
            let subcommands = command.configuration.subcommands
            guard !subcommands.isEmpty, command.configuration.defaultSubcommand == nil else { return nil }
            if let next = subcommands.first(where: { names(of: $0).contains(word) }) {
                command = next
                path.append(word)
                continue
            }
            if word == "help" { return nil }
            let known = subcommands.compactMap { $0.configuration.commandName }
            let suggestion = word.isEmpty ? "" : closestMatch(to: word, among: known).map { " Did you mean '\($0)'?" } ?? ""
            let list = path.joined(separator: " ")
            return "Unknown \(isHelp ? "help topic" : "command") '\(word)'.\(suggestion) `\(list) --help` lists the commands."
        }
        return nil
    }

    private static func names(of command: any ParsableCommand.Type) -> [String] {
        (command.configuration.commandName.map { [$0] } ?? []) + command.configuration.aliases
    }
}
