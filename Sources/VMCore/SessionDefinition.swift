/// A scripted session: one VM and the steps to run on it, with cleanup guaranteed.
public struct SessionDefinition: Sendable, Equatable {
    /// The VM (a name, or a definition path relative to the session file).
    public var vm: String
    /// Leave the VM running when the session fails or is interrupted (the GPU still goes back).
    public var keepRunning: Bool = false
    public var steps: [SessionStep]

    public init(vm: String, steps: [SessionStep]) {
        self.vm = vm
        self.steps = steps
    }
}

/// One step of a session.
public struct SessionStep: Sendable, Equatable {
    /// What a failed step does to the session.
    public enum OnFailure: String, Sendable, CaseIterable {
        /// Stop, clean up (GPU back to the host, VM down) and report failure.
        case abort
        /// Record the failure and go on with the next step.
        case `continue`
    }

    /// What the step does.
    public enum Action: Sendable, Equatable {
        case up(paused: Bool)
        case down(force: Bool)
        case gpuAttach(gpu: Int, force: Bool)
        case gpuDetach(gpu: Int)
        case wait(WaitCondition)
        /// A command in the guest through the agent; its output is saved to `output` when set.
        case guestExec(command: [String], output: String?, expectExit: Int32)
        /// A command on the host (argument array, never a shell), output saved to `output`.
        case hostExec(command: [String], output: String?, expectExit: Int32)
        /// Builds the extras ISO (driver files from `driverDirectory`) and loads it when the VM runs.
        case stageExtras(driverDirectory: String?)
    }

    public var action: Action
    /// Seconds the step may take.
    public var timeout: Int
    public var onFailure: OnFailure = .abort
    /// The line of `[[step]]` in the session file.
    public var line: Int?

    public init(action: Action, timeout: Int, onFailure: OnFailure = .abort, line: Int? = nil) {
        self.action = action
        self.timeout = timeout
        self.onFailure = onFailure
        self.line = line
    }

    /// A short description for progress lines.
    public var summary: String {
        switch action {
        case .up(let paused): return paused ? "up (paused)" : "up"
        case .down(let force): return force ? "down (force)" : "down"
        case .gpuAttach(let gpu, _): return "gpu-attach gpu[\(gpu)]"
        case .gpuDetach(let gpu): return "gpu-detach gpu[\(gpu)]"
        case .wait(let condition): return "wait for \(condition.summary)"
        case .guestExec(let command, _, _): return "exec in guest: \(command.joined(separator: " "))"
        case .hostExec(let command, _, _): return "exec on host: \(command.joined(separator: " "))"
        case .stageExtras: return "stage-extras"
        }
    }
}

/// What a `wait` step waits for.
public enum WaitCondition: Sendable, Equatable {
    /// A serial-console line matching this regular expression.
    case serial(pattern: String)
    /// The guest agent answering `guest-ping`.
    case agent
    /// A QMP event with this name.
    case event(name: String)
    /// A fixed time.
    case duration(seconds: Int)
    /// `vm session stop` (or the step's timeout, which then counts as success: a time limit).
    case stopRequest

    public var summary: String {
        switch self {
        case .serial(let pattern): return "serial /\(pattern)/"
        case .agent: return "the guest agent"
        case .event(let name): return "QMP event \(name)"
        case .duration(let seconds): return "\(seconds) s"
        case .stopRequest: return "`vm session stop` or the time limit"
        }
    }
}
