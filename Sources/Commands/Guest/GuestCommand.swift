import ArgumentParser
import GuestAgent
import VMCore

/// `vm guest ping|exec|info NAME`: the QEMU guest agent.
struct GuestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guest", abstract: "Talk to the QEMU guest agent in a running VM (needs guest_agent = true).",
        discussion: """
        EXAMPLES:
          vm guest ping win11
          vm guest info win11
          vm guest exec win11 -- cmd.exe /c ver
        """,
        subcommands: [GuestPingCommand.self, GuestInfoCommand.self, GuestExecCommand.self])

    /// Connects to the agent of `name`; explains a VM without the agent channel.
    static func connect(_ name: String, timeout: Int) async throws -> (GuestAgentClient, LoadedDefinition) {
        let loaded = try CommandSupport.loader.load(name)
        guard loaded.spec.guestAgent else {
            throw CommandFailure("\(loaded.spec.name) has no guest agent channel: set guest_agent = true in \(loaded.file) and restart the VM")
        }
        return (try await GuestAgentClient.connect(path: loaded.paths.agentSocket, timeout: .seconds(timeout)), loaded)
    }
}
