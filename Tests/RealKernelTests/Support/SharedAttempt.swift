/// Work done once for every caller: the first call starts it, later calls wait for the same result (a failure is not
/// retried by the next caller). A waiter cancelled (a test's time limit) cancels the work: TestCommand then kills its
/// child.
actor SharedAttempt<Value: Sendable> {
    private let work: @Sendable () async throws -> Value
    private var attempt: Task<Value, any Error>?

    init(_ work: @escaping @Sendable () async throws -> Value) {
        self.work = work
    }

    /// The work's result, started by the first call.
    func value() async throws -> Value {
        let task = attempt ?? Task { [work] in try await work() }
        attempt = task
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }
}
