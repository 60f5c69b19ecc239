import Foundation
import GuestSupport
import Subprocess
import Testing
import VMCore
@testable import Commands

/// `vm export` / `vm import` with the built `vm`: a VM's UEFI variables and TPM state, made by a
/// real run (OVMF with Microsoft's keys, swtpm), arrive byte for byte on the other side.
@Suite(.serialized)
struct ExportImportTests {
    static let definition = """
        accelerator = "tcg"
        memory = "256M"
        [firmware]
        secure_boot = true
        [tpm]
        enabled = true
        [network]
        mode = "none"
        """

    static func mode(_ path: String) throws -> Int? {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
    }

    @Test func roundTripKeepsTheVarsAndTheTPMStateByteForByte() async throws {
        let source = try Scratch()
        let loaded = try source.define("port", Self.definition)
        // A short run makes the VM's vars copy and swtpm's state.
        #expect(try await VMRun.run(["up", "port", "--paused"], in: source).status == .exited(0))
        #expect(try await VMRun.run(["down", "port", "--force"], in: source).status == .exited(3))
        let vars = try Data(contentsOf: URL(fileURLWithPath: loaded.paths.varsFile))
        let tpm = try Data(contentsOf: URL(fileURLWithPath: "\(loaded.paths.tpmStateDirectory)/tpm2-00.permall"))
        #expect(!vars.isEmpty && !tpm.isEmpty)

        let archive = "\(source.root)/port.vm.tar"
        let exported = try await VMRun.run(["export", "port", archive], in: source)
        #expect(exported.status == .exited(0), "\(exported.error)")
        let again = try await VMRun.run(["export", "port", archive], in: source)
        #expect(again.status == .exited(1) && again.error.contains("is not overwritten"))

        let target = try Scratch()
        let imported = try await VMRun.run(["import", archive], in: target)
        #expect(imported.status == .exited(0), "\(imported.error)")
        let paths = target.layout.paths(for: try VMName("port"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: paths.varsFile)) == vars)
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(paths.tpmStateDirectory)/tpm2-00.permall")) == tpm)
        #expect(try String(contentsOfFile: "\(target.root)/d/port.toml", encoding: .utf8) == Self.definition)
        #expect(try Self.mode(paths.stateDirectory) == 0o700 && Self.mode(paths.tpmStateDirectory) == 0o700)
        #expect(try Self.mode(paths.varsFile) == 0o600)
        #expect(try await VMRun.run(["config", "check", "port"], in: target).status == .exited(0))

        let twice = try await VMRun.run(["import", archive], in: target)
        #expect(twice.status == .exited(1) && twice.error.contains("a VM named port exists here already"))
    }

    /// --with-disk: the disk goes in the archive and comes back at the path the definition names,
    /// byte for byte; an import that would overwrite a file there is refused and changes nothing.
    @Test func withDiskTheDiskComesAlong() async throws {
        let source = try Scratch()
        let disk = "\(source.root)/images/with,comma disk.img"
        try FileManager.default.createDirectory(atPath: "\(source.root)/images", withIntermediateDirectories: true)
        var bytes = Data(count: 3 << 20)
        for index in stride(from: 0, to: bytes.count, by: 4096) { bytes[index] = UInt8(truncatingIfNeeded: index / 4096 + 1) }
        #expect(FileManager.default.createFile(atPath: disk, contents: bytes))
        let definition = "accelerator = \"tcg\"\n[firmware]\ntype = \"bios\"\n[[disk]]\npath = \"\(disk)\"\nformat = \"raw\"\n"
        _ = try source.define("moved", definition)
        let archive = "\(source.root)/moved.vm.tar"
        let exported = try await VMRun.run(["export", "moved", archive, "--with-disk"], in: source)
        #expect(exported.status == .exited(0) && exported.output.contains("and its disks (\(disk))"), "\(exported.output)\(exported.error)")

        let target = try Scratch()
        let blocked = try await VMRun.run(["import", archive], in: target)
        #expect(blocked.status == .exited(1) && blocked.error.contains("would overwrite \(disk)"), "\(blocked.error)")
        #expect(!FileManager.default.fileExists(atPath: "\(target.root)/d/moved.toml"), "nothing imported")
        try FileManager.default.removeItem(atPath: disk)
        let imported = try await VMRun.run(["import", archive], in: target)
        #expect(imported.status == .exited(0) && imported.output.contains("disks: \(disk)"), "\(imported.output)\(imported.error)")
        #expect(FileManager.default.contents(atPath: disk) == bytes)
        #expect(try Self.mode(disk) == 0o600)
        #expect(try await VMRun.run(["config", "check", "moved"], in: target).status == .exited(0))
    }

    @Test func aRunningVMIsNotExported() async throws {
        let scratch = try Scratch()
        _ = try scratch.define("busy", Self.definition)
        #expect(try await VMRun.run(["up", "busy", "--paused"], in: scratch).status == .exited(0))
        let refused = try await VMRun.run(["export", "busy", "\(scratch.root)/busy.tar"], in: scratch)
        #expect(refused.status == .exited(1) && refused.error.contains("`vm down busy` stops it, then run `vm export busy \(scratch.root)/busy.tar` again"))
        #expect(!FileManager.default.fileExists(atPath: "\(scratch.root)/busy.tar"))
        _ = try await VMRun.run(["down", "busy", "--force"], in: scratch)
    }

    @Test func anArchiveWithoutADefinitionIsRefused() async throws {
        let scratch = try Scratch()
        let empty = "\(scratch.root)/empty.tar"
        try FileManager.default.createDirectory(atPath: "\(scratch.root)/e", withIntermediateDirectories: true)
        try "x".write(toFile: "\(scratch.root)/e/OVMF_VARS.fd", atomically: true, encoding: .utf8)
        let tar = try await Subprocess.run(.name("tar"), arguments: ["-cf", empty, "-C", "\(scratch.root)/e", "OVMF_VARS.fd"],
                                           output: .discarded, error: .discarded)
        #expect(tar.terminationStatus.isSuccess)
        let refused = try await VMRun.run(["import", empty], in: scratch)
        #expect(refused.status == .exited(1) && refused.error.contains("not an archive of `vm export`"))
    }
}
