import ArgumentParser
import Foundation
import VMCore

/// The `vm` command tree.
public struct RootCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vm",
        abstract: "Run GPU-passthrough virtual machines on Linux.",
        subcommands: [
            UpCommand.self, DownCommand.self, StatusCommand.self, ListCommand.self, LogCommand.self,
            InitCommand.self, ConfigCommand.self, QEMUArgsCommand.self, LibvirtXMLCommand.self,
            QMPCommand.self, SessionCommand.self,
            HostCommand.self, GPUCommand.self,
            GuestCommand.self, ExtrasCommand.self, NetCommand.self,
        ]
    )

    public init() {}

    /// Runs the command line; an error Foundation threw about a file is shown as what failed,
    /// where and the fix (``FileAccessError``), never as `NSCocoaErrorDomain` text.
    public static func main() async {
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            // As `exit(withError:)`, but the message goes out in one write: ArgumentParser writes
            // stderr a character at a time, which takes a minute for a file with 100,000 problems.
            let shown = FileAccessError.presentable(error)
            let code = exitCode(for: shown)
            let text = fullMessage(for: shown)
            if !text.isEmpty {
                let bytes = Data((text + "\n").utf8)
                if code == .success { FileHandle.standardOutput.write(bytes) } else { FileHandle.standardError.write(bytes) }
            }
            Foundation.exit(code.rawValue)
        }
    }
}
