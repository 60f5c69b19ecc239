import FoundationEssentials
import Glibc
import Sessions
import Synchronization
import VMCore

/// Shows session progress: `[n/N] step` lines with elapsed time and a spinner on waits on a
/// terminal, one JSON object per event with `--json` (a wait reports when it starts and then
/// every ``jsonWaitingInterval`` seconds), and a summary table at the end.
final class SessionPrinter: Sendable {
    let json: Bool
    let terminal: Bool

    /// Seconds between two `waiting` JSON events of one step.
    static let jsonWaitingInterval = 5.0

    private struct Progress {
        var total = 0
        var spinnerFrame = 0
        /// The step and interval number of the last `waiting` JSON event.
        var lastWaiting: (step: Int, interval: Int)?
        var interrupted = false
    }

    private let progress = Mutex(Progress())

    init(json: Bool, terminal: Bool) {
        self.json = json
        self.terminal = terminal
    }

    func show(_ event: SessionEvent) {
        if let text = render(event) { emit(text) }
    }

    /// The text `event` prints, or nil when it prints nothing.
    func render(_ event: SessionEvent) -> String? {
        if json { return shouldEmitJSON(event) ? event.jsonLine + "\n" : nil }
        switch event {
        case .started(let vm, let steps):
            progress.withLock { $0.total = steps }
            return "session on \(vm): \(steps) steps\n"
        case .stepStarted(let index, let total, let summary):
            progress.withLock { $0.total = total }
            return "\(label(index)) \(summary)" + (terminal ? "" : "\n")
        case .waiting(let index, let elapsed, let what):
            guard terminal else { return nil }
            let frame = progress.withLock { progress -> Character in
                progress.spinnerFrame += 1
                return Array("|/-\\")[progress.spinnerFrame % 4]
            }
            return "\r\u{1B}[K\(label(index)) \(frame) waiting for \(what) (\(PrintfFormat.string("%.0f", elapsed)) s so far)"
        case .stepFinished(let result):
            let text = "\(result.status.rawValue) (\(PrintfFormat.string("%.1f", result.seconds)) s)" + (result.message.map { ": \($0)" } ?? "")
            return terminal ? "\r\u{1B}[K\(label(result.index)) \(result.summary): \(text)\n" : "    \(text)\n"
        case .cleanup(let line):
            return (terminal ? "\r\u{1B}[K" : "") + "cleanup: \(line)\n"
        case .cleanupWaiting(let elapsed, let what):
            guard terminal else { return nil }
            return "\r\u{1B}[Kcleanup: waiting for \(what) (\(PrintfFormat.string("%.0f", elapsed)) s so far)"
        case .finished:
            return nil
        }
    }

    /// Says at once, on the first Ctrl-C or SIGTERM, what the cleanup that follows does (it can
    /// take until the guest powers off); `--json` gets the cleanup events.
    func interrupted(keepRunning: Bool) {
        if let text = interruptionNotice(keepRunning: keepRunning) { emit(text) }
    }

    /// The notice of the first interruption; nil afterwards and with `--json`.
    func interruptionNotice(keepRunning: Bool) -> String? {
        guard !json, progress.withLock({ progress in
            defer { progress.interrupted = true }
            return !progress.interrupted
        }) else { return nil }
        let what = keepRunning ? "a hot-plugged GPU goes back to the host; the VM keeps running"
            : "a hot-plugged GPU goes back to the host, then the VM comes down (the guest gets time to power off)"
        return (terminal ? "\r\u{1B}[K" : "") + "interrupted: cleaning up: \(what)\n"
    }

    /// `[n/N]`, the same on every line of a step.
    private func label(_ index: Int) -> String {
        "[\(index)/\(progress.withLock { $0.total })]"
    }

    /// Every event but the waits: `waiting` is kept to its first tick and one per interval (the
    /// cleanup's, numbered 0, too).
    private func shouldEmitJSON(_ event: SessionEvent) -> Bool {
        let index: Int, elapsed: Double
        switch event {
        case let .waiting(step, seconds, _): (index, elapsed) = (step, seconds)
        case let .cleanupWaiting(seconds, _): (index, elapsed) = (0, seconds)
        default: return true
        }
        let interval = Int(elapsed / Self.jsonWaitingInterval)
        return progress.withLock { progress in
            if let last = progress.lastWaiting, last.step == index, last.interval == interval { return false }
            progress.lastWaiting = (index, interval)
            return true
        }
    }

    /// The table after the run: step number, what it did, result and seconds, under aligned headers.
    static func summary(_ outcome: SessionOutcome) -> String {
        let width = max(4, outcome.steps.map(\.summary.count).max() ?? 0)
        func row(_ number: String, _ step: String, _ result: String, _ seconds: String) -> String {
            number.column(width: 4) + step.column(width: width)
                + "  " + result.column(width: 8)
                + String(repeating: " ", count: max(0, 8 - seconds.count)) + seconds + "\n"
        }
        var text = "\n" + row("#", "STEP", "RESULT", "SECONDS")
        for step in outcome.steps {
            text += row("\(step.index)", step.summary, step.status.rawValue, PrintfFormat.string("%.1f", step.seconds))
        }
        return text + "session \(outcome.status.rawValue)\n"
    }

    func summary(_ outcome: SessionOutcome) {
        emit(Self.summary(outcome))
    }

    private func emit(_ text: String) {
        StandardStream.output.write(text)
    }
}
