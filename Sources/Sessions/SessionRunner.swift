import FoundationEssentials
import Glibc
import Handover
import QMP
import VMCore

/// What a session drives: a VM on either backend, with its GPU hand-overs and what its waits
/// watch. `vm` launching QEMU (`QEMUMachine`) and libvirtd (`LibvirtMachine`) both are one.
public typealias SessionBackend = VMBackend & GPUSwapping & VMWatching

/// Runs a session's steps on one VM, on either backend. Whatever happens (a failed step, Ctrl-C, QEMU dying),
/// the GPU goes back to the host and the VM comes down (unless the session keeps it running).
///
/// A session never stops or changes a VM it did not start: its `up` step refuses a VM that
/// already runs (the backend's "already running" error), and the cleanup then leaves that VM as
/// it was. Only a session whose `up` step started QEMU cleans up after itself.
public struct SessionRunner: Sendable {
    public let session: SessionDefinition
    public let machine: any SessionBackend
    public let services: SessionServices
    /// Receives every event as it happens.
    public let report: @Sendable (SessionEvent) -> Void
    /// How often waits look again (and report progress).
    public var pollInterval: Duration = .milliseconds(200)

    public init(session: SessionDefinition, machine: any SessionBackend, services: SessionServices,
                report: @escaping @Sendable (SessionEvent) -> Void) {
        self.session = session
        self.machine = machine
        self.services = services
        self.report = report
    }

    /// The file `vm session stop NAME` creates to end a `until_stopped` wait: in the state folder,
    /// which both backends have (a libvirt-run VM has no runtime folder of `vm`'s).
    public static func stopRequestFile(_ paths: VMPaths) -> String { "\(paths.stateDirectory)/session-stop" }

    /// Runs every step; cancel the calling task to interrupt (cleanup still runs).
    public func run() async -> SessionOutcome {
        report(.started(vm: session.vm, steps: session.steps.count))
        var results: [StepResult] = []
        var status = SessionOutcome.Status.completed
        var startedVM = false
        for (offset, step) in session.steps.enumerated() {
            let index = offset + 1
            report(.stepStarted(index: index, total: session.steps.count, summary: step.summary))
            let started = ContinuousClock.now
            var result = StepResult(index: index, summary: step.summary, status: .ok, seconds: 0, message: nil)
            do {
                result.message = try await withTimeout(step) { try await perform(step, index: index) }
            } catch {
                result.status = .failed
                result.message = Self.describe(error)
            }
            result.seconds = (ContinuousClock.now - started).sessionSeconds
            if case .up = step.action, result.status == .ok { startedVM = true }
            results.append(result)
            report(.stepFinished(result))
            if Task.isCancelled {
                status = .interrupted
                break
            }
            if result.status == .failed, step.onFailure == .abort {
                status = .failed
                break
            }
        }
        for skipped in session.steps.indices.dropFirst(results.count) {
            results.append(StepResult(index: skipped + 1, summary: session.steps[skipped].summary, status: .skipped, seconds: 0, message: nil))
        }
        var cleanup: [String] = []
        if status != .completed {
            // A new task: the cleanup must not inherit the cancellation that interrupted the steps.
            cleanup = await Task { [startedVM] in await self.cleanUp(startedVM: startedVM) }.value
        }
        let outcome = SessionOutcome(status: status, steps: results, cleanup: cleanup)
        report(.finished(outcome))
        return outcome
    }

    /// Returns the GPU to the host and, unless the session keeps the VM, brings it down; leaves a
    /// VM the session did not start (`startedVM` false) as it was.
    func cleanUp(startedVM: Bool) async -> [String] {
        var done: [String] = []
        func note(_ line: String) {
            done.append(line)
            report(.cleanup(line))
        }
        guard startedVM else {
            note("this session did not start \(session.vm): it is left as it was")
            return done
        }
        do {
            for line in try await machine.returnGPUs() { note(line) }
        } catch {
            note("returning the GPU failed: \(Self.describe(error)); run `vm gpu recover \(session.vm)`")
        }
        guard !session.keepRunning else {
            note("the VM is kept running (keep_running = true)")
            return done
        }
        do {
            let outcome = try await whileReportingCleanupWait("the VM to go down") { try await self.machine.down(timeout: .seconds(30)) }
            if outcome != .notRunning { note("VM down: \(outcome.rawValue)") }
        } catch {
            note("bringing the VM down failed: \(Self.describe(error))")
        }
        return done
    }

