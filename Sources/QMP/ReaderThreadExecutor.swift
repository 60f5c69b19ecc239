import Glibc
import Synchronization

/// A task executor that runs jobs on a ``JSONLineConnection``'s reader thread, between reads.
///
/// A task that prefers it (`Task(executorPreference: client.executor) { ... }`) resumes from a
/// reply on the very thread that read the reply, so a call costs one thread wake-up instead of
/// two. Jobs must not block: while they run, the connection does not read. Once the reader thread
/// has exited, jobs go to the global concurrent executor.
public final class ReaderThreadExecutor: TaskExecutor, Sendable {
    private struct State {
        var jobs: [UnownedJob] = []
        var readerThread: pthread_t?
        var finished = false
    }

    private let state = Mutex(State())
    private let wake: @Sendable () -> Void

    init(wake: @escaping @Sendable () -> Void) {
        self.wake = wake
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let outcome = state.withLock { state -> (forward: Bool, poke: Bool) in
            if state.finished { return (true, false) }
            state.jobs.append(unowned)
            let onReader = state.readerThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
            return (false, !onReader)
        }
        if outcome.forward {
            globalConcurrentExecutor.enqueue(ExecutorJob(unowned))
        } else if outcome.poke {
            wake()
        }
    }

    /// Called once by the reader thread when it starts.
    func attachReaderThread() {
        state.withLock { $0.readerThread = pthread_self() }
    }

    /// Whether jobs are waiting (the reader then polls without blocking).
    var hasJobs: Bool { state.withLock { !$0.jobs.isEmpty } }

    /// Runs queued jobs, including those they enqueue, until none is left. With `finish`, later
    /// jobs go to the global executor.
    func drain(finish: Bool = false) {
        while true {
            let jobs = state.withLock { state -> [UnownedJob] in
                if state.jobs.isEmpty {
                    if finish { state.finished = true }
                    return []
                }
                defer { state.jobs.removeAll(keepingCapacity: true) }
                return state.jobs
            }
            if jobs.isEmpty { return }
            for job in jobs { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }
}
