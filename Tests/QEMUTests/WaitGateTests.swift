import Testing
@testable import QEMU

/// The gate that holds the supervisor's early clients until QEMU's monitor answers.
struct WaitGateTests {
    @Test func waitingTasksGetTheValueOnceTheGateOpens() async {
        let gate = WaitGate<String>()
        let waiting = (0..<3).map { _ in Task { await gate.value() } }
        try? await Task.sleep(for: .milliseconds(20))
        gate.open("monitor")
        for task in waiting { #expect(await task.value == "monitor") }
        #expect(await gate.value() == "monitor", "a task that comes later gets it at once")
    }

    @Test func aClosedGateGivesNothingAndStaysClosed() async {
        let gate = WaitGate<String>()
        let waiting = Task { await gate.value() }
        try? await Task.sleep(for: .milliseconds(20))
        gate.close()
        #expect(await waiting.value == nil)
        gate.open("too late")
        #expect(await gate.value() == nil, "a gate settles once")
    }
}
