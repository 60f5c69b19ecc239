import Synchronization

/// Two concurrent waits, of which the first to finish decides.
enum Race {
    /// The value of whichever of `first` and `second` finishes first. The other is cancelled and
    /// not awaited (a task group would wait for it, and a wait blocked in the kernel takes a moment
    /// to notice); its value, should it still come, goes to `discard`. `cancelled` when the calling
    /// task is cancelled before either finishes.
    static func first<Value: Sendable>(_ first: @escaping @Sendable () async -> Value,
                                       _ second: @escaping @Sendable () async -> Value,
                                       cancelled: Value,
                                       discard: @escaping @Sendable (Value) -> Void = { _ in }) async -> Value {
        let (stream, continuation) = AsyncStream<Value>.makeStream()
        let decided = Mutex(false)
        let finish = { @Sendable (value: Value) in
            let late = decided.withLock { decided in
                defer { decided = true }
                return decided
            }
            if late { discard(value) } else { continuation.yield(value) }
        }
        let tasks = [Task { finish(await first()) }, Task { finish(await second()) }]
        var results = stream.makeAsyncIterator()
        // nil: this task was cancelled first. Whatever finishes from now on is discarded.
        let winner = await results.next()
        if winner == nil { finish(cancelled) }
        continuation.finish()
        tasks.forEach { $0.cancel() }
        return winner ?? cancelled
    }
}
