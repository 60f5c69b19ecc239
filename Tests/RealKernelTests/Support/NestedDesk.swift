import Foundation

/// The desk bed (docs/real-kernel.md, "The desk"): the full-kernel test-bed guest as the host, with two xHCI
/// controllers of its own (00:05.0 with a usb-storage device, 00:06.0 with a usb-kbd), QEMU with its usb-host module,
/// `evkey` (Guest/evkey.c, built here statically) and the second-level guest (the full kernel, for its xHCI and USB HID
/// drivers, with Guest/desk-l2.sh in its initramfs), running Guest/desk.sh. One first-level boot and one second-level
/// boot serve every case of NestedDeskTests.
enum NestedDesk {
    /// The xHCI the second level gets whole, through vfio-pci.
    static let controller = "0000:00:06.0"
    /// The USB device behind the other xHCI that the second level gets through usb-host: QEMU's usb-storage (on a
    /// 1 MiB read-only image; the first level has no usb-storage driver, so nothing there uses it).
    static let usbDevice = "46f4:0001"
    /// QEMU's usb-kbd, behind the passed controller.
    static let keyboardBehindController = "0627:0001"
    /// QEMU's xHCI (`qemu-xhci`).
    static let xhciIDs = "1b36:000d"

    /// The one run, started by the first caller and shared by every later one.
    static func run() async throws -> ScriptedGuest.Run {
        try await shared.value()
    }

    private static let shared = SharedAttempt { try await boot() }

    /// The first level's USB hardware: a controller it keeps (a usb-storage device behind it, on `disk`) and one it
    /// passes (a usb-kbd behind it), each alone in its IOMMU group on pcie.0. (A usb-serial on a null chardev would
    /// never attach: QEMU plugs it once its chardev opens.)
    static func machineArguments(disk: String) -> [String] {
        [
            "-device", "qemu-xhci,id=l1usb,bus=pcie.0,addr=05.0",
            "-drive", "if=none,id=usbstick,format=raw,readonly=on,file=\(disk)",
            "-device", "usb-storage,drive=usbstick,bus=l1usb.0,port=1",
            "-device", "qemu-xhci,id=l1usbpass,bus=pcie.0,addr=06.0",
            "-device", "usb-kbd,bus=l1usbpass.0,port=1",
        ]
    }

    private static func boot() async throws -> ScriptedGuest.Run {
        let scratch = try ScratchDirectory()
        let bed = try await TestBed.prepare(full: true, scratch: scratch)
        guard let image = bed.full else { throw TestBedError("scripts/testbed prepare --full gave no full-kernel image") }
        let disk = scratch.file("usbstick.img")
        guard FileManager.default.createFile(atPath: disk, contents: Data(count: 1 << 20)) else { throw TestBedError("cannot write \(disk)") }
        let guest = ScriptedGuest(
            image: image, baseCmdline: bed.cmdline, pairs: [], script: "desk.sh",
            scriptParameters: ["desk.controller=\(controller)", "desk.usb=\(usbDevice)",
                               "vmtest.modules=uinput,xhci_pci,usbhid,hid_generic"],
            extraOverlays: { scratch in try await overlays(in: scratch) },
            // The initramfs (~350 MB unpacked: the full kernel twice) + QEMU + its 192 MiB guest.
            memoryMiB: 2048,
            machineArguments: machineArguments(disk: disk),
            timeout: .seconds(2700))
        let run = try await guest.run()
        report(run)
        return run
    }

    /// `evkey` for both levels, and the nested overlay whose second-level initramfs carries desk-l2.sh and `evkey`.
    private static func overlays(in scratch: ScratchDirectory) async throws -> [String] {
        let testbed = Repository.path("scripts/testbed")
        let evkey = scratch.file("evkey")
        _ = try await TestCommand.runChecked(try TestCommand.locate("cc"),
                                              ["-static", "-O2", "-o", evkey, Repository.guestScript("evkey.c")],
                                              name: "evkey-cc", outputDirectory: scratch.path, timeout: .seconds(300))
        let secondLevel = scratch.file("l2.cpio.gz")
        _ = try await TestCommand.runChecked(testbed, ["overlay", secondLevel, "\(evkey):/usr/bin/evkey",
                                                       "\(Repository.guestScript("desk-l2.sh")):/usr/share/vmtest/desk-l2.sh"],
                                              name: "l2-overlay", outputDirectory: scratch.path, timeout: .seconds(120))
        let nested = scratch.file("nested.cpio")
        _ = try await TestCommand.runChecked(testbed, ["nested-overlay", nested, "--l2-full", "--l2-overlay", secondLevel],
                                              name: "nested-overlay", outputDirectory: scratch.path, timeout: .seconds(900))
        let firstLevel = scratch.file("evkey.cpio")
        _ = try await TestCommand.runChecked(testbed, ["overlay", firstLevel, "\(evkey):/usr/bin/evkey"],
                                              name: "evkey-overlay", outputDirectory: scratch.path, timeout: .seconds(120))
        return [nested, firstLevel]
    }

    /// Prints the measured times once (docs/real-kernel.md quotes them).
    private static func report(_ run: ScriptedGuest.Run) {
        let steps = ["desk/up", "desk/l2-ready", "desk/l2-usb", "input/l2-keys", "usb/detach", "usb/l2-remove", "usb/attach",
                     "usb/l2-add", "usb/detach-port", "usb/l2-remove-port", "desk/down", "controller/paused-up", "controller/returned"]
        let parts = steps.map { step in
            run.transcript.seconds(step).map { "\(step) " + String(format: "%.1f s", $0) } ?? "\(step) -"
        }
        print("nested desk: initramfs " + String(format: "%.1f s", run.preparation.seconds)
              + ", first-level QEMU " + String(format: "%.1f s", run.duration.seconds) + "; in the first level: "
              + parts.joined(separator: ", "))
    }
}

/// The second-level guest's desk lines (Guest/desk-l2.sh) among the RK-OUT lines of an l2 step.
struct DeskReport {
    struct USBDevice: Equatable {
        var name: String
        var ids: String
        /// The PCI function of its host controller in the second level.
        var controller: String
    }

    struct Key: Equatable {
        var node: String
        var code: Int
        var value: Int
    }

    let lines: [[String]]

    init(_ output: String) {
        lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces).split(separator: " ").map(String.init) }
    }

    var usbAdded: [USBDevice] {
        lines.filter { $0.first == "VMTEST-USB-ADD" && $0.count >= 4 }.map {
            USBDevice(name: $0[1], ids: $0[2], controller: String($0[3].dropFirst("pci=".count)))
        }
    }

    var usbRemoved: [String] { lines.filter { $0.first == "VMTEST-USB-REMOVE" && $0.count >= 2 }.map { $0[1] } }

    /// `(address, ids, driver)` of each USB host controller.
    var controllers: [(address: String, ids: String, driver: String)] {
        lines.filter { $0.first == "VMTEST-USBHC" && $0.count >= 4 }.map { ($0[1], $0[2], String($0[3].dropFirst("driver=".count))) }
    }

    /// `(node, name)` of each evdev device.
    var inputs: [(node: String, name: String)] {
        lines.filter { $0.first == "VMTEST-INPUT-ADD" && $0.count >= 3 }.map {
            ($0[1], $0[2...].joined(separator: " ").replacingOccurrences(of: "name=", with: ""))
        }
    }

    var keys: [Key] {
        lines.filter { $0.first == "VMTEST-KEY" && $0.count >= 4 }.compactMap { words in
            guard let code = Int(words[2]), let value = Int(words[3]) else { return nil }
            return Key(node: words[1], code: code, value: value)
        }
    }
}
