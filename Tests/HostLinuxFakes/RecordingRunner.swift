import Foundation
import HostLinux
import Synchronization

/// A ``HostCommandRunner`` that records every program it is asked to run and answers with
/// `reaction` (what the fake host does: stop a unit, load a module, end a process); status 0 by default.
public final class RecordingRunner: HostCommandRunner, Sendable {
    private let calls = Mutex<[[String]]>([])
    private let reaction: @Sendable ([String]) throws -> CommandResult?

    public init(reaction: @escaping @Sendable ([String]) throws -> CommandResult? = { _ in nil }) {
        self.reaction = reaction
    }

    /// Every command run so far, in order.
    public var commands: [[String]] { calls.withLock { $0 } }

    public func run(_ arguments: [String], timeout: Duration) throws -> CommandResult {
        calls.withLock { $0.append(arguments) }
        return try reaction(arguments) ?? CommandResult(status: 0, standardOutput: "", standardError: "")
    }
}
