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
        return try await GuestCommandResult(agent.exec(path: command[0], arguments: Array(command.dropFirst()), timeout: timeout))
    }
}

/// A VM's guest agent behind a channel that needs no connection of ours (libvirt forwards the
/// commands on its backend).
public struct GuestAgentThroughChannel: GuestAgentAccess {
    public let channel: any GuestAgentChannel

    public init(channel: any GuestAgentChannel) {
        self.channel = channel
    }

    public func ping(timeout: Duration) async throws {
        try await channel.ping(timeout: timeout)
    }

    public func exec(_ command: [String], timeout: Duration) async throws -> GuestCommandResult {
        try await GuestCommandResult(channel.exec(path: command[0], arguments: Array(command.dropFirst()), timeout: timeout))
    }
}

extension GuestCommandResult {
    /// A finished guest command as a session step sees it: a signal N is exit code 128+N.
    init(_ result: GuestExecResult) {
        let code = result.exitCode.map(Int32.init) ?? result.signal.map { 128 + Int32($0) } ?? -1
        self.init(exitCode: code, standardOutput: result.standardOutput, standardError: result.standardError)
    }
}
