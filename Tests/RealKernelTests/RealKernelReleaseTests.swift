import Foundation
import Testing

/// `[[gpu]] host = "release"` against a real kernel: in the test-bed guest (full kernel) the stand-in pair at 00:03
/// runs bochs-drm with the framebuffer console on it, and a stand-in display manager holds its DRM node. `vm up`
/// takes it from the host (desktop stopped, vtconsole unbound, /dev/fb0 gone, vfio-pci bound, /dev/vfio/N) and gives
/// it back: at once when QEMU fails, through `vm gpu recover` after `kill -9` of vm, its supervisor and QEMU, on
/// `vm down` of a real QEMU holding the pair through vfio-pci, and by the supervisor when that QEMU ends by itself.
/// With `plug = "hot"`, `vm gpu attach` takes it into a running second-level guest (which sees it arrive) and
/// `vm gpu detach`, QEMU's end, `vm down` and `vm gpu recover` after `kill -9` give it back. One boot serves both tests.
/// See Guest/release-cycle.sh and docs/real-kernel.md.
@Suite("Real kernel: host = \"release\" in the test-bed guest", .serialized, .timeLimit(.minutes(30)))
struct RealKernelReleaseTests {
    static let pair = StandInPair.bochsHDA

    /// The one boot both tests judge, started by the first.
    private static let shared = SharedAttempt { try await boot() }

    private static func boot() async throws -> ScriptedGuest.Run {
        let scratch = try ScratchDirectory()
        let bed = try await TestBed.prepare(full: true, scratch: scratch)
        guard let image = bed.full else { throw TestBedError("scripts/testbed prepare --full gave no full-kernel image") }
        let run = try await ScriptedGuest(
            image: image, baseCmdline: bed.cmdline, pairs: [pair], script: "release-cycle.sh", scriptParameters: [],
            extraOverlays: { scratch in
                // A real QEMU for the down/, ended/ and hot phases (the nested bed's overlay).
                let overlay = scratch.file("nested.cpio")
                _ = try await TestCommand.runChecked(Repository.path("scripts/testbed"), ["nested-overlay", overlay],
                                                      name: "nested-overlay", outputDirectory: scratch.path, timeout: .seconds(900))
                return [overlay]
            },
            memoryMiB: 2048, timeout: .seconds(1500)).run()
        let transcript = run.transcript
        print("real kernel (release): QEMU " + String(format: "%.1f s", run.duration.seconds) + "; in the guest: "
              + ["up/run", "crash/recover", "hot/l2-ready", "hot/attach", "hot/l2-add", "hot/detach", "hotend/attach", "hotend/l2-off", "hotdown/down", "hotcrash/recover"].map {
                  "\($0) " + String(format: "%.2f s", transcript.seconds($0) ?? -1)
              }.joined(separator: ", "))
        return run
    }

    /// What the guest showed at one step: RK- lines of one kind, the framebuffer consoles.
    struct Shown {
        let serial: String

        func lines(_ step: String, _ kind: String) -> [String] {
            // A serial console ends lines with CR LF, which Swift reads as one Character.
            serial.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                .filter { $0.hasPrefix("\(kind) \(step) ") }
        }

        /// The vtconsoles drawing on a framebuffer, and whether each is bound.
        func framebufferConsoles(_ step: String) -> [String] {
            lines(step, "RK-VT").filter { $0.hasSuffix("fb=1") }.map { $0.split(separator: " ")[2...3].joined(separator: " ") }
        }
    }

