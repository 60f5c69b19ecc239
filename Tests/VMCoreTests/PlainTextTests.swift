import Glibc
import Testing
import VMCore

/// Path arithmetic, as `NSString` did it.
@Test(arguments: [
    ("/a/b", "/a", "b"), ("/a/b/", "/a", "b"), ("/a", "/", "a"), ("/", "/", "/"), ("a", "", "a"),
    ("a/b", "a", "b"), ("/a//b", "/a", "b"), ("", "", ""),
])
func pathNames(path: String, folder: String, last: String) {
    #expect(PathName.folder(of: path) == folder)
    #expect(PathName.lastComponent(of: path) == last)
}

@Test func trimmingAndColumns() {
    #expect(" \t x y \n\r".trimmingWhitespace() == "x y")
    #expect("\u{00A0}x\u{2003}".trimmingWhitespace() == "x")
    #expect("".trimmingWhitespace() == "")
    #expect("--a-b--".trimming("-") == "a-b")
    #expect(" \tx y\n \t".trimmingBlanks() == "x y\n")
    #expect("ab".column(width: 4) == "ab  ")
    #expect("abcdef".column(width: 4) == "abcd")
    #expect("ab".column(width: 0) == "")
}

@Test func printfFormats() {
    #expect(PrintfFormat.string("%.1f", 2.25) == "2.2")
    #expect(PrintfFormat.string("%.1f s", 0.06) == "0.1 s")
    #expect(PrintfFormat.string("%.0f", 12.7) == "13")
    #expect(PrintfFormat.string("0x%06x", UInt32(0x030000)) == "0x030000")
    // Longer than the first buffer: formatted again into one that fits.
    #expect(PrintfFormat.string("%0300d", Int32(7)) == String(repeating: "0", count: 299) + "7")
}

@Test func standardStreamWritesEveryByte() throws {
    var ends: [Int32] = [-1, -1]
    try #require(pipe(&ends) == 0)
    defer { close(ends[0]) }
    let bytes = (0..<30_000).map { UInt8($0 % 251) }
    #expect(StandardStream.writeAll(ends[1], bytes[...]))
    close(ends[1])
    var read: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { Glibc.read(ends[0], $0.baseAddress, $0.count) }
        if count <= 0 { break }
        read += chunk[..<count]
    }
    #expect(read == bytes)
    #expect(!StandardStream.writeAll(-1, [1][...]))
}

@Test func runningExecutableIsThisTestProgram() {
    let path = RunningExecutable.path
    #expect(path.hasPrefix("/"))
    #expect(access(path, X_OK) == 0)
    #expect(RunningExecutable.folder == PathName.folder(of: path))
}
