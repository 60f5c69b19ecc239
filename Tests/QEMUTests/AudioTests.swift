import Foundation
import GuestSupport
import Testing
import VMCore
@testable import QEMU

/// `[audio]` against real QEMU and the test-bed guest.
@Suite(.serialized)
struct AudioTests {
    @Test("backend none: the guest has an ich9-intel-hda card (8086:293e)")
    func soundCardInTheGuest() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("snd", bed.definition(extra: "[audio]\nbackend = \"none\"\n"))
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
        let serial = try String(contentsOfFile: loaded.paths.serialLog, encoding: .utf8)
        #expect(serial.contains(" 8086:293e "), "no HD audio controller in the guest: \(serial)")
        _ = try await machine.down(timeout: .seconds(5), force: true)
    }

    @Test("pulseaudio with no server at the socket: vm up refuses with the fix, and no QEMU starts")
    func missingSoundServerIsRefused() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let socket = "\(scratch.root)/no-pulse/native"
        let loaded = try scratch.define("sndoff", bed.definition(extra: "[audio]\nserver = \"unix:\(socket)\"\n"))
        let machine = try scratch.machine(loaded)
        await #expect(throws: StartRefusal.soundServerMissing(server: "unix:\(socket)")) { _ = try await machine.up() }
        #expect(Scratch.qemuProcesses(named: "sndoff").isEmpty)
        #expect(StartRefusal.soundServerMissing(server: "unix:/x").description.contains("backend = \"none\""))
    }
}