    @Test("bochs-drm with fbcon: released to vfio-pci and given back: failed start, kill -9 + vm gpu recover, vm down, QEMU ending by itself")
    func releaseAndGiveBack() async throws {
        let run = try await Self.shared.value()
        let transcript = run.transcript
        try #require(transcript.done, "the guest script did not finish:\n\(run.serialTail)")
        let shown = Shown(serial: run.serial)
        let lines = shown.lines
        let framebufferConsoles = shown.framebufferConsoles

        let home = Self.pair.fullKernelDrivers
        #expect(transcript.drivers("before") == home, "\(run.serialTail)")
        let consoles = framebufferConsoles("before")
        #expect(!consoles.isEmpty && consoles.allSatisfy { $0.hasSuffix("bind=1") }, "fbcon on the card: \(consoles)")
        #expect(lines("before", "RK-FB") == ["RK-FB before fb0=char"])
        #expect(lines("before", "RK-DESK") == ["RK-DESK before running"])
        #expect(transcript.exitStatus("plan") == 0 && transcript.standardOutput("plan").contains("unbind virtual console"),
                "\(transcript.standardOutput("plan"))\(transcript.standardError("plan"))")

        for step in ["down/up", "ended/up"] { try transcript.requireSucceeded(step) }
        #expect(transcript.exitStatus("down/down") == 3, "vm down --force (QMP quit: exit 3): \(transcript.standardError("down/down"))")
        for (released, after) in [("up/released", "up/after"), ("crash/released", "crash/after"), ("down/released", "down/after"),
                                  ("ended/released", "ended/after")] {
            #expect(transcript.drivers(released) == ["vfio-pci", "vfio-pci"], "\(released): \(run.serialTail)")
            #expect(transcript.vfioNode(released)?.present == true, "\(released): /dev/vfio/N")
            #expect(framebufferConsoles(released).allSatisfy { $0.hasSuffix("bind=0") }, "\(released): \(framebufferConsoles(released))")
            #expect(lines(released, "RK-FB") == ["RK-FB \(released) fb0=absent"])
            #expect(lines(released, "RK-DESK") == ["RK-DESK \(released) stopped"])
            // The crash case runs without the stand-in desktop (see Guest/release-cycle.sh).
            let desktop = released.hasPrefix("crash/") ? "stopped" : "running"

            #expect(transcript.drivers(after) == home, "\(after): \(run.serialTail)")
            #expect(transcript.vfioNode(after)?.present == false)
            #expect(framebufferConsoles(after) == consoles, "\(after): the console is on the framebuffer again")
            #expect(lines(after, "RK-FB") == ["RK-FB \(after) fb0=char"])
            #expect(lines(after, "RK-DESK") == ["RK-DESK \(after) \(desktop)"])
        }
        #expect(transcript.exitStatus("up/run") != 0, "the stand-in QEMU fails")
        #expect(transcript.standardError("up/run").contains("QEMU"), "vm up reports the failed start: \(transcript.standardError("up/run"))")
        #expect(!transcript.standardError("up/run").contains("left steps undone"), "\(transcript.standardError("up/run"))")
        #expect(transcript.drivers("crash/killed") == ["vfio-pci", "vfio-pci"], "nothing gave the GPU back before vm gpu recover; vm up said:\n\(transcript.standardOutput("crash/up"))\nprocesses:\n\(transcript.standardOutput("crash/ps"))")
        #expect(transcript.exitStatus("crash/recover") == 0, "\(transcript.standardOutput("crash/recover"))\(transcript.standardError("crash/recover"))")
        #expect(transcript.standardOutput("crash/recover").contains("bind virtual console"), "\(transcript.standardOutput("crash/recover"))")
    }

    @Test("plug = \"hot\": vm gpu attach releases the card into the running guest; vm gpu detach, the guest powering off, QEMU killed, vm down, kill -9 + vm gpu recover give it back")
    func hotAttachAndGiveBack() async throws {
        let run = try await Self.shared.value()
        let transcript = run.transcript
        try #require(transcript.done, "the guest script did not finish:\n\(run.serialTail)")
        let shown = Shown(serial: run.serial)
        let home = Self.pair.fullKernelDrivers
        let consoles = shown.framebufferConsoles("before")

        /// The host has the card, its console, its framebuffer and its desktop.
        func onHost(_ step: String, desktop: String = "running") {
            #expect(transcript.drivers(step) == home, "\(step): \(run.serialTail)")
            #expect(transcript.vfioNode(step)?.present == false, "\(step): /dev/vfio/N")
            #expect(shown.framebufferConsoles(step) == consoles, "\(step): the console is on the framebuffer")
            #expect(shown.lines(step, "RK-FB") == ["RK-FB \(step) fb0=char"])
            #expect(shown.lines(step, "RK-DESK") == ["RK-DESK \(step) \(desktop)"])
        }
        /// The host gave the card up: desktop stopped, consoles unbound, no framebuffer, vfio-pci.
        func released(_ step: String) {
            #expect(transcript.drivers(step) == ["vfio-pci", "vfio-pci"], "\(step): \(run.serialTail)")
            #expect(transcript.vfioNode(step)?.present == true, "\(step): /dev/vfio/N")
            #expect(shown.framebufferConsoles(step).allSatisfy { $0.hasSuffix("bind=0") }, "\(step): \(shown.framebufferConsoles(step))")
            #expect(shown.lines(step, "RK-FB") == ["RK-FB \(step) fb0=absent"])
            #expect(shown.lines(step, "RK-DESK") == ["RK-DESK \(step) stopped"])
        }
        /// The functions QEMU has, as `vm status --json` says.
        func inQEMU(_ step: String) throws -> [String]? {
            try transcript.requireSucceeded(step)
            let status = try JSONSerialization.jsonObject(with: Data(transcript.standardOutput(step).utf8)) as? [String: Any]
            return status?["passthroughInGuest"] as? [String]
        }

        for step in ["hot/up", "hot/l2-ready", "hot/attach", "hot/l2-add", "hot/detach", "hot/l2-remove", "hotend/attach", "hotend/l2-off",
                     "hotkill/up", "hotkill/attach", "hotdown/up", "hotdown/attach", "hotcrash/up", "hotcrash/attach", "hotcrash/recover"] {
            try transcript.requireSucceeded(step)
        }
        // The VM's own guest saw the card's two functions arrive (as one slot) and the same two leave.
        let added = SecondLevelReport(transcript.standardOutput("hot/l2-add")).added
        #expect(added.map(\.id).sorted() == Self.pair.ids.sorted(), "\(added)")
        #expect(Set(added.map(\.slot)).count == 1, "\(added)")
        #expect(Set(SecondLevelReport(transcript.standardOutput("hot/l2-remove")).removed) == Set(added.map(\.address)))
        onHost("hot/up")
        let plan = transcript.standardOutput("hot/plan")
        #expect(transcript.exitStatus("hot/plan") == 0 && plan.contains("release the host's display GPU:")
                && plan.contains("unbind virtual console") && plan.contains("device_add vfio-pci"), "\(plan)\(transcript.standardError("hot/plan"))")
        #expect(!transcript.standardOutput("hot/attach").isEmpty)
        for step in ["hot/attached", "hotend/attached", "hotkill/attached", "hotdown/attached", "hotcrash/attached", "hotcrash/killed"] { released(step) }
        #expect(try inQEMU("hot/status") == ["gpu0-f0", "gpu0-f1"], "the card is in QEMU after vm gpu attach")
        onHost("hot/detached")
        #expect(try inQEMU("hot/status-detached") == [], "the card left QEMU at vm gpu detach")
        #expect(SecondLevelReport(transcript.standardOutput("hotend/l2-off")).lines.contains("VMTEST-POWEROFF self"))
        onHost("hotend/after")
        onHost("hotkill/after")
        #expect(transcript.exitStatus("hotdown/down") == 3, "vm down --force (QMP quit: exit 3): \(transcript.standardError("hotdown/down"))")
        onHost("hotdown/after")
        #expect(transcript.standardOutput("hotcrash/recover").contains("start the desktop"), "\(transcript.standardOutput("hotcrash/recover"))")
        onHost("hotcrash/after")
    }
}
