import Foundation
import Glibc
import HostLinux
import Testing
import VMCore
@testable import Commands

/// The reads `vm up NAME` takes ahead (one at a time: they share the process's read-ahead).
@Suite(.serialized) struct UpReadAheadTests {
    /// `vm up NAME` reads its definition ahead: the same definition, and the same error, as reading it
    /// when the command runs; other command lines read nothing ahead.
    @Test func definitionReadAheadIsTheOneReadLater() async throws {
        let folder = NSTemporaryDirectory() + "vm-prefetch-\(UUID().uuidString)"
        try FileAccess.createFolders(folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/ahead.toml"
        try FileAccess.write("memory = \"1G\"\n[cpu]\ncores = 2\n", to: file)

        UpReadAhead.start(for: ["up", file, "--paused"])
        let ahead = try await UpReadAhead.loadResolved(file)
        let now = try CommandSupport.loadResolved(file)
        #expect(ahead.spec == now.spec && ahead.file == now.file && ahead.paths == now.paths)
        #expect(ahead.spec.memoryMiB == 1024)

        let missing = folder + "/missing.toml"
        UpReadAhead.start(for: ["up", missing])
        let aheadError = await #expect(throws: (any Error).self) { _ = try await UpReadAhead.loadResolved(missing) }
        let nowError = #expect(throws: (any Error).self) { _ = try CommandSupport.loadResolved(missing) }
        #expect("\(String(describing: aheadError))" == "\(String(describing: nowError))")

        // Not `up NAME`: nothing new is read ahead, and another name is read when asked for.
        UpReadAhead.start(for: ["status", file])
        UpReadAhead.start(for: ["up", "--help"])
        UpReadAhead.start(for: ["up"])
        #expect(UpReadAhead.nameReadAhead == missing)
        #expect(try await UpReadAhead.loadResolved(file).spec == now.spec)
    }

    /// The look for a libvirt QEMU of the VM's name (named in the definition, not on the command line)
    /// is taken ahead too: it finds the process a look now finds and serves one question; a later
    /// question looks again.
    @Test func libvirtQEMULookAheadFindsWhatALookNowFinds() async throws {
        let folder = NSTemporaryDirectory() + "vm-prefetch-\(UUID().uuidString)"
        try FileAccess.createFolders(folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let vm = "ahead\(getpid())"
        let file = folder + "/definition.toml"
        try FileAccess.write("name = \"\(vm)\"\nmemory = \"1G\"\n", to: file)

        // A stand-in for libvirt's QEMU: a process whose argv carries libvirt's `-name` value.
        let standIn = try ChildProcess(["/bin/sh", "-c", "sleep 60; true", "guest=\(vm),debug-threads=on"])
        defer { kill(-standIn.pid, SIGKILL); _ = standIn.waitForExit() }

        UpReadAhead.start(for: ["up", file])
        #expect(await UpReadAhead.libvirtQEMU(named: vm) == standIn.pid)
        #expect(OtherBackend.libvirtQEMU(named: vm) == standIn.pid)

        // The look ahead served its one question: once the stand-in is gone, the next looks again.
        kill(-standIn.pid, SIGKILL)
        _ = standIn.waitForExit()
        #expect(await UpReadAhead.libvirtQEMU(named: vm) == nil)
    }
}
