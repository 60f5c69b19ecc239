import GuestAgent

/// A VM's QEMU guest agent at its socket, for sessions: a fresh connection per call (the agent
/// takes one client at a time, and `vm guest` commands may need it between steps).
public struct GuestAgentSocket: GuestAgentAccess {
    public let socket: String

    public init(socket: String) {
        self.socket = socket
    }

    public func ping(timeout: Duration) async throws {
        let agent = try await GuestAgentClient.connect(path: socket, timeout: timeout)
        defer { agent.close() }
        try await agent.ping(timeout: timeout)
    }

    public func exec(_ command: [String], timeout: Duration) async throws -> GuestCommandResult {
        let agent = try await GuestAgentClient.connect(path: socket)
        defer { agent.close() }
        let result = try await agent.exec(path: command[0], arguments: Array(command.dropFirst()), timeout: timeout)
        let code = result.exitCode.map(Int32.init) ?? result.signal.map { 128 + Int32($0) } ?? -1
        return GuestCommandResult(exitCode: code, standardOutput: result.standardOutput, standardError: result.standardError)
    }
}
