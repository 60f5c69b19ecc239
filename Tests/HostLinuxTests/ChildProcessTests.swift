import Foundation
import Testing
@testable import HostLinux

/// Real programs started as children, their exits collected by `ChildProcess` itself.
@Suite struct ChildProcessTests {
    @Test func exitStatusAndSignalAreReported() async throws {
        let failing = try ChildProcess(["/bin/false"])
        #expect(await failing.awaitExit(within: .seconds(30)) == .exited(1))
        #expect(!failing.isRunning)

        let sleeper = try ChildProcess(["/bin/sleep", "60"])
        #expect(sleeper.isRunning)
        #expect(sleeper.stop(grace: .seconds(10)) == .signaled(SIGTERM), "default signal handling: SIGTERM ends sleep")
        #expect(sleeper.exit?.shellStatus == 128 + SIGTERM)
    }

    @Test func aMissingProgramIsAnErrorWithTheErrno() {
        #expect(throws: ChildProcessError(arguments: ["/nonexistent/program", "x"], errno: ENOENT)) {
            try ChildProcess(["/nonexistent/program", "x"])
        }
    }

    @Test func runnerCollectsBothStreamsAndMoreThanAPipeHolds() throws {
        let runner = ProcessCommandRunner()
        let big = try runner.run(["head", "-c", "1000000", "/dev/zero"], timeout: .seconds(60))
        #expect(big.status == 0 && big.standardOutput.utf8.count == 1_000_000)
        let missing = try runner.run(["ls", "/nonexistent-\(getpid())"], timeout: .seconds(60))
        #expect(missing.status == 2 && missing.standardOutput.isEmpty && missing.standardError.contains("nonexistent"))
    }

    @Test func runnerKillsAProgramThatOutlivesItsTimeout() throws {
        let started = ContinuousClock.now
        #expect(throws: CommandRunnerError.timedOut(["sleep", "60"])) {
            try ProcessCommandRunner().run(["sleep", "60"], timeout: .milliseconds(300))
        }
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    /// The case that hung CI with Foundation's `Process`: a long-lived child that closes the
    /// descriptors it inherited (as sshd does) held Foundation's one watcher thread, and no other
    /// child's exit was ever noticed. Here each child's exit is collected on its own.
    @Test func aChildThatClosesItsDescriptorsDelaysNoOtherWait() throws {
        let daemonLike = try ChildProcess(["/bin/sh", "-c", "exec 0<&- 1>&- 2>&-; exec sleep 60"])
        defer { daemonLike.stop() }
        let result = try ProcessCommandRunner().run(["echo", "done"], timeout: .seconds(30))
        #expect(result.status == 0 && result.standardOutput == "done\n")
        #expect(daemonLike.isRunning)
    }

    @Test func environmentAndDirectoryAreTheGivenOnes() throws {
        let environment = try output { try ChildProcess(["/usr/bin/env"], environment: ["ONLY": "this"], standardOutput: .descriptor($0)) }
        #expect(environment == "ONLY=this\n")
        let directory = try output { try ChildProcess(["/bin/pwd"], directory: "/usr/share", standardOutput: .descriptor($0)) }
        #expect(directory == "/usr/share\n")
    }

    /// What the child `start(outputDescriptor)` starts writes to its standard output.
    private func output(_ start: (Int32) throws -> ChildProcess) throws -> String {
        let pipe = Pipe()
        let child = try start(pipe.fileHandleForWriting.fileDescriptor)
        try pipe.fileHandleForWriting.close()
        #expect(child.waitForExit(within: .seconds(30)) == .exited(0))
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}
