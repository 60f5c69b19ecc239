import ArgumentParser
import Dispatch
import FoundationEssentials
import Glibc
import Sessions
import VMCore

/// `vm session run|check|stop`
struct SessionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "Run a scripted session (up, attach GPU, wait, exec, detach, down) with cleanup guaranteed.",
        discussion: """
        EXAMPLES:
          vm session check templates/sessions/gaming.toml
          vm session run templates/sessions/gaming.toml
          vm session stop win11
        """,
        subcommands: [Run.self, Check.self, Stop.self])

    static func load(_ file: String) throws -> SessionDefinition {
        let path = URL(fileURLWithPath: file).standardizedFileURL.path
        return try SessionParser(file: path).parse(FileAccess.read(path))
    }

    /// The VM a session names: a name, or a definition path relative to the session file.
    static func vmReference(_ session: SessionDefinition, sessionFile: String) -> String {
        guard session.vm.contains("/") || session.vm.hasSuffix(".toml"), !session.vm.hasPrefix("/") else { return session.vm }
        return URL(fileURLWithPath: sessionFile).deletingLastPathComponent().appendingPathComponent(session.vm).path
    }

    /// `vm session run FILE`
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run the steps of a session file; on a failed step, Ctrl-C or a QEMU crash the GPU goes back and the VM comes down.",
            discussion: """
            Exit status: 0 every step ok, 1 a step failed, 130 interrupted.

            EXAMPLES:
              vm session run templates/sessions/gaming.toml
              vm session run compute.toml --json
            """)

        @Argument(help: "The session file (TOML).", completion: Completions.sessionFiles)
        var file: String

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let session = try SessionCommand.load(file)
            let loaded = try CommandSupport.loadResolved(SessionCommand.vmReference(session, sessionFile: file))
            let logger = CommandSupport.quietLogger(debug: global.debug)
            let machine = try CommandSupport.backend(loaded, loaded.spec.backend, logger: logger)
            let printer = SessionPrinter(json: global.json, terminal: isatty(STDOUT_FILENO) == 1)
            let runner = SessionRunner(session: session, machine: machine, services: try CommandSupport.sessionServices(loaded, on: loaded.spec.backend, logger: logger),
                                       report: { printer.show($0) })
            let work = Task { await runner.run() }
            let signals = SignalCancellation(signals: [SIGINT, SIGTERM]) {
                printer.interrupted(keepRunning: session.keepRunning)
                work.cancel()
            }
            let outcome = await work.value
            withExtendedLifetime(signals) {}
            if !global.json { printer.summary(outcome) }
            if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
        }
    }

    /// `vm session check FILE`
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check", abstract: "Validate a session file without running it (file:line errors).",
            discussion: """
            EXAMPLES:
              vm session check templates/sessions/gaming.toml
            """)

        @Argument(help: "The session file (TOML).", completion: Completions.sessionFiles)
        var file: String

        func run() async throws {
            let session = try SessionCommand.load(file)
            _ = try CommandSupport.loader.load(SessionCommand.vmReference(session, sessionFile: file))
            print("\(file): ok (\(session.steps.count) steps on \(session.vm))")
            for (index, step) in session.steps.enumerated() { print("  \(index + 1). \(step.summary)") }
        }
    }

    /// `vm session stop NAME`
    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stop", abstract: "End the `until_stopped` wait of the session running on a VM.",
            discussion: """
            EXAMPLES:
              vm session stop win11
            """)

        @Argument(help: VMNames.help, completion: VMNames.completion)
        var name: String

        func run() async throws {
            let loaded = try CommandSupport.loader.load(name)
            let machine = try CommandSupport.backend(loaded, loaded.spec.backend, logger: CommandSupport.quietLogger(debug: false))
            guard machine.isRunning else {
                throw CommandFailure("\(loaded.spec.name) is not running, so no session waits on it; `vm status \(loaded.spec.name)` shows its state")
            }
            _ = FileManager.default.createFile(atPath: SessionRunner.stopRequestFile(loaded.paths), contents: nil,
                                           attributes: [.posixPermissions: 0o600])
            print("asked the session on \(loaded.spec.name) to go on")
        }
    }
}

/// Turns SIGINT/SIGTERM into a callback (the default action, exiting, is switched off while it lives).
final class SignalCancellation {
    private let sources: [any DispatchSourceSignal]

    init(signals: [Int32], handler: @escaping @Sendable () -> Void) {
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
