import Foundation
import Testing
import VMCore

/// A fresh folder for one test.
private func scratchFolder() throws -> String {
    let path = NSTemporaryDirectory() + "file-access-\(UUID().uuidString)"
    try FileAccess.createFolders(path)
    return path
}

/// What each way of failing to read or write a real file tells the user.
@Test(arguments: [
    ("read a folder", "cannot read FOLDER: it is a folder, not a file (fix: give the path of a file in it)"),
    ("read a missing file", "cannot read FOLDER/missing.toml: there is no such file (fix: check the path)"),
    ("read below a file", "cannot read FOLDER/file/x.toml: a part of the path is a file, not a folder (fix: check each part of the path)"),
    ("write over a folder", "cannot write FOLDER: it is a folder, not a file (fix: give a file name, not a folder)"),
    ("write into /proc", "cannot write /proc/nope.toml: no file can be made there (its folder is missing or takes no new files) (fix: create the folder first, or choose another path)"),
    ("write below a file", "cannot create the folder FOLDER/file: a part of the path is a file, not a folder (fix: check each part of the path)"),
])
func fileFailuresSayWhatWhereAndTheFix(failure: String, expected: String) throws {
    let folder = try scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try FileAccess.write("x", to: "\(folder)/file")
    let error: FileAccessError
    do {
        switch failure {
        case "read a folder": _ = try FileAccess.read(folder)
        case "read a missing file": _ = try FileAccess.read("\(folder)/missing.toml")
        case "read below a file": _ = try FileAccess.read("\(folder)/file/x.toml")
        case "write over a folder": try FileAccess.write("x", to: folder)
        case "write into /proc": try FileAccess.write("x", to: "/proc/nope.toml")
        default: try FileAccess.write("x", to: "\(folder)/file/x.toml")
        }
        Issue.record("\(failure) did not fail")
        return
    } catch let caught {
        error = caught
    }
    #expect(error.description == expected.replacingOccurrences(of: "FOLDER", with: folder))
}

@Test func writtenFilesReadBack() throws {
    let folder = try scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try FileAccess.write("name = \"a\"\n", to: "\(folder)/new/deeper/a.toml")
    try FileAccess.write("name = \"b\"\n", to: "\(folder)/new/deeper/a.toml")
    #expect(try FileAccess.read("\(folder)/new/deeper/a.toml") == Array("name = \"b\"\n".utf8))
    #expect(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/new/deeper") == ["a.toml"])
}

/// Errors Foundation throws are shown the same way, not as `NSCocoaErrorDomain` text.
@Test func foundationFileErrorsArePresentable() throws {
    let folder = try scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let cases: [(() throws -> Void, String)] = [
        ({ _ = try String(contentsOfFile: folder, encoding: .utf8) }, "cannot read \(folder): it is a folder, not a file"),
        ({ try "x".write(toFile: "/proc/nope/x.toml", atomically: true, encoding: .utf8) }, "cannot use /proc/nope/x.toml: it or its folder does not exist (fix: check the path)"),
        ({ try FileManager.default.createDirectory(atPath: "/proc/nope", withIntermediateDirectories: true) }, "/proc/nope:"),
        ({ _ = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/missing")) }, "cannot read \(folder)/missing: there is no such file (fix: check the path)"),
    ]
    for (action, expected) in cases {
        do {
            try action()
            Issue.record("\(expected) did not fail")
        } catch {
            let shown = "\(FileAccessError.presentable(error))"
            #expect(shown.contains(expected), "\(shown)")
            #expect(!shown.contains("NSCocoaErrorDomain") && shown.contains("(fix: "), "\(shown)")
        }
    }
    struct Other: Error {}
    #expect(FileAccessError.presentable(Other()) is Other)
}
