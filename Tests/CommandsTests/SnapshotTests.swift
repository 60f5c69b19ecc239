import Foundation
import GuestSupport
import Subprocess
import SystemPackage
import Testing
import VMCore
@testable import Commands

/// Runs a host program; its standard output.
private func host(_ arguments: [String]) async throws -> String {
    let result = try await Subprocess.run(.name(arguments[0]), arguments: Arguments(Array(arguments.dropFirst())),
                                          output: .string(limit: 1 << 20), error: .string(limit: 1 << 16))
    #expect(result.terminationStatus.isSuccess, "\(arguments): \(result.standardError)")
    return result.standardOutput
}

/// Boots the VM, writes `text` at the start of its disk from the guest's shell (through `vm
/// console`), and powers it off. While it runs, `vm snapshot` is refused.
private func writeFromTheGuest(_ text: String, scratch: Scratch, loaded: LoadedDefinition) async throws {
    // QEMU starts the serial log afresh at each boot, before `vm up` returns.
    #expect(try await VMRun.run(["up", "snap"], in: scratch).status == .exited(0))
    try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
    let refused = try await VMRun.run(["snapshot", "snap", "create", "while-running"], in: scratch)
    #expect(refused.status == .exited(1) && refused.error.contains("snap is running"), "\(refused.error)")

    let console = try TypedProcess(try BuiltExecutable.path("vm"), ["console", "snap"], scratch: scratch)
    console.type(Array("printf \(text) | dd of=/dev/vda conv=notrunc 2>/dev/null; sync; echo written-$((40+2))\n".utf8))
    #expect(try await console.waitFor("written-42", timeout: .seconds(60)), "\(console.text)")
    console.type([ConsoleCommand.detachKey])
    _ = try await console.exitStatus(timeout: .seconds(30))
    let down = try await VMRun.run(["down", "snap", "--timeout", "60"], in: scratch)
    #expect(down.status == .exited(0), "\(down.output)\(down.error)")
}

/// The first `count` bytes of a qcow2 image's content.
private func diskStart(_ image: String, count: Int, scratch: Scratch) async throws -> String {
    let raw = "\(scratch.root)/content.raw"
    _ = try await host(["qemu-img", "convert", "-O", "raw", image, raw])
    let data = try Data(contentsOf: URL(fileURLWithPath: raw)).prefix(count)
    return String(decoding: data, as: UTF8.self)
}

/// A snapshot of a stopped VM's qcow2 disk brings back what the guest had written before it.
@Test(.timeLimit(.minutes(6)))
func revertBringsBackTheGuestsDisk() async throws {
    let bed = try await TestBed.prepare()
    let scratch = try Scratch()
    let image = "\(scratch.root)/disk.qcow2"
    _ = try await host(["qemu-img", "create", "-q", "-f", "qcow2", image, "1M"])
    let loaded = try scratch.define("snap", bed.definition(
        extraCmdline: "vmtest.shell=1 vmtest.modules=virtio_blk", extra: "[[disk]]\npath = \"\(image)\"\nformat = \"qcow2\""))

    try await writeFromTheGuest("before-snapshot", scratch: scratch, loaded: loaded)
    let create = try await VMRun.run(["snapshot", "snap", "create", "clean"], in: scratch)
    #expect(create.status == .exited(0), "\(create.error)")
    try await writeFromTheGuest("AFTER-SNAPSHOT!", scratch: scratch, loaded: loaded)
    #expect(try await diskStart(image, count: 15, scratch: scratch) == "AFTER-SNAPSHOT!")

    let list = try await VMRun.run(["snapshot", "snap", "list"], in: scratch)
    #expect(list.output.hasPrefix("clean  "), "\(list.output)\(list.error)")
    let revert = try await VMRun.run(["snapshot", "snap", "revert", "clean"], in: scratch)
    #expect(revert.status == .exited(0), "\(revert.error)")
    #expect(try await diskStart(image, count: 15, scratch: scratch) == "before-snapshot")

    #expect(try await VMRun.run(["snapshot", "snap", "delete", "clean"], in: scratch).status == .exited(0))
    #expect(try await VMRun.run(["snapshot", "snap", "list"], in: scratch).output.contains("has no snapshots"))
}

@Test func snapshotsOfSeveralDisksMergeByName() {
    typealias Info = DiskSnapshots.ImageInfo
    let entries = DiskSnapshots.entries([
        ("/a.qcow2", Info(format: "qcow2", snapshots: [.init(name: "one", dateSeconds: 10), .init(name: "two", dateSeconds: 30)])),
        ("/b.qcow2", Info(format: "qcow2", snapshots: [.init(name: "one", dateSeconds: 12)])),
        ("/c.qcow2", Info(format: "qcow2", snapshots: nil)),
    ])
    #expect(entries == [DiskSnapshots.Entry(name: "one", date: 12, disks: ["/a.qcow2", "/b.qcow2"]),
                        DiskSnapshots.Entry(name: "two", date: 30, disks: ["/a.qcow2"])])
    #expect(SnapshotCommand.describe(entries[1], diskCount: 3).hasSuffix("(only on /a.qcow2)"))
    #expect(SnapshotCommand.problem(withName: "before-update_1.2") == nil)
    #expect(SnapshotCommand.problem(withName: "42") != nil)
    #expect(SnapshotCommand.problem(withName: "a b") != nil)
    #expect(SnapshotCommand.problem(withName: "") != nil)
    #expect(SnapshotCommand.problem(withName: SnapshotCommand.defaultName(Date())) == nil)
}
