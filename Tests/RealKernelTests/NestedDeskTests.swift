import Foundation
import Testing

/// The desk for real: the full-kernel test-bed guest is the host and runs the real `vm` and QEMU; the second-level
/// guest (the full kernel too, for xHCI and USB HID) gets a uinput keyboard through evdev (`[[input]]`), a USB device
/// through usb-host (`[[usb]]`, then `vm usb detach|attach`) and a whole xHCI controller through the first level's
/// vfio-pci (`[[usb_host_controller]]`). One run (NestedDesk) serves every case; the cases judge what the kernels
/// showed, not what `vm` said. See docs/real-kernel.md, "The desk".
@Suite("Nested desk: evdev, usb-host and a USB controller through the test-bed guest", .serialized,
       .timeLimit(.minutes(60)))
struct NestedDeskTests {
    @Test("evdev: a uinput keyboard is grabbed by the VM's input-linux; keys typed on the host arrive in the guest, not on the host")
    func evdev() async throws {
        let transcript = try await completedRun().transcript
        try transcript.requireSucceeded("input/device")
        let device = transcript.standardOutput("input/device").split(separator: "\n").map(String.init)
        let node = try #require(device.first, "no uinput keyboard")
        #expect(node.hasPrefix("/dev/input/event") && device.last == "vmtest-kbd", "the uinput keyboard: \(device)")
        try transcript.requireSucceeded("input/list")
        #expect(transcript.standardOutput("input/list").contains("virtual-vmtest-kbd-event-kbd"),
                "vm input list does not show the keyboard: \(transcript.standardOutput("input/list"))")
        // Before the VM: the host's reader receives both keys and may grab the device.
        #expect(keys(transcript.standardOutput("input/host-before")) == ["30 1", "30 0", "48 1", "48 0"],
                "the host's reader before the VM: \(transcript.standardOutput("input/host-before"))")
        #expect(transcript.standardOutput("input/grab-before") == "grab ok")
        // The VM runs: QEMU holds the grab, the host's reader gets nothing, the guest's keyboard gets the keys.
        try transcript.requireSucceeded("desk/up")
        #expect(transcript.standardOutput("desk/qemu-argv").contains("input-linux,id=input0,evdev=/dev/input/by-id/virtual-vmtest-kbd-event-kbd,grab_all=on,repeat=on"),
                "the running QEMU has no input-linux object: \(transcript.standardOutput("desk/qemu-argv"))")
        #expect(transcript.standardOutput("desk/qemu-argv").contains("virtio-keyboard-pci,id=input-keyboard"),
                "the running QEMU has no virtio keyboard (input_bus defaults to virtio): \(transcript.standardOutput("desk/qemu-argv"))")
        try transcript.requireSucceeded("desk/l2-ready")
        #expect(transcript.standardOutput("input/grab-up") == "grab busy", "the VM did not grab the device: \(transcript.standardOutput("input/grab-up"))")
        try transcript.requireSucceeded("input/host-up")
        #expect(transcript.standardOutput("input/host-up").isEmpty,
                "the host still received keys while the VM ran: \(transcript.standardOutput("input/host-up"))")
        try transcript.requireSucceeded("input/l2-keys")
        let guest = DeskReport(transcript.standardOutput("input/l2-keys"))
        let ready = DeskReport(transcript.standardOutput("desk/l2-ready"))
        // input_bus = "virtio" (the default): a new keyboard in the guest, which takes the
        // input-linux events from QEMU once the guest's virtio_input driver runs (before that,
        // q35's PS/2 keyboard would get them).
        let keyboard = try #require(ready.inputs.first { $0.name == "QEMU Virtio Keyboard" },
                                    "the guest's /dev/input has no virtio keyboard: \(ready.inputs)")
        #expect(ready.inputs.contains { $0.name == "AT Translated Set 2 keyboard" }, "the PS/2 keyboard stays: \(ready.inputs)")
        #expect(guest.keys.map { "\($0.code) \($0.value)" } == ["30 1", "30 0", "48 1", "48 0"], "the guest's key events: \(guest.keys)")
        #expect(guest.keys.allSatisfy { $0.node == keyboard.node }, "keys on another device than \(keyboard): \(guest.keys)")
        // The VM ended: the grab is gone and the host's reader receives again.
        try transcript.requireSucceeded("desk/down")
        #expect(transcript.standardOutput("input/grab-down") == "grab ok")
        #expect(keys(transcript.standardOutput("input/host-down")) == ["30 1", "30 0"])
    }

    @Test("usb-host: the [[usb]] device is in the guest at boot; vm usb detach takes it out, attach by BUS-PORT plugs it in again")
    func usbHost() async throws {
        let transcript = try await completedRun().transcript
        let name = transcript.standardOutput("usb/name")
        #expect(name.contains("-"), "no \(NestedDesk.usbDevice) on the host: \(transcript.standardOutput("usb/before"))")
        try transcript.requireSucceeded("desk/l2-usb")
        let atBoot = DeskReport(transcript.standardOutput("desk/l2-usb")).usbAdded
        let device = try #require(atBoot.first { $0.ids == NestedDesk.usbDevice }, "the guest has no \(NestedDesk.usbDevice) at boot: \(atBoot)")
        try transcript.requireSucceeded("usb/detach")
        try transcript.requireSucceeded("usb/l2-remove")
        #expect(DeskReport(transcript.standardOutput("usb/l2-remove")).usbRemoved == [device.name])
        try transcript.requireSucceeded("usb/attach")
        try transcript.requireSucceeded("usb/l2-add")
        let again = DeskReport(transcript.standardOutput("usb/l2-add")).usbAdded
        #expect(again.map(\.ids) == [NestedDesk.usbDevice], "attach by \(name): \(again)")
        try transcript.requireSucceeded("usb/detach-port")
        try transcript.requireSucceeded("usb/l2-remove-port")
        #expect(DeskReport(transcript.standardOutput("usb/l2-remove-port")).usbRemoved == again.map(\.name))
        // The host kept its device throughout (usb-host only opens it).
        #expect(transcript.standardOutput("usb/after").contains(NestedDesk.usbDevice))
    }

    @Test("usb_host_controller: the xHCI goes to vfio-pci for the run, works in the guest (its keyboard enumerates), and comes back to xhci_hcd")
    func controller() async throws {
        let transcript = try await completedRun().transcript
        #expect(transcript.drivers("controller/before") == ["xhci_hcd"])
        // vm usb controllers: both of the host's controllers, each alone in its group, with what is plugged in.
        try transcript.requireSucceeded("controller/list")
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(transcript.standardOutput("controller/list").utf8)) as? [[String: Any]])
        let byAddress = Dictionary(uniqueKeysWithValues: listed.compactMap { entry in (entry["address"] as? String).map { ($0, entry) } })
        #expect(byAddress.keys.sorted() == ["0000:00:05.0", NestedDesk.controller], "\(listed)")
        for (address, plugged) in [("0000:00:05.0", NestedDesk.usbDevice), (NestedDesk.controller, NestedDesk.keyboardBehindController)] {
            let entry = byAddress[address]
            #expect(entry?["driver"] as? String == "xhci_hcd" && (entry?["sharesGroupWith"] as? [Any])?.isEmpty == true, "\(address): \(String(describing: entry))")
            let peripherals = (entry?["peripherals"] as? [[String: Any]])?.compactMap { $0["ids"] as? String }
            #expect(peripherals == [plugged], "\(address): \(String(describing: entry))")
        }
        try transcript.requireSucceeded("desk/up")
        #expect(transcript.drivers("controller/up") == ["vfio-pci"])
        #expect(transcript.vfioNode("controller/up")?.present == true)
        #expect(transcript.standardOutput("desk/qemu-argv").contains("host=\(NestedDesk.controller)"),
                "the running QEMU was not given the controller: \(transcript.standardOutput("desk/qemu-argv"))")
        let ready = DeskReport(transcript.standardOutput("desk/l2-ready"))
        // Two xHCI in the guest: its own (for usb-host) and the passed one, each on xhci_hcd.
        #expect(ready.controllers.filter { $0.ids == NestedDesk.xhciIDs && $0.driver == "xhci_hcd" }.count == 2,
                "the guest's USB controllers: \(ready.controllers)")
        let usb = DeskReport(transcript.standardOutput("desk/l2-usb")).usbAdded
        let keyboard = try #require(usb.first { $0.ids == NestedDesk.keyboardBehindController },
                                    "nothing behind the passed controller enumerated: \(usb)")
        let serial = try #require(usb.first { $0.ids == NestedDesk.usbDevice })
        #expect(keyboard.controller != serial.controller, "one controller for both: \(usb)")
        try transcript.requireSucceeded("desk/down")
        #expect(SecondLevelReport(transcript.standardOutput("desk/l2-down")).poweredOffByButton)
        #expect(transcript.drivers("controller/down") == ["xhci_hcd"])
        #expect(transcript.functions("controller/down").allSatisfy { $0.override == "(null)" })
        #expect(transcript.vfioNode("controller/down")?.present == false)
        try transcript.requireSucceeded("usb/after-kbd")
    }

    @Test("usb_host_controller: QEMU killed with the controller in it; with no vm command, the supervisor gives it back")
    func controllerAfterAKill() async throws {
        let transcript = try await completedRun().transcript
        try transcript.requireSucceeded("controller/paused-up")
        #expect(transcript.drivers("controller/paused") == ["vfio-pci"])
        try transcript.requireSucceeded("controller/kill")
        #expect(transcript.exitStatus("controller/returned") == 0, "the controller was not given back within 60 s")
        #expect(transcript.drivers("controller/returned") == ["xhci_hcd"])
        #expect(transcript.functions("controller/returned").allSatisfy { $0.override == "(null)" })
        #expect(transcript.standardError("controller/record").contains("No such file"), "the record is left: \(transcript.standardOutput("controller/record"))")
        #expect(transcript.exitStatus("controller/record") != 0)
    }

    /// The shared run, required to have reached its end (the first-level script printed RK-DONE).
    private func completedRun() async throws -> ScriptedGuest.Run {
        let run = try await NestedDesk.run()
        try #require(run.transcript.unpackFailures.isEmpty, "initramfs: \(run.transcript.unpackFailures)")
        try #require(run.transcript.done, "the first-level script did not finish; serial log:\n\(run.serialTail)")
        return run
    }

    /// "CODE VALUE" of each `key CODE VALUE` line evkey printed.
    private func keys(_ output: String) -> [String] {
        output.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            return words.count == 3 && words[0] == "key" ? "\(words[1]) \(words[2])" : nil
        }
    }
}
