import FoundationEssentials
import Glibc

/// The guest agent as a session uses it (implemented over the QEMU guest agent protocol).
public protocol GuestAgentAccess: Sendable {
    /// Returns once the agent answers, or throws after `timeout`.
    func ping(timeout: Duration) async throws
    /// Runs `command` in the guest and returns its exit code and output.
    func exec(_ command: [String], timeout: Duration) async throws -> GuestCommandResult
}

/// What a command run in the guest gave back.
public struct GuestCommandResult: Sendable, Equatable {
    public var exitCode: Int32
    public var standardOutput: Data
    public var standardError: Data

    public init(exitCode: Int32, standardOutput: Data, standardError: Data) {
        self.exitCode = exitCode
        self.standardOutput = standardOutput
        self.standardError = standardError
    }
}

/// What a session needs beyond the VM itself; a step whose service is missing fails with a
/// message saying so.
public struct SessionServices: Sendable {
    /// The guest agent of the VM (its definition must say `guest_agent = true`).
    public var guestAgent: (any GuestAgentAccess)?
    /// Builds the extras ISO for the VM from the driver folder given; returns what it did.
    public var stageExtras: (@Sendable (_ driverDirectory: String?) async throws -> String)?

    public init(guestAgent: (any GuestAgentAccess)? = nil, stageExtras: (@Sendable (String?) async throws -> String)? = nil) {
        self.guestAgent = guestAgent
        self.stageExtras = stageExtras
    }
}
