import Synchronization
import Testing
@testable import QEMU

/// The first of two waits decides; the other is cancelled, and its value is discarded.
@Test func firstToFinishDecidesAndTheOtherIsDiscarded() async {
    let discarded = Mutex<[Int]>([])
    let winner = await Race.first({ 1 }, {
        try? await Task.sleep(for: .seconds(3600))
        return 2
    }, cancelled: 0, discard: { value in discarded.withLock { $0.append(value) } })
    #expect(winner == 1)
    // The loser was cancelled and not awaited (an hour's sleep would have held the race up);
    // its value, once it comes, is discarded.
    while discarded.withLock({ $0 }).isEmpty { await Task.yield() }
    #expect(discarded.withLock { $0 } == [2])
}

/// A cancelled caller gets `cancelled`, and what both waits give afterwards is discarded.
@Test func cancelledCallerGetsCancelledAndLateValuesAreDiscarded() async {
    let discarded = Mutex<[Int]>([])
    let started = Mutex(0)
    let slow = { @Sendable () async -> Int in
        started.withLock { $0 += 1 }
        try? await Task.sleep(for: .seconds(3600))
        return 7
    }
    let race = Task { await Race.first(slow, slow, cancelled: -1, discard: { value in discarded.withLock { $0.append(value) } }) }
    while started.withLock({ $0 }) < 2 { await Task.yield() }
    race.cancel()
    #expect(await race.value == -1)
    while discarded.withLock({ $0 }).count < 2 { await Task.yield() }
    #expect(discarded.withLock { $0 } == [7, 7])
}
