import Testing
@testable import Commands
@testable import Sessions

@Test func theSummaryTableHeadersSitOverTheirColumns() throws {
    let outcome = SessionOutcome(status: .completed, steps: [
        StepResult(index: 1, summary: "up", status: .ok, seconds: 0.4),
        StepResult(index: 2, summary: "wait for serial ^VMTEST-READY", status: .failed, seconds: 112.25),
    ], cleanup: [])
    let lines = SessionPrinter.summary(outcome).split(separator: "\n").map(String.init)
    let header = try #require(lines.first)
    let resultColumn = try #require(header.range(of: "RESULT")).lowerBound.utf16Offset(in: header)
    #expect(header.hasPrefix("#   STEP"))
    #expect(lines[1].dropFirst(resultColumn).hasPrefix("ok"), "\(lines)")
    #expect(lines[2].dropFirst(resultColumn).hasPrefix("failed"), "\(lines)")
    #expect(lines[1].dropFirst(4).hasPrefix("up"))
    #expect(header.count == lines[1].count && header.count == lines[2].count && lines[2].hasSuffix("112.2"), "\(lines)")
    #expect(lines.last == "session completed")
}

@Test func liveLinesNumberStepsTheSameWay() {
    let printer = SessionPrinter(json: false, terminal: true)
    _ = printer.render(.started(vm: "w", steps: 6))
    #expect(printer.render(.stepStarted(index: 3, total: 6, summary: "wait for 6 s")) == "[3/6] wait for 6 s")
    let waiting = printer.render(.waiting(index: 3, elapsed: 1.2, what: "6 s")) ?? ""
    #expect(waiting.contains("[3/6] ") && waiting.hasSuffix("waiting for 6 s (1 s so far)"), "\(waiting)")
    let done = printer.render(.stepFinished(StepResult(index: 3, summary: "wait for 6 s", status: .ok, seconds: 6)))
    #expect(done == "\r\u{1B}[K[3/6] wait for 6 s: ok (6.0 s)\n")
}

@Test func jsonWaitingEventsComeEveryFewSecondsNotEveryTick() {
    let printer = SessionPrinter(json: true, terminal: false)
    let ticks = stride(from: 0.0, through: 12.0, by: 0.2).map { SessionEvent.waiting(index: 2, elapsed: $0, what: "login") }
    let emitted = ticks.compactMap(printer.render)
    #expect(emitted.count == 3, "one at the start, at 5 s and at 10 s: \(emitted)")
    #expect(printer.render(.waiting(index: 3, elapsed: 0.2, what: "agent")) != nil, "a new step's wait reports at once")
    #expect(printer.render(.stepStarted(index: 4, total: 4, summary: "down"))?.contains("step-started") == true)
}

@Test func anInterruptionSaysOnceWhatTheCleanupDoes() {
    let printer = SessionPrinter(json: false, terminal: false)
    #expect(printer.interruptionNotice(keepRunning: false) == "interrupted: cleaning up: a hot-plugged GPU goes back to the host, then the VM comes down (the guest gets time to power off)\n")
    #expect(printer.interruptionNotice(keepRunning: false) == nil, "a second Ctrl-C adds nothing")
    #expect(SessionPrinter(json: false, terminal: false).interruptionNotice(keepRunning: true)?.contains("the VM keeps running") == true)
    #expect(SessionPrinter(json: true, terminal: false).interruptionNotice(keepRunning: false) == nil)
}

/// The cleanup's wait counts its seconds on a terminal, over which its next line is drawn;
/// without a terminal nothing is drawn, and JSON gets a `cleanup-waiting` event every few seconds.
@Test func theCleanupsWaitIsAProgressLine() {
    let printer = SessionPrinter(json: false, terminal: true)
    #expect(printer.render(.cleanupWaiting(elapsed: 3.4, what: "the VM to go down")) == "\r\u{1B}[Kcleanup: waiting for the VM to go down (3 s so far)")
    #expect(printer.render(.cleanup("VM down: powered-off")) == "\r\u{1B}[Kcleanup: VM down: powered-off\n")
    let plain = SessionPrinter(json: false, terminal: false)
    #expect(plain.render(.cleanupWaiting(elapsed: 3, what: "the VM to go down")) == nil)
    #expect(plain.render(.cleanup("VM down: powered-off")) == "cleanup: VM down: powered-off\n")
    let json = SessionPrinter(json: true, terminal: false)
    let emitted = stride(from: 1.0, through: 11.0, by: 1.0).compactMap { json.render(.cleanupWaiting(elapsed: $0, what: "the VM to go down")) }
    #expect(emitted.count == 3 && emitted[0].contains("\"event\":\"cleanup-waiting\""), "\(emitted)")
}
