import Foundation
import HostLinux
import Testing

/// Letting go of the code a long-lived process ran at start-up (the supervisor, once it serves).
@Suite struct ResidentCodeTests {
    @Test("only read-only executable mappings of files count as code: not writable, RELRO, anonymous or kernel-made ones")
    func codeRangesOfMaps() {
        let maps = """
            55d6a3755000-55d6a4cf7000 r-xp 00000000 fd:01 1234 /usr/libexec/vm-supervisor
            55d6a4cf8000-55d6a4d91000 r--p 015a2000 fd:01 1234 /usr/libexec/vm-supervisor
            55d6a4d91000-55d6a7198000 rw-p 0163b000 fd:01 1234 /usr/libexec/vm-supervisor
            7f5a2e800000-7f5a2e826000 r--p 00000000 fd:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6
            7f5a2e826000-7f5a2e9ab000 r-xp 00026000 fd:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6
            7f5a2f000000-7f5a2f001000 r-xp 00000000 00:00 0
            7ffd1c5f2000-7ffd1c5f4000 r-xp 00000000 00:00 0                          [vdso]
            ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
            zz-yy r-xp 00000000 fd:01 7 /broken
            7f5a30000000-7f5a2f000000 r-xp 00000000 fd:01 7 /backwards
            """
        #expect(ResidentCode.codeRanges(inMaps: maps) == [0x55d6_a375_5000..<0x55d6_a4cf_7000, 0x7f5a_2e82_6000..<0x7f5a_2e9a_b000])
        #expect(ResidentCode.codeRanges(inMaps: "").isEmpty)
    }

    @Test("this (many-threaded) test process lets go of its resident code and runs on: the code it needs is mapped again")
    func releaseOwnCode() throws {
        let before = try Self.residentCodeKiB()
        let released = ResidentCode.release(mapsText: try String(contentsOfFile: "/proc/self/maps", encoding: .utf8))
        let after = try Self.residentCodeKiB()
        #expect(released > 0)
        #expect(after < before, "resident code \(before) KiB before, \(after) KiB after")
        // Code this process ran before (JSON, regular expressions) still works.
        let decoded = try JSONDecoder().decode([String: Int].self, from: Data(#"{"a": 1}"#.utf8))
        #expect(decoded == ["a": 1])
        #expect(try NSRegularExpression(pattern: "^r-xp$").numberOfMatches(in: "r-xp", range: NSRange(location: 0, length: 4)) == 1)
    }

    /// The resident KiB of this process's file-backed code mappings, from /proc/self/smaps.
    static func residentCodeKiB() throws -> Int {
        var total = 0
        var inCode = false
        for line in try String(contentsOfFile: "/proc/self/smaps", encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let first = fields.first, first.contains("-"), fields.count >= 2, !first.hasSuffix(":") {
                inCode = fields[1] == "r-xp" && fields.count >= 6 && fields[5].hasPrefix("/")
            } else if inCode, fields.first == "Rss:", fields.count >= 2, let kiB = Int(fields[1]) {
                total += kiB
            }
        }
        return total
    }
}
