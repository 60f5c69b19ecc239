import FoundationEssentials
import Glibc
import Synchronization
import VMCore

/// A line on the terminal (standard error) that counts the seconds while a slow step runs, so
/// that a wait is never silent; nothing when standard error is not a terminal.
enum ProgressLine {
    /// Runs `body`; from its second second on, shows `text` with the seconds so far, then clears it.
    static func during<Result>(_ text: String, terminal: Bool = isatty(STDERR_FILENO) == 1,
                               _ body: () async throws -> Result) async rethrows -> Result {
        guard terminal else { return try await body() }
        let done = Mutex(false)
        let ticker = Task {
            let start = ContinuousClock.now
            while true {
                try? await Task.sleep(for: .seconds(1))
                let shown = done.withLock { done -> Bool in
                    guard !done else { return false }
                    StandardStream.error.write(line(text, seconds: (ContinuousClock.now - start).components.seconds))
                    return true
                }
                if !shown { return }
            }
        }
        defer {
            done.withLock { done in
                done = true
                StandardStream.error.write("\r\u{1B}[K")
            }
            ticker.cancel()
        }
        return try await body()
    }

    /// The progress line after `seconds`: drawn over the previous one.
    static func line(_ text: String, seconds: Int64) -> String {
        "\r\u{1B}[K\(text) (\(seconds) s)"
    }
}
