import Foundation
import Testing
import VMCore
@testable import Commands

/// `vm up NAME` reads its definition ahead: the same definition, and the same error, as reading it
/// when the command runs; other command lines read nothing ahead.
@Test func prefetchedDefinitionIsTheOneReadLater() async throws {
    let folder = NSTemporaryDirectory() + "vm-prefetch-\(UUID().uuidString)"
    try FileAccess.createFolders(folder)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let file = folder + "/ahead.toml"
    try FileAccess.write("memory = \"1G\"\n[cpu]\ncores = 2\n", to: file)

    DefinitionPrefetch.start(for: ["up", file, "--paused"])
    let ahead = try await DefinitionPrefetch.loadResolved(file)
    let now = try CommandSupport.loadResolved(file)
    #expect(ahead.spec == now.spec && ahead.file == now.file && ahead.paths == now.paths)
    #expect(ahead.spec.memoryMiB == 1024)

    let missing = folder + "/missing.toml"
    DefinitionPrefetch.start(for: ["up", missing])
    let aheadError = await #expect(throws: (any Error).self) { _ = try await DefinitionPrefetch.loadResolved(missing) }
    let nowError = #expect(throws: (any Error).self) { _ = try CommandSupport.loadResolved(missing) }
    #expect("\(String(describing: aheadError))" == "\(String(describing: nowError))")

    // Not `up NAME`: nothing new is read ahead, and another name is read when asked for.
    DefinitionPrefetch.start(for: ["status", file])
    DefinitionPrefetch.start(for: ["up", "--help"])
    DefinitionPrefetch.start(for: ["up"])
    #expect(DefinitionPrefetch.nameReadAhead == missing)
    #expect(try await DefinitionPrefetch.loadResolved(file).spec == now.spec)
}
