/// Splits a hand-over's time into waiting on the hypervisor and the guest (QMP or libvirt round
/// trips, unplug completion) and everything else, our own work.
public struct SwapClock: Sendable {
    let started = ContinuousClock.now
    /// Time spent inside ``waiting(_:)`` (or added by the caller for its own sleeps).
    public var waited: Duration = .zero

    public init() {}

    /// Runs `body`, counting its time as waiting.
    public mutating func waiting<T>(_ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer { waited += ContinuousClock.now - start }
        return try body()
    }

    /// Runs `body`, counting its time as waiting.
    public mutating func waiting<T>(_ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        defer { waited += ContinuousClock.now - start }
        return try await body()
    }

    /// The report of a hand-over that ends now.
    public func report(gpu: Int, devices: [String], steps: [String]) -> SwapReport {
        let total = ContinuousClock.now - started
        return SwapReport(gpu: gpu, devices: devices, ownWorkMilliseconds: (total - waited).milliseconds,
                          waitingMilliseconds: waited.milliseconds, steps: steps)
    }
}