    /// Runs `body`, reporting `cleanupWaiting` every second until it returns.
    func whileReportingCleanupWait<Value: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let start = ContinuousClock.now
        let ticker = Task {
            while true {
                try await Task.sleep(for: .seconds(1))
                report(.cleanupWaiting(elapsed: start.duration(to: .now).seconds, what: what))
            }
        }
        defer { ticker.cancel() }
        return try await body()
    }

    /// Runs `body`, failing with a timeout error after the step's limit. A `until_stopped`
    /// wait that reaches its limit succeeds: the limit is the session's time limit.
    func withTimeout(_ step: SessionStep, _ body: @escaping @Sendable () async throws -> String?) async throws -> String? {
        try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(step.timeout))
                if case .wait(.stopRequest) = step.action { return "time limit of \(step.timeout) s reached" }
                throw SessionError.timedOut(seconds: step.timeout)
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    func perform(_ step: SessionStep, index: Int) async throws -> String? {
        switch step.action {
        case .up(let paused):
            let report = try await machine.up(paused: paused)
            return "pid \(report.pid.map(String.init) ?? "?"), \(report.qemuStatus)"
        case .down(let force):
            return try await machine.down(timeout: .seconds(max(1, step.timeout - 15)), force: force).rawValue
        case .gpuAttach(let gpu, let force):
            let report = try await machine.attach(gpu: gpu, force: force)
            return "\(report.devices.joined(separator: ", ")) in the guest"
        case .gpuDetach(let gpu):
            let report = try await machine.detach(gpu: gpu)
            return "\(report.devices.joined(separator: ", ")) back on the host"
        case .wait(let condition):
            return try await wait(for: condition, index: index)
        case .guestExec(let command, let output, let expectExit):
            guard let agent = services.guestAgent else { throw SessionError.agentMissing }
            let result = try await agent.exec(command, timeout: .seconds(step.timeout))
            if let output { try FileAccess.write(Array(result.standardOutput + result.standardError), to: output) }
            guard result.exitCode == expectExit else { throw SessionError.exitCode(result.exitCode, expected: expectExit) }
            return "exit \(result.exitCode)" + (output.map { ", output in \($0)" } ?? "")
        case .hostExec(let command, let output, let expectExit):
            let (code, data) = try await HostCommand.run(command)
            if let output { try FileAccess.write(Array(data), to: output) }
            guard code == expectExit else { throw SessionError.exitCode(code, expected: expectExit) }
            return "exit \(code)" + (output.map { ", output in \($0)" } ?? "")
        case .stageExtras(let driverDirectory):
            guard let stage = services.stageExtras else { throw SessionError.serviceMissing("extras staging") }
            return try await stage(driverDirectory)
        }
    }

    func wait(for condition: WaitCondition, index: Int) async throws -> String? {
        let started = ContinuousClock.now
        switch condition {
        case .event(let name):
            try requireRunning()
            try await machine.waitForEvent(named: name)
            return "\(name) at \(PrintfFormat.string("%.1f", (ContinuousClock.now - started).sessionSeconds)) s"
        default:
            break
        }
        if case .stopRequest = condition { try? FileManager.default.removeItem(atPath: Self.stopRequestFile(machine.paths)) }
        while true {
            let elapsed = (ContinuousClock.now - started).sessionSeconds
            switch condition {
            case .serial(let pattern):
                try requireRunning()
                if let line = try Self.serialLine(matching: pattern, in: machine.paths.serialLog) { return "matched: \(line)" }
            case .agent:
                try requireRunning()
                guard let agent = services.guestAgent else { throw SessionError.agentMissing }
                if (try? await agent.ping(timeout: .seconds(1))) != nil { return "the agent answered" }
            case .duration(let seconds):
                if elapsed >= Double(seconds) { return nil }
            case .stopRequest:
                try requireRunning()
                if FileManager.default.fileExists(atPath: Self.stopRequestFile(machine.paths)) {
                    try? FileManager.default.removeItem(atPath: Self.stopRequestFile(machine.paths))
                    return "stopped by `vm session stop`"
                }
            case .event:
                break
            }
            report(.waiting(index: index, elapsed: elapsed, what: condition.summary))
            try await Task.sleep(for: pollInterval)
        }
    }

    /// Fails the wait at once when QEMU is gone (crash, guest powered off, domain destroyed).
    func requireRunning() throws {
        guard machine.isRunning else { throw SessionError.vmGone }
    }

    /// The first line of the serial log matching `pattern`.
    static func serialLine(matching pattern: String, in file: String) throws -> String? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        let expression = try Regex(pattern)
        return text.split(whereSeparator: \.isNewline).lazy.map(String.init).first { $0.contains(expression) }
    }

    static func describe(_ error: any Error) -> String {
        if error is CancellationError { return "interrupted" }
        if case QMPError.cancelled = error { return "interrupted" }
        return "\(FileAccessError.presentable(error))"
    }
}

/// Why a session step failed.
public enum SessionError: Error, CustomStringConvertible, Equatable {
    case timedOut(seconds: Int)
    case vmGone
    case serviceMissing(String)
    case exitCode(Int32, expected: Int32)

    /// A guest-agent step in a session that has no agent to talk to.
    static let agentMissing = SessionError.serviceMissing(
        "the guest agent (set guest_agent = true)")

    public var description: String {
        switch self {
        case .timedOut(let seconds): return "did not finish within \(seconds) s"
        case .vmGone: return "the VM is not running (QEMU exited or crashed)"
        case .serviceMissing(let what): return "\(what) is not available for this VM"
        case .exitCode(let code, let expected): return "exited with \(code), expected \(expected)"
        }
    }
}

extension Duration {
    var sessionSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
