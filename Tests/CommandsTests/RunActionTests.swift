import Foundation
import GuestSupport
import Testing
@testable import Commands

/// `vm pause`, `vm resume` and `vm reboot` on the QEMU backend, against the test-bed guest; `vm rm`
/// refuses the running VM.
@Test(.timeLimit(.minutes(4)))
func pauseResumeAndRebootARunningGuest() async throws {
    let bed = try await TestBed.prepare()
    let scratch = try Scratch()
    let loaded = try scratch.define("ctl", bed.definition())
    #expect(try await VMRun.run(["up", "ctl"], in: scratch).status == .exited(0))
    try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")

    let pause = try await VMRun.run(["pause", "ctl"], in: scratch)
    #expect(pause.status == .exited(0), "\(pause.error)")
    #expect(try await VMRun.run(["status", "ctl"], in: scratch).output.contains("QEMU status:  paused"))
    let resume = try await VMRun.run(["resume", "ctl", "--json"], in: scratch)
    #expect(resume.output.contains(#""action" : "resume""#), "\(resume.output)\(resume.error)")
    #expect(try await VMRun.run(["status", "ctl"], in: scratch).output.contains("QEMU status:  running"))

    let reboot = try await VMRun.run(["reboot", "ctl"], in: scratch)
    #expect(reboot.status == .exited(0), "\(reboot.error)")
    try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY", count: 2)

    let rm = try await VMRun.run(["rm", "ctl", "--yes"], in: scratch)
    #expect(rm.status == .exited(1) && rm.error.contains("ctl is running on qemu; `vm down ctl` stops it"), "\(rm.error)")
    #expect(FileManager.default.fileExists(atPath: loaded.file))

    #expect(try await VMRun.run(["down", "ctl", "--force"], in: scratch).status == .exited(3))
}

/// `vm down` on a terminal counts the seconds of the wait for the guest (one that ignores the
/// power button), then prints its outcome on a cleared line; without a terminal nothing is drawn.
@Test(.timeLimit(.minutes(4)))
func vmDownShowsItsWaitOnATerminal() async throws {
    let bed = try await TestBed.prepare()
    let scratch = try Scratch()
    let loaded = try scratch.define("deaf", bed.definition(extraCmdline: "vmtest.acpi=off"))
    for terminal in [true, false] {
        #expect(try await VMRun.run(["up", "deaf"], in: scratch).status == .exited(0))
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
        let arguments = ["down", "deaf", "--timeout", "2"]
        let down = try await terminal ? VMRun.onTerminal(arguments, in: scratch) : VMRun.run(arguments, in: scratch)
        let text = down.output + down.error
        #expect(text.contains("QEMU ended with QMP quit"), "\(text)")
        #expect(text.contains("stopping deaf: the guest has up to 2 s to power off (1 s)") == terminal, "\(text)")
        #expect(!text.contains("notice"), "no logger lines: \(text)")
    }
}

@Test func theProgressLineRedrawsItself() {
    #expect(ProgressLine.line("stopping w", seconds: 4) == "\r\u{1B}[Kstopping w (4 s)")
}
