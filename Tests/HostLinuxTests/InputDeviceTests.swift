@testable import HostLinux
import HostLinuxFakes
import Testing

/// `vm input list` on a fake host: the by-id event links, what they point at and the kernel's names.
@Test func inputDevicesAreTheByIDEventLinks() throws {
    let tree = try FakeHostTree()
    try tree.file("/dev/input/event3", "")
    try tree.file("/dev/input/event7", "")
    try tree.file("/dev/input/mouse0", "")
    try tree.symlink("/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse", to: "/dev/input/event7")
    try tree.symlink("/dev/input/by-id/usb-Keyboard_Co-event-kbd", to: "/dev/input/event3")
    try tree.symlink("/dev/input/by-id/usb-Logitech_USB_Receiver-if02-mouse", to: "/dev/input/mouse0")
    try tree.file("/sys/class/input/event3/device/name", "Keyboard Co USB Keyboard\n")
    let devices = InputDeviceReader(fileSystem: tree.fileSystem).devices()
    #expect(devices == [
        InputDevice(path: "/dev/input/by-id/usb-Keyboard_Co-event-kbd", node: "/dev/input/event3", name: "Keyboard Co USB Keyboard", kind: "keyboard"),
        InputDevice(path: "/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse", node: "/dev/input/event7", name: nil, kind: "mouse"),
    ])
    let empty = try FakeHostTree()
    #expect(InputDeviceReader(fileSystem: empty.fileSystem).devices().isEmpty)
}

/// `vm host check` says whether Looking Glass's kvmfr module is loaded, and that it is optional.
@Test func kvmfrIsReportedWhenLoaded() throws {
    let tree = try Scenarios.twoIdentical3090Ti()
    func check() throws -> HostCheck {
        try #require(HostChecks.evaluate(HostFacts.read(tree.fileSystem, runner: NoProgramsRunner())).first { $0.name == "kvmfr" })
    }
    #expect(try check().message.hasPrefix("kvmfr not loaded (optional"))
    try tree.file("/dev/kvmfr0", "")
    #expect(try check().message.hasPrefix("kvmfr loaded: /dev/kvmfr0"))
}
