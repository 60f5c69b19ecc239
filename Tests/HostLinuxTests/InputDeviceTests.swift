import HostLinux
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
