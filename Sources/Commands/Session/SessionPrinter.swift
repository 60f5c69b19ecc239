import Foundation
import Sessions
import Synchronization

/// Shows session progress: `[n/N] step` lines with elapsed time and a spinner on waits on a
/// terminal, one JSON object per event with `--json`, and a summary table at the end.
final class SessionPrinter: Sendable {
    let json: Bool
    let terminal: Bool
    private let spinnerFrame = Mutex(0)

    init(json: Bool, terminal: Bool) {
        self.json = json
        self.terminal = terminal
    }

    func show(_ event: SessionEvent) {
        if json { return emit(event.jsonLine + "\n") }
        switch event {
        case .started(let vm, let steps):
            emit("session on \(vm): \(steps) steps\n")
        case .stepStarted(let index, let total, let summary):
            emit("[\(index)/\(total)] \(summary)" + (terminal ? "" : "\n"))
        case .waiting(let index, let elapsed, let what):
            guard terminal else { return }
            let frame = spinnerFrame.withLock { frame -> Character in
                frame += 1
                return Array("|/-\\")[frame % 4]
            }
            emit("\r\u{1B}[K[\(index)] \(frame) waiting for \(what) \(String(format: "%.0f", elapsed)) s")
        case .stepFinished(let result):
            let text = "\(result.status.rawValue) (\(String(format: "%.1f", result.seconds)) s)" + (result.message.map { ": \($0)" } ?? "")
            emit(terminal ? "\r\u{1B}[K[\(result.index)] \(result.summary): \(text)\n" : "    \(text)\n")
        case .cleanup(let line):
            emit("cleanup: \(line)\n")
        case .finished:
            break
        }
    }

    func summary(_ outcome: SessionOutcome) {
        let width = max(4, outcome.steps.map(\.summary.count).max() ?? 0)
        var text = "\n" + "STEP".padding(toLength: width + 4, withPad: " ", startingAt: 0) + "RESULT    SECONDS\n"
        for step in outcome.steps {
            text += "\(step.index)".padding(toLength: 4, withPad: " ", startingAt: 0)
                + step.summary.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                + step.status.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                + String(format: "%8.1f", step.seconds) + "\n"
        }
        text += "session \(outcome.status.rawValue)\n"
        emit(text)
    }

    private func emit(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
