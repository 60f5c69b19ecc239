import Foundation
import GuestSupport
import Handover
import QMP
import Testing
import VMCore
@testable import QEMU

/// The QMP half of the hand-over against real QEMU and the test-bed guest: the stand-in pair
/// (secondary-vga + ES1370) goes into a pcie-root-port and out again, and the guest sees both
/// functions arrive and leave (through ACPI hot-plug, the default, or through pciehp).
@Suite(.serialized)
struct HotSwapGuestTests {
    static func hotStandIn(_ bed: TestBed, hotplug: PCIHotplug = .acpi) -> String {
        "hotplug = \"\(hotplug.rawValue)\"\n" + bed.definition(extra: """
            [[gpu]]
            address = "0000:00:10"
            device = "stand-in"
            plug = "hot"
            """)
    }

    /// Lines of the guest's serial log with `prefix`.
    static func serialLines(_ loaded: LoadedDefinition, prefix: String) -> [String] {
        let text = (try? String(contentsOfFile: loaded.paths.serialLog, encoding: .utf8)) ?? ""
        return text.split(whereSeparator: \.isNewline).map(String.init).filter { $0.hasPrefix(prefix) }
    }

    @Test func attachAndDetachFiveTimes() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("swap", Self.hotStandIn(bed))
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
        #expect(await machine.status().passthroughInGuest == [])

        for cycle in 1...5 {
            let attached = try await machine.attachGPU(0)
            #expect(attached.devices == ["gpu0-f1", "gpu0-f0"])
            #expect(try machine.swapper().journal.read()?.phase == .inGuest)
            #expect(await machine.status().passthroughInGuest == ["gpu0-f0", "gpu0-f1"])
            // The guest's hot-plug watcher reports both functions: display (0x03) and multimedia (0x04).
            try await Scratch.waitForSerial(loaded, marker: "VMTEST-PCI-ADD", count: 2 * cycle)
            let added = Self.serialLines(loaded, prefix: "VMTEST-PCI-ADD").suffix(2)
            #expect(added.contains { $0.contains("1234:1111") && $0.contains("class=0x03") })
            #expect(added.contains { $0.contains("class=0x04") })

            let detached = try await machine.detachGPU(0)
            #expect(detached.steps.count == 1)
            #expect(try machine.swapper().journal.read() == nil)
            #expect(await machine.status().passthroughInGuest == [])
            try await Scratch.waitForSerial(loaded, marker: "VMTEST-PCI-REMOVE", count: 2 * cycle)
        }
        #expect(try await machine.down(timeout: .seconds(60)) == .poweredOff)
    }

    /// `hotplug = "pcie"`: the guest's pciehp takes the pair and, after its attention-button
    /// wait, lets it go; the journal and the report are as with ACPI hot-plug.
    @Test func nativePCIeHotplugAttachesAndDetaches() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("pcieswap", Self.hotStandIn(bed, hotplug: .pcie))
        #expect(loaded.spec.hotplug == .pcie)
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
        _ = try await machine.attachGPU(0)
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-PCI-ADD", count: 2)
        let detached = try await machine.detachGPU(0)
        #expect(detached.steps.count == 1)
        #expect(try machine.swapper().journal.read() == nil)
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-PCI-REMOVE", count: 2)
        #expect(try await machine.down(timeout: .seconds(60)) == .poweredOff)
    }

    @Test func attachRefusesBootGPUsAndDoubleAttach() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("twiceswap", Self.hotStandIn(bed))
        let machine = try scratch.machine(loaded)
        await #expect(throws: HandoverError.self) { try await machine.attachGPU(0) }  // not running
        _ = try await machine.up()
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
        await #expect(throws: HandoverError.self) { try await machine.attachGPU(1) }  // no such GPU
        _ = try await machine.attachGPU(0)
        await #expect(throws: HandoverError.self) { try await machine.attachGPU(0) }  // already in
        // `vm down` of a VM holding a hot GPU clears the journal (stand-ins have no host side).
        #expect(try await machine.down(timeout: .seconds(1), force: true) == .quit)
        #expect(try machine.swapper().journal.read() == nil)
    }

    @Test func interruptedAttachIsRecoveredWhileTheVMRuns() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("halfswap", Self.hotStandIn(bed))
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
        var swapper = machine.swapper()
        // Killed after function 1 went in, before function 0.
        swapper.checkpoint = { phase, detail in
            if phase == .plugging, detail == "gpu0-f0" { throw SwapInterrupted(phase: phase, detail: detail) }
        }
        await #expect(throws: SwapInterrupted.self) { try await machine.attachGPU(0, swapper: swapper) }
        #expect(try machine.swapper().journal.read()?.phase == .plugging)
        #expect(await machine.status().passthroughInGuest == ["gpu0-f1"])

        let done = try await machine.recoverGPU()
        #expect(!done.isEmpty)
        #expect(try machine.swapper().journal.read() == nil)
        #expect(await machine.status().passthroughInGuest == [])
        // Recovering again finds nothing to do.
        #expect(try await machine.recoverGPU() == ["no swap recorded and no unknown GPU device in the guest; nothing to recover"])
        _ = try await machine.down(timeout: .seconds(1), force: true)
    }
}
