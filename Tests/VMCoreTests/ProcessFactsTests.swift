import Glibc
import Testing
import VMCore

@Test func environmentIsThisProcesssOwn() throws {
    let path = try #require(getenv("PATH"))
    #expect(ProcessEnvironment.current["PATH"] == String(cString: path))
    #expect(ProcessEnvironment.current.count > 1)
    #expect(ProcessEnvironment.current["VM_NO_SUCH_VARIABLE_HERE"] == nil)
}

/// `/proc/PID/cmdline` into a buffer that serves the next read too; argv as strings.
@Test func commandLinesFromProc() throws {
    let own = try #require(ProcFS.commandLine(of: getpid()))
    #expect(own == CommandLine.arguments)
    var buffer: [UInt8] = []
    let length = try #require(ProcFS.readCommandLine(of: getpid(), into: &buffer))
    #expect(buffer[..<length].split(separator: 0).map { String(decoding: $0, as: UTF8.self) } == CommandLine.arguments)
    // A pid that is gone has no file.
    #expect(ProcFS.readCommandLine(of: Int32.max, into: &buffer) == nil)
    #expect(ProcFS.commandLine(of: Int32.max) == nil)
    #expect(ProcFS.pids().contains(getpid()))
}
