import Foundation
import GuestSupport
import Subprocess
import SystemPackage
import Testing
@testable import Sessions

/// What the `vm` binary prints for the malformed files and bad paths of issue 17: file, line or
/// path, and the fix; never a crash or Foundation's `NSCocoaErrorDomain` text.
@Test(arguments: [
    (["init", "v", "--output", "/proc/nope.toml"], nil as String?,
     "vm: cannot write /proc/nope.toml: no file can be made there (its folder is missing or takes no new files) (fix: create the folder first, or choose another path)"),
    (["config", "check", "FOLDER"], nil, "vm: cannot read FOLDER: it is a folder, not a file (fix: give the path of a file in it)"),
    (["config", "check", "FOLDER/t.toml"], "[[[gpu]]]\n", "vm: FOLDER/t.toml:1: TOML syntax error: expected a key, found '[' (fix: correct the TOML at column 3)"),
    (["config", "check", "FOLDER/t.toml"], "name = \"t\"\r\nmemory = 1\r\n[cpu\r\n",
     "vm: FOLDER/t.toml:3: TOML syntax error: expected ']' to end the header, found the end of the line (fix: correct the TOML at column 5)"),
    (["session", "check", "FOLDER/t.toml"], "vm = \"a\"\n[\u{1B}x]\n",
     "vm: FOLDER/t.toml:2: TOML syntax error: expected a key, found the control character U+001B (fix: correct the TOML at column 2)"),
])
func theBinaryReportsBadFilesWithTheFix(arguments: [String], file: String?, expected: String) async throws {
    let folder = NSTemporaryDirectory() + "command-errors-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    if let file { try file.write(toFile: folder + "/t.toml", atomically: false, encoding: .utf8) }
    let result = try await Subprocess.run(
        .path(FilePath(try BuiltExecutable.path("vm"))), arguments: Arguments(arguments.map { $0.replacingOccurrences(of: "FOLDER", with: folder) }),
        output: .discarded, error: .string(limit: 1 << 16))
    #expect(result.terminationStatus == .exited(1))
    #expect(result.standardError.trimmingCharacters(in: .newlines) == expected.replacingOccurrences(of: "FOLDER", with: folder))
}

/// A session step that fails on a file says so the same way (the session prints it, not `vm`).
@Test func sessionStepsShowFileErrorsWithTheFix() {
    let error = CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: "/x/y.log"])
    #expect(SessionRunner.describe(error) == "cannot write /x/y.log: permission denied (fix: choose a path you may write to, or run with sudo)")
}
