import Foundation
import GuestSupport
import HostLinux
import Testing
@testable import Commands

/// A `vm` process whose standard input the test types into and whose output it reads.
final class TypedProcess: @unchecked Sendable {
    private let process: ChildProcess
    private let input = Pipe()
    private let output = Pipe()
    private let lock = NSLock()
    private var received = ""

    init(_ executable: String, _ arguments: [String], scratch: Scratch) throws {
        let environment = ProcessInfo.processInfo.environment.merging(
            ["VM_HOME": "\(scratch.root)/d", "VM_RUNTIME_DIR": "\(scratch.root)/r", "VM_STATE_DIR": "\(scratch.root)/s"]) { $1 }
        process = try ChildProcess([executable] + arguments, environment: environment,
                                   standardInput: .descriptor(input.fileHandleForReading.fileDescriptor),
                                   standardOutput: .descriptor(output.fileHandleForWriting.fileDescriptor),
                                   standardError: .descriptor(output.fileHandleForWriting.fileDescriptor))
        // The child's ends are the child's alone, so that its output ends when it does.
        try input.fileHandleForReading.close()
        try output.fileHandleForWriting.close()
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.received += String(decoding: data, as: UTF8.self) }
        }
    }

    var text: String { lock.withLock { received } }

    func type(_ bytes: [UInt8]) {
        input.fileHandleForWriting.write(Data(bytes))
    }

    /// Waits until the output holds `marker`; false when `timeout` passed first.
    func waitFor(_ marker: String, timeout: Duration) async throws -> Bool {
        try await waitUntil(timeout: timeout) { $0.contains(marker) }
    }

    /// Waits until the line holding the last `marker` has ended (the rest of a line may come in a
    /// later read than its start); false when `timeout` passed first.
    func waitForLineEnd(after marker: String, timeout: Duration) async throws -> Bool {
        try await waitUntil(timeout: timeout) { text in
            guard let range = text.range(of: marker, options: .backwards) else { return false }
            return text[range.upperBound...].contains("\n")
        }
    }

    /// Looks at the output every 50 ms until `holds` says yes; false when `timeout` passed first.
    private func waitUntil(timeout: Duration, _ holds: (String) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            if holds(text) { return true }
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The exit status, once the process ended within `timeout` (else it is killed: nil).
    func exitStatus(timeout: Duration) async throws -> Int32? {
        guard let exit = await process.awaitExit(within: timeout) else {
            process.stop()
            return nil
        }
        return exit.shellStatus
    }
}

@Test func ctrlRightBracketDetaches() {
    #expect(ConsoleCommand.split([0x61, 0x62][...]) == ([0x61, 0x62][...], false))
    let (forward, detach) = ConsoleCommand.split([0x61, 0x1d, 0x62][...])
    #expect(forward == [0x61][...] && detach)
    #expect(ConsoleCommand.split([0x1d][...]).forward.isEmpty)
}

@Test func lastLinesOfALog() {
    let text = Data("a\nb\nc\n".utf8)
    #expect(LogCommand.lastLines(of: text, count: 2) == Data("b\nc\n".utf8))
    #expect(LogCommand.lastLines(of: Data("a\nb\nc".utf8), count: 1) == Data("c".utf8))
    #expect(LogCommand.lastLines(of: text, count: 9) == text)
    #expect(LogCommand.lastLines(of: text, count: 0).isEmpty)
    #expect(LogCommand.lastLines(of: Data(), count: 3).isEmpty)
}

/// `vm console` on the test-bed guest's shell (vmtest.shell=1): a typed command runs in the
/// guest, its output comes back, Ctrl-] detaches and the guest keeps running.
@Test(.timeLimit(.minutes(4)))
func consoleTypesIntoTheGuestAndDetaches() async throws {
    let bed = try await TestBed.prepare()
    let scratch = try Scratch()
    let loaded = try scratch.define("con", bed.definition(extraCmdline: "vmtest.shell=1"))
    let up = try await VMRun.run(["up", "con"], in: scratch)
    #expect(up.status == .exited(0), "\(up.error)")
    try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")

    let vm = try BuiltExecutable.path("vm")
    let console = try TypedProcess(vm, ["console", "con"], scratch: scratch)
    #expect(try await console.waitFor("Ctrl-] detaches", timeout: .seconds(30)), "\(console.text)")
    console.type(Array("echo typed-$((6*7))\n".utf8))
    #expect(try await console.waitFor("typed-42", timeout: .seconds(60)), "the guest's shell answers: \(console.text)")
    console.type([ConsoleCommand.detachKey])
    #expect(try await console.exitStatus(timeout: .seconds(30)) == 0, "\(console.text)")
    // The output is read as it comes: its last line may arrive after the exit is seen.
    #expect(try await console.waitFor("detached; con keeps running", timeout: .seconds(10)), "\(console.text)")

    let status = try await VMRun.run(["status", "con"], in: scratch)
    #expect(status.output.hasPrefix("con: running"), "\(status.output)\(status.error)")
    let again = try TypedProcess(vm, ["console", "con"], scratch: scratch)
    again.type(Array("echo again-$((1+1))\n".utf8))
    #expect(try await again.waitFor("again-2", timeout: .seconds(60)), "a second attach works: \(again.text)")
    again.type([ConsoleCommand.detachKey])
    #expect(try await again.exitStatus(timeout: .seconds(30)) == 0)

    let down = try await VMRun.run(["down", "con", "--force"], in: scratch)
    #expect(down.status == .exited(3), "\(down.output)\(down.error)")
}
