import CSpawn
import Foundation
import Testing
@testable import QEMU

/// Waiting for a process's end through pidfds (`vm up` while QEMU starts, an adopted QEMU).
struct ProcessEndWaitTests {
    /// A `sleep SECONDS` child that nobody reaps until the test does (a zombie once it ends).
    private static func sleeper(_ seconds: String) throws -> Int32 {
        let words: [String] = ["/bin/sleep", seconds]
        let argv = words.map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = (argv + [nil]).withUnsafeBufferPointer { vm_spawn_child("/bin/sleep", $0.baseAddress, environ, nil, 0, 1, 2, 0, &pid) }
        #expect(result == 0)
        if result != 0 { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        return pid
    }

    private static func reap(_ pid: Int32) {
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    @Test func anEndIsSeenEvenWhileTheProcessIsAnUnreapedZombie() async throws {
        let pid = try Self.sleeper("0.2")
        defer { Self.reap(pid) }
        let started = ContinuousClock.now
        #expect(await ProcessEndWait.oneEnds([pid], within: .seconds(30)))
        #expect(ContinuousClock.now - started >= .milliseconds(150), "it waited for the end")
        #expect(!SystemProcessTable().isAlive(pid))
    }

    @Test func theFirstOfSeveralToEndIsEnough() async throws {
        let long = try Self.sleeper("30")
        let short = try Self.sleeper("0.1")
        defer {
            kill(long, SIGKILL)
            Self.reap(long)
            Self.reap(short)
        }
        #expect(await ProcessEndWait.oneEnds([long, short], within: .seconds(20)))
        #expect(SystemProcessTable().isAlive(long))
    }

    @Test func theLimitAndCancellationEndTheWaitWithoutAnEnd() async throws {
        let pid = try Self.sleeper("30")
        defer {
            kill(pid, SIGKILL)
            Self.reap(pid)
        }
        #expect(!(await ProcessEndWait.oneEnds([pid], within: .milliseconds(50))))
        let wait = Task { await ProcessEndWait.oneEnds([pid]) }
        try await Task.sleep(for: .milliseconds(50))
        let cancelled = ContinuousClock.now
        wait.cancel()
        #expect(!(await wait.value))
        #expect(ContinuousClock.now - cancelled < .seconds(5), "cancelling wakes the waiting thread")
    }

    @Test func aProcessThatIsGoneCountsAsEnded() async throws {
        let pid = try Self.sleeper("0")
        Self.reap(pid)
        #expect(await ProcessEndWait.oneEnds([pid], within: .seconds(1)))
    }
}
