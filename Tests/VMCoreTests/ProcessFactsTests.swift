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

/// One buffer serves reads of any length: a file larger than the buffer makes it grow, a
/// smaller one after it is read into its start.
@Test func readToEndReusesAndGrowsItsBuffer() throws {
    let path = "/tmp/vm-read-\(getpid())"
    defer { unlink(path) }
    let large = (0..<10_000).map { UInt8($0 % 251) }
    try FileAccess.write(large, to: path)
    var buffer: [UInt8] = []
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    try #require(descriptor >= 0)
    defer { close(descriptor) }
    #expect(try FileAccess.readToEnd(descriptor, path: path, into: &buffer) == 10_000)
    #expect(Array(buffer[..<10_000]) == large)
    #expect(try FileAccess.read(path) == large)
    try FileAccess.write([1, 2, 3], to: path)
    let small = open(path, O_RDONLY | O_CLOEXEC)
    try #require(small >= 0)
    defer { close(small) }
    #expect(try FileAccess.readToEnd(small, path: path, into: &buffer) == 3)
    #expect(Array(buffer[..<3]) == [1, 2, 3])
}
