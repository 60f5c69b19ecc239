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

/// Types `command` into the guest's shell through `vm console` and returns what the console
/// showed once `marker` appeared.
private func typeInTheGuest(_ command: String, until marker: String, scratch: Scratch) async throws -> String {
    let console = try TypedProcess(try BuiltExecutable.path("vm"), ["console", "snap"], scratch: scratch)
    console.type(Array("\(command)\n".utf8))
    #expect(try await console.waitFor(marker, timeout: .seconds(60)), "\(console.text)")
    #expect(try await console.waitForLineEnd(after: marker, timeout: .seconds(10)), "\(console.text)")
    console.type([ConsoleCommand.detachKey])
    _ = try await console.exitStatus(timeout: .seconds(30))
    return console.text
}

/// Writes `text` at the start of the guest's disk from its shell.
private func writeInTheGuest(_ text: String, scratch: Scratch) async throws {
    _ = try await typeInTheGuest("printf \(text) | dd of=/dev/vda conv=notrunc 2>/dev/null; sync; echo written-$((40+2))",
                                 until: "written-42", scratch: scratch)
}

/// Boots the VM and waits for its shell.
private func boot(_ scratch: Scratch, _ loaded: LoadedDefinition) async throws {
    // QEMU starts the serial log afresh at each boot, before `vm up` returns.
    #expect(try await VMRun.run(["up", "snap"], in: scratch).status == .exited(0))
    try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
}

/// Boots the VM, writes `text` at the start of its disk from the guest, and powers it off.
private func writeFromTheGuest(_ text: String, scratch: Scratch, loaded: LoadedDefinition) async throws {
    try await boot(scratch, loaded)
    try await writeInTheGuest(text, scratch: scratch)
    let down = try await VMRun.run(["down", "snap", "--timeout", "60"], in: scratch)
    #expect(down.status == .exited(0), "\(down.output)\(down.error)")
}

/// A test-bed VM `snap` with a shell on its console and an empty 1 MiB qcow2 disk.
private func snapshotVM(_ scratch: Scratch) async throws -> (LoadedDefinition, String) {
    let bed = try await TestBed.prepare()
    let image = "\(scratch.root)/disk.qcow2"
    _ = try await host(["qemu-img", "create", "-q", "-f", "qcow2", image, "1M"])
    let loaded = try scratch.define("snap", bed.definition(
        extraCmdline: "vmtest.shell=1 vmtest.modules=virtio_blk", extra: "[[disk]]\npath = \"\(image)\"\nformat = \"qcow2\""))
    return (loaded, image)
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
    let scratch = try Scratch()
    let (loaded, image) = try await snapshotVM(scratch)

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

/// A snapshot of the running VM holds the running machine: revert brings back its memory and disk.
@Test(.timeLimit(.minutes(6)))
func liveRevertBringsBackTheRunningMachine() async throws {
    let scratch = try Scratch()
    let (loaded, image) = try await snapshotVM(scratch)
    try await boot(scratch, loaded)
    try await writeInTheGuest("before-snapshot", scratch: scratch)
    _ = try await typeInTheGuest("MARK=set-before-$((1+1)); echo marked-$((2+2))", until: "marked-4", scratch: scratch)
    let create = try await VMRun.run(["snapshot", "snap", "create", "live"], in: scratch)
    #expect(create.status == .exited(0), "\(create.error)")
    let list = try await VMRun.run(["snapshot", "snap", "list"], in: scratch)
    #expect(list.output.contains("live  ") && list.output.contains("with the running machine"), "\(list.output)\(list.error)")

    try await writeInTheGuest("AFTER-SNAPSHOT!", scratch: scratch)
    _ = try await typeInTheGuest("MARK=changed-after; echo marked-$((3+3))", until: "marked-6", scratch: scratch)
    let revert = try await VMRun.run(["snapshot", "snap", "revert", "live"], in: scratch)
    #expect(revert.status == .exited(0), "\(revert.error)")
    let shown = try await typeInTheGuest("echo mark:$MARK.", until: "mark:s", scratch: scratch)
    #expect(try await typeInTheGuest("echo disk:$(dd if=/dev/vda bs=15 count=1 2>/dev/null)", until: "disk:b", scratch: scratch)
        .contains("disk:before-snapshot"))
    #expect(shown.contains("mark:set-before-2."), "the shell's memory is back: \(shown)")

    #expect(try await VMRun.run(["snapshot", "snap", "delete", "live"], in: scratch).status == .exited(0))
    #expect(try await VMRun.run(["down", "snap", "--force"], in: scratch).status == .exited(3))
    #expect(try await diskStart(image, count: 15, scratch: scratch) == "before-snapshot")
}

@Test func snapshotsOfSeveralDisksMergeByName() {
    let entries = SnapshotEntry.merge([
        ("/a.qcow2", [("one", 10, false), ("two", 30, true)]),
        ("/b.qcow2", [("one", 12, false)]),
        ("/c.qcow2", []),
    ])
    #expect(entries == [SnapshotEntry(name: "one", date: 12, disks: ["/a.qcow2", "/b.qcow2"]),
                        SnapshotEntry(name: "two", date: 30, disks: ["/a.qcow2"], machineState: true)])
    #expect(SnapshotCommand.describe(entries[1], diskCount: 3).hasSuffix("with the running machine  (only on /a.qcow2)"))
    #expect(SnapshotCommand.problem(withName: "before-update_1.2") == nil)
    #expect(SnapshotCommand.problem(withName: "42") != nil)
    #expect(SnapshotCommand.problem(withName: "a b") != nil)
    #expect(SnapshotCommand.problem(withName: "") != nil)
    #expect(SnapshotCommand.problem(withName: SnapshotCommand.defaultName(Date())) == nil)
}

@Test func aRunningVMWithAPassedThroughGPUIsNotSnapshotted() throws {
    #expect(try SnapshotCommand.store(vm: "w", state: .stopped, backend: .qemu, passesThroughGPUs: true) == .disks)
    #expect(try SnapshotCommand.store(vm: "w", state: .running, backend: .qemu, passesThroughGPUs: false) == .runningMachine)
    #expect(try SnapshotCommand.store(vm: "w", state: .paused, backend: .qemu, passesThroughGPUs: false) == .runningMachine)
    #expect(throws: CommandFailure.self) { try SnapshotCommand.store(vm: "w", state: .running, backend: .qemu, passesThroughGPUs: true) }
    #expect(throws: CommandFailure.self) { try SnapshotCommand.store(vm: "w", state: .running, backend: .libvirt(uri: "qemu:///system"), passesThroughGPUs: false) }
    #expect(throws: CommandFailure.self) { try SnapshotCommand.store(vm: "w", state: .shuttingDown, backend: .qemu, passesThroughGPUs: false) }
    do {
        _ = try SnapshotCommand.store(vm: "w", state: .running, backend: .qemu, passesThroughGPUs: true)
    } catch {
        #expect("\(error)".contains("passed-through GPU, whose state QEMU cannot save; `vm down w` first"))
    }
}
