/// Waiting on event streams with a deadline.
enum QMPEventWait {
    /// The first event of `stream`, or ``QMPError/timeout(command:seconds:)`` after `timeout`, or
    /// ``QMPError/closed`` when the stream finishes first.
    static func first(
        in stream: AsyncStream<QMPEvent>, timeout: Duration, waitingFor what: String
    ) async throws(QMPError) -> QMPEvent {
        try await consume(stream, timeout: timeout, waitingFor: what) { event throws(QMPError) in event }
    }

    /// Feeds events to `handle` until it returns a value (done), throws, the stream ends
    /// (``QMPError/closed``) or `timeout` passes.
    static func consume<Value: Sendable>(
        _ stream: AsyncStream<QMPEvent>, timeout: Duration, waitingFor what: String,
        _ handle: @escaping @Sendable (QMPEvent) throws(QMPError) -> Value?
    ) async throws(QMPError) -> Value {
        let outcome: Result<Value, QMPError> = await withTaskGroup(of: Result<Value, QMPError>?.self) { group in
            group.addTask {
                for await event in stream {
                    do throws(QMPError) {
                        if let value = try handle(event) { return .success(value) }
                    } catch {
                        return .failure(error)
                    }
                }
                return Task.isCancelled ? nil : .failure(.closed)
            }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                } catch {
                    return nil
                }
                return .failure(.timeout(command: what, seconds: timeout.seconds))
            }
            var first: Result<Value, QMPError>?
            while first == nil, let next = await group.next() {
                first = next
            }
            group.cancelAll()
            return first ?? .failure(.cancelled(command: what))
        }
        return try outcome.get()
    }
}
