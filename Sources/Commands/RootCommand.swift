import ArgumentParser
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
            exit(withError: FileAccessError.presentable(error))
        }
    }
}
