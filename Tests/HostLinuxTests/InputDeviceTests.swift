@testable import HostLinux
import HostLinuxFakes
import Testing
import VMCore

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

/// `vm usb controllers` on a fake host: each USB controller with its group verdict and the devices below its root
/// hubs (through a hub, interfaces and root hubs left out).
@Test func usbControllersWithTheirGroupsAndDevices() throws {
    let tree = try FakeHostTree()
    try tree.device("0000:0a:00.2", vendor: 0x1022, device: 0x1456, classCode: 0x108000, driver: "ccp", group: 30)
    try tree.device("0000:0a:00.3", vendor: 0x1022, device: 0x145f, classCode: 0x0c0330, driver: "xhci_hcd", group: 31)
    try tree.device("0000:0b:00.0", vendor: 0x1022, device: 0x7901, classCode: 0x010601, driver: "ahci", group: 32)
    try tree.device("0000:0b:00.3", vendor: 0x1022, device: 0x149c, classCode: 0x0c0330, driver: "xhci_hcd", group: 32)
    let usb = "/sys/devices/pci0000:00/0000:0a:00.3/usb3"
    for (path, vendor, product, name) in [("", "1d6b", "0002", "xHCI Host Controller"), ("/3-1", "05e3", "0610", "USB2.0 Hub"),
                                          ("/3-1/3-1.4", "046d", "c52b", "USB Receiver"), ("/3-2", "0781", "5581", "")] {
        try tree.file(usb + path + "/idVendor", vendor + "\n")
        try tree.file(usb + path + "/idProduct", product + "\n")
        try tree.file(usb + path + "/product", name + "\n")
    }
    try tree.file(usb + "/3-1/3-1.4/3-1.4:1.0/bInterfaceClass", "03\n")
    let controllers = try USBControllerReader(fileSystem: tree.fileSystem).controllers()
    #expect(controllers.map(\.address.description) == ["0000:0a:00.3", "0000:0b:00.3"])
    #expect(controllers[0].passableAlone && controllers[0].iommuGroup == 31 && controllers[0].ids == "1022:145f")
    #expect(controllers[0].peripherals == [
        .init(name: "3-1", ids: "05e3:0610", product: "USB2.0 Hub"),
        .init(name: "3-1.4", ids: "046d:c52b", product: "USB Receiver"),
        .init(name: "3-2", ids: "0781:5581", product: nil),
    ])
    #expect(!controllers[1].passableAlone && controllers[1].sharesGroupWith == [PCIAddress("0000:0b:00.0")!])
    #expect(controllers[1].peripherals.isEmpty)
    #expect(USBControllerReader.isDeviceName("3-1.4") && !USBControllerReader.isDeviceName("3-1.4:1.0") && !USBControllerReader.isDeviceName("usb3"))
}
