import Foundation
import HostLinux
import Testing
import VMCore
@testable import QEMU

/// Files `vm` creates in a VM's state folder are never created through a symbolic link (issue 17).
@Test func stateFilesAreNotOpenedThroughALink() async throws {
    let folder = NSTemporaryDirectory() + "state-links-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let outside = folder + "/outside"
    try "keep".write(toFile: outside, atomically: false, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: folder + "/lock", withDestinationPath: outside)
    try FileManager.default.createSymbolicLink(atPath: folder + "/.gpu-journal.json.\(getpid()).tmp", withDestinationPath: outside)
    do {
        _ = try await VMLock(path: folder + "/lock", timeout: .zero)
        Issue.record("the lock was taken through a link")
    } catch {
        guard case .cannotOpen(_, let code) = error else { Issue.record("\(error)"); return }
        #expect(code == ELOOP)
    }
    let journal = SwapJournal(vm: "v", gpu: 0, phase: .inGuest, originals: [], deviceIDs: [])
    #expect(throws: FileAccessError.self) { try SwapJournalStore(path: folder + "/gpu-journal.json").write(journal) }
    #expect(try String(contentsOfFile: outside, encoding: .utf8) == "keep")
}
