import Synchronization

/// Two concurrent waits, of which the first to finish decides.
enum Race {
    /// The value of whichever of `first` and `second` finishes first. The other is cancelled and
    /// not awaited (a task group would wait for it, and a wait blocked in the kernel takes a moment
    /// to notice); its value, should it still come, goes to `discard`, as does every value that
    /// comes after the calling task was cancelled, which gets `cancelled`.
    static func first<Value: Sendable>(_ first: @escaping @Sendable () async -> Value,
                                       _ second: @escaping @Sendable () async -> Value,
                                       cancelled: Value,
                                       discard: @escaping @Sendable (Value) -> Void = { _ in }) async -> Value {
        let contest = Contest<Value>(discard: discard)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                guard contest.await(with: continuation, orResume: cancelled) else { return }
                contest.run([Task { contest.decide(await first()) }, Task { contest.decide(await second()) }])
            }
        } onCancel: {
            contest.callOff(cancelled)
        }
    }
}

/// One race: the waiter, the racing tasks, and whether it is decided.
private final class Contest<Value: Sendable>: Sendable {
    private struct State {
        var decided = false
        var waiter: CheckedContinuation<Value, Never>?
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let discard: @Sendable (Value) -> Void

    init(discard: @escaping @Sendable (Value) -> Void) {
        self.discard = discard
    }

    /// Takes the waiter; false, with the waiter resumed with `cancelled`, when the race was called off first.
    func await(with waiter: CheckedContinuation<Value, Never>, orResume cancelled: Value) -> Bool {
        let open = state.withLock { state in
            if !state.decided { state.waiter = waiter }
            return !state.decided
        }
        if !open { waiter.resume(returning: cancelled) }
        return open
    }

    /// Keeps the racing tasks, to cancel once the race is decided (at once when it already is).
    func run(_ tasks: [Task<Void, Never>]) {
        let decided = state.withLock { state in
            if !state.decided { state.tasks = tasks }
            return state.decided
        }
        if decided { tasks.forEach { $0.cancel() } }
    }

    /// A racer's value: the first one goes to the waiter, a later one to `discard`.
    func decide(_ value: Value) {
        if !settle(value) { discard(value) }
    }

    /// The caller was cancelled: the waiter gets `cancelled` unless the race is decided.
    func callOff(_ cancelled: Value) {
        settle(cancelled)
    }

    /// Gives `value` to the waiter and cancels the racing tasks; false when the race was decided before.
    @discardableResult
    private func settle(_ value: Value) -> Bool {
        let won = state.withLock { state -> (waiter: CheckedContinuation<Value, Never>?, tasks: [Task<Void, Never>])? in
            guard !state.decided else { return nil }
            state.decided = true
            defer { state.waiter = nil; state.tasks = [] }
            return (state.waiter, state.tasks)
        }
        guard let won else { return false }
        won.waiter?.resume(returning: value)
        won.tasks.forEach { $0.cancel() }
        return true
    }
}
