import Foundation
import Testing
import VMCore

/// Runtime and state folders that someone else placed or can change are refused, never followed
/// or chmodded (issue 17).
@Suite struct PrivateDirectoryTests {
    let base = NSTemporaryDirectory() + "private-directory-\(UUID().uuidString)"

    init() throws {
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    }

    private func mode(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! Int
    }

    private func refusal(_ path: String, owner: uid_t = geteuid()) -> PrivateDirectoryError.Problem? {
        do {
            try PrivateDirectory.make(path, owner: owner)
            return nil
        } catch let error as PrivateDirectoryError {
            #expect(error.path == path || path.hasPrefix(error.path))
            #expect(error.description.contains("(fix: "))
            return error.problem
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test func makesMissingFoldersPrivateAndTightensItsOwn() throws {
        try PrivateDirectory.make(base + "/run/vm/demo")
        #expect(try mode(base + "/run/vm/demo") == 0o700 && mode(base + "/run/vm") == 0o700)
        try FileManager.default.createDirectory(atPath: base + "/state/demo", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try PrivateDirectory.make(base + "/state/demo")
        #expect(try mode(base + "/state/demo") == 0o700)
    }

    @Test func aSymbolicLinkIsNotFollowed() throws {
        let outside = base + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try FileManager.default.createDirectory(atPath: base + "/run", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: base + "/run/demo", withDestinationPath: outside)
        #expect(refusal(base + "/run/demo") == .notAFolder)
        try FileManager.default.createSymbolicLink(atPath: base + "/linked-root", withDestinationPath: outside)
        #expect(refusal(base + "/linked-root/demo") == .notAFolder)
        #expect(try mode(outside) == 0o755)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
    }

    @Test func aFolderOfAnotherUserIsRefusedAndKeptAsItIs() throws {
        try FileManager.default.createDirectory(atPath: base + "/run/demo", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let other = geteuid() + 1
        #expect(refusal(base + "/run/demo", owner: other) == .foreignOwner(uid: geteuid(), expected: other))
        #expect(try mode(base + "/run/demo") == 0o755)
    }

    @Test func foldersOthersMayWriteAreRefusedAndKeptAsTheyAre() throws {
        try FileManager.default.createDirectory(atPath: base + "/open", withIntermediateDirectories: true)
        chmod(base + "/open", 0o777)
        #expect(refusal(base + "/open/demo") == .writableByOthers(mode: 0o777))
        #expect(try mode(base + "/open") == 0o777)
        #expect(!FileManager.default.fileExists(atPath: base + "/open/demo"))

        try FileManager.default.createDirectory(atPath: base + "/sticky/demo", withIntermediateDirectories: true)
        chmod(base + "/sticky", 0o1777)
        chmod(base + "/sticky/demo", 0o777)
        #expect(refusal(base + "/sticky/demo") == .writableByOthers(mode: 0o777))
        chmod(base + "/sticky/demo", 0o755)
        try PrivateDirectory.make(base + "/sticky/demo")  // a sticky parent such as /tmp is fine
        #expect(try mode(base + "/sticky/demo") == 0o700)
    }
}
