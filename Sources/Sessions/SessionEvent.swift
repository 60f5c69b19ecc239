import FoundationEssentials
import Glibc
import QMP

/// What a session reports as it goes: one per step start and end, waiting ticks, cleanup and
/// the end. `--json` prints each as one line.
public enum SessionEvent: Sendable, Equatable {
    case started(vm: String, steps: Int)
    case stepStarted(index: Int, total: Int, summary: String)
    case waiting(index: Int, elapsed: Double, what: String)
    case stepFinished(StepResult)
    case cleanup(String)
    /// The cleanup is waiting (for the guest to power off); every second while it lasts.
    case cleanupWaiting(elapsed: Double, what: String)
    case finished(SessionOutcome)
}

/// How one step ended.
public struct StepResult: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        case ok, failed, skipped
    }
    /// 1-based.
    public var index: Int
    public var summary: String
    public var status: Status
    public var seconds: Double
    public var message: String?
}

/// How the whole session ended.
public struct SessionOutcome: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        /// Every step ran (steps with `on_failure = "continue"` may have failed).
        case completed
        /// A step failed and stopped the session; cleanup ran.
        case failed
        /// Ctrl-C / SIGTERM or the VM went away; cleanup ran.
        case interrupted
    }
    public var status: Status
    public var steps: [StepResult]
    /// What the cleanup did (GPU back, VM down), in order.
    public var cleanup: [String]

    /// 0 completed with every step ok, 1 otherwise, 130 interrupted.
    public var exitCode: Int32 {
        switch status {
        case .completed: return steps.contains { $0.status == .failed } ? 1 : 0
        case .failed: return 1
        case .interrupted: return 130
        }
    }
}

extension SessionEvent {
    /// The event as one JSON object (for `--json`).
    public var jsonLine: String {
        var object: [String: JSONValue]
        switch self {
        case .started(let vm, let steps): object = ["event": "started", "vm": .string(vm), "steps": .int(Int64(steps))]
        case .stepStarted(let index, let total, let summary):
            object = ["event": "step-started", "step": .int(Int64(index)), "of": .int(Int64(total)), "summary": .string(summary)]
        case .waiting(let index, let elapsed, let what):
            object = ["event": "waiting", "step": .int(Int64(index)), "elapsed": .double(elapsed), "for": .string(what)]
        case .stepFinished(let result):
            object = ["event": "step-finished", "step": .int(Int64(result.index)), "summary": .string(result.summary),
                      "status": .string(result.status.rawValue), "seconds": .double(result.seconds)]
            if let message = result.message { object["message"] = .string(message) }
        case .cleanup(let line): object = ["event": "cleanup", "did": .string(line)]
        case .cleanupWaiting(let elapsed, let what): object = ["event": "cleanup-waiting", "elapsed": .double(elapsed), "for": .string(what)]
        case .finished(let outcome):
            object = ["event": "finished", "status": .string(outcome.status.rawValue), "exit": .int(Int64(outcome.exitCode))]
        }
        return JSONWriter.string(.object(object), sortedKeys: true)
    }
}
