import Foundation
import HostLinux
import HostLinuxFakes
import Testing
import VMCore

@Suite struct DriverBinderTests {
    let slot = PCISlot("0000:05:00")!

    @Test func roundTripHostDriversToVFIOAndBack() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        let kernel = FakeKernel(tree: tree)
        let binder = DriverBinder(fileSystem: kernel)
        let verified = try binder.verify(slot)
        #expect(verified.group.number == 20)
        let bindings = try binder.bindSlotToVFIO(verified)
        #expect(bindings.map(\.originalDriver) == ["nvidia", "snd_hda_intel"])
        #expect(binder.currentDriver(PCIAddress("0000:05:00.0")!) == "vfio-pci")
        #expect(binder.currentDriver(PCIAddress("0000:05:00.1")!) == "vfio-pci")
        // The other, identical card is untouched.
        #expect(binder.currentDriver(PCIAddress("0000:01:00.0")!) == "nvidia")
        let members = try verified.group.members.map(PCIDeviceReader(fileSystem: kernel).device(at:))
        #expect(GroupViability.evaluate(members: members, for: slot).viable)

        try binder.returnSlotToHost(bindings, in: verified)
        #expect(binder.currentDriver(PCIAddress("0000:05:00.0")!) == "nvidia")
        #expect(binder.currentDriver(PCIAddress("0000:05:00.1")!) == "snd_hda_intel")
        #expect(try PCIDeviceReader(fileSystem: kernel).device(at: PCIAddress("0000:05:00.0")!).driverOverride == nil)
        #expect(kernel.writes.filter { $0.contains("01:00") }.isEmpty)
        #expect(kernel.writes.first == "/sys/bus/pci/devices/0000:05:00.0/driver_override <- vfio-pci")
    }

    /// A USB controller passed whole (`[[usb_host_controller]]`) is checked as a GPU is: alone in its IOMMU group with
    /// the bridges; only it moves, the other functions of its slot stay on their drivers.
    @Test func oneFunctionOfASlotAloneInItsGroup() throws {
        let tree = try FakeHostTree()
        for driver in ["vfio-pci", "xhci_hcd", "ahci", "ccp"] { try tree.driver(driver) }
        try tree.device("0000:0a:00.2", vendor: 0x1022, device: 0x1456, classCode: 0x108000, driver: "ccp", group: 30)
        try tree.device("0000:0a:00.3", vendor: 0x1022, device: 0x145f, classCode: 0x0c0330, driver: "xhci_hcd", group: 31)
        try tree.device("0000:0b:00.0", vendor: 0x1022, device: 0x7901, classCode: 0x010601, driver: "ahci", group: 32)
        try tree.device("0000:0b:00.3", vendor: 0x1022, device: 0x149c, classCode: 0x0c0330, driver: "xhci_hcd", group: 32)
        let kernel = FakeKernel(tree: tree)
        let binder = DriverBinder(fileSystem: kernel)
        let controller = PCIAddress("0000:0a:00.3")!
        let verified = try binder.verify(function: controller)
        #expect(verified.addresses == [controller] && verified.group.number == 31)
        let binding = try binder.bindToVFIO(controller, in: verified)
        #expect(binding.originalDriver == "xhci_hcd")
        #expect(binder.currentDriver(controller) == "vfio-pci")
        #expect(binder.currentDriver(PCIAddress("0000:0a:00.2")!) == "ccp")
        #expect(throws: BindError.notInSlot(PCIAddress("0000:0a:00.2")!, PCISlot("0000:0a:00")!)) {
            _ = try binder.bindToVFIO(PCIAddress("0000:0a:00.2")!, in: verified)
        }
        try binder.returnToHost(binding, in: verified)
        #expect(binder.currentDriver(controller) == "xhci_hcd")
        // A controller that shares its group with the SATA controller is refused before anything is written.
        let writes = kernel.writes.count
        #expect(throws: BindError.foreignGroupMembers(group: 32, members: [PCIAddress("0000:0b:00.0")!])) {
            _ = try binder.verify(function: PCIAddress("0000:0b:00.3")!)
        }
        #expect(kernel.writes.count == writes)
    }

    @Test func driverlessFunctionsStayDriverlessOnReturn() throws {
        let tree = try FakeHostTree()
        try tree.driver("vfio-pci")
        try tree.device("0000:00:03.0", vendor: 0x1234, device: 0x1111, classCode: 0x038000, group: 1)
        try tree.device("0000:00:03.1", vendor: 0x8086, device: 0x293e, classCode: 0x040300, group: 1)
        let binder = DriverBinder(fileSystem: FakeKernel(tree: tree))
        let verified = try binder.verify(PCISlot("0000:00:03")!)
        let bindings = try binder.bindSlotToVFIO(verified)
        #expect(bindings.allSatisfy { $0.originalDriver == nil })
        #expect(binder.currentDriver(PCIAddress("0000:00:03.1")!) == "vfio-pci")
        try binder.returnSlotToHost(bindings, in: verified)
        #expect(binder.currentDriver(PCIAddress("0000:00:03.0")!) == nil)
        #expect(binder.currentDriver(PCIAddress("0000:00:03.1")!) == nil)
    }

    @Test func blockedUnbindTimesOutWithTypedError() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        let kernel = FakeKernel(tree: tree)
        defer { kernel.releaseBlockedUnbinds() }
        kernel.blockUnbind(of: "0000:05:00.0")
        let binder = DriverBinder(fileSystem: kernel, unbindTimeout: .milliseconds(300))
        let verified = try binder.verify(slot)
        #expect(throws: BindError.unbindTimedOut(PCIAddress("0000:05:00.0")!, driver: "nvidia", seconds: 0.3)) {
            _ = try binder.bindSlotToVFIO(verified)
        }
    }

    @Test func functionThatRefusesToRebindIsReported() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        let kernel = FakeKernel(tree: tree)
        let binder = DriverBinder(fileSystem: kernel, probeTimeout: .milliseconds(100))
        let verified = try binder.verify(slot)
        let bindings = try binder.bindSlotToVFIO(verified)
        kernel.refuseBind(of: "0000:05:00.1")
        #expect(throws: BindError.wrongDriver(PCIAddress("0000:05:00.1")!, expected: "snd_hda_intel", actual: nil)) {
            try binder.returnSlotToHost(bindings, in: verified)
        }
        // The other function still went back.
        #expect(binder.currentDriver(PCIAddress("0000:05:00.0")!) == "nvidia")
    }

    @Test func failedBindRollsBackEarlierFunctions() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        let kernel = FakeKernel(tree: tree)
        kernel.refuseBind(of: "0000:05:00.1")
        let binder = DriverBinder(fileSystem: kernel, probeTimeout: .milliseconds(100))
        let verified = try binder.verify(slot)
        #expect(throws: BindError.wrongDriver(PCIAddress("0000:05:00.1")!, expected: "vfio-pci", actual: nil)) {
            _ = try binder.bindSlotToVFIO(verified)
        }
        #expect(binder.currentDriver(PCIAddress("0000:05:00.0")!) == "nvidia")
    }

    @Test func refusesGroupsWithForeignDevicesAndAddressesOutsideTheSlot() throws {
        let tree = try Scenarios.amdHost()
        let kernel = FakeKernel(tree: tree)
        let binder = DriverBinder(fileSystem: kernel)
        #expect(throws: BindError.foreignGroupMembers(group: 30, members: [PCIAddress("0000:0c:00.3")!])) {
            _ = try binder.verify(PCISlot("0000:0a:00")!)
        }
        let nvidia = try binder.verify(PCISlot("0000:0b:00")!)
        #expect(throws: BindError.notInSlot(PCIAddress("0000:02:00.0")!, PCISlot("0000:0b:00")!)) {
            _ = try binder.bindToVFIO(PCIAddress("0000:02:00.0")!, in: nvidia)
        }
        #expect(kernel.writes.isEmpty)
    }

    @Test func refusesWhenIOMMUIsOffOrVFIOMissing() throws {
        let off = try Scenarios.intelIOMMUOff()
        #expect(throws: BindError.noIOMMUGroup(PCIAddress("0000:01:00.0")!)) {
            _ = try DriverBinder(fileSystem: FakeKernel(tree: off)).verify(PCISlot("0000:01:00")!)
        }
        let tree = try Scenarios.twoIdentical3090Ti()
        try tree.remove("/sys/bus/pci/drivers/vfio-pci")
        let binder = DriverBinder(fileSystem: FakeKernel(tree: tree))
        #expect(throws: BindError.vfioDriverMissing) { _ = try binder.bindSlotToVFIO(try binder.verify(slot)) }
    }

    @Test func holderScanFindsProcessesOnTheCardsNodes() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        try tree.drmNodes("0000:05:00.0", card: 1, render: 129)
        try tree.drmNodes("0000:01:00.0", card: 0, render: 128)
        try tree.soundCard("0000:05:00.1", card: 2)
        try tree.process(1200, command: "Xorg", openFiles: ["/dev/nvidiactl", "/dev/nvidia0", "/dev/dri/card0", "/dev/null"])
        try tree.process(1300, command: "pipewire", openFiles: ["/dev/snd/controlC2", "/dev/snd/pcmC2D3p", "/dev/snd/controlC0"])
        try tree.process(1400, command: "firefox", openFiles: ["/dev/dri/renderD128", "socket:[1234]"])
        try tree.process(1500, command: "blender", openFiles: ["/dev/dri/renderD129"])
        try tree.directory("/proc/self")
        let scanner = HolderScanner(fileSystem: tree.fileSystem)
        let functions = try PCIDeviceReader(fileSystem: tree.fileSystem).functions(of: slot)
        let holders = scanner.holders(of: functions)
        #expect(holders == [
            DeviceHolder(pid: 1200, command: "Xorg", deviceNode: "/dev/nvidia0"),
            DeviceHolder(pid: 1200, command: "Xorg", deviceNode: "/dev/nvidiactl"),
            DeviceHolder(pid: 1300, command: "pipewire", deviceNode: "/dev/snd/controlC2"),
            DeviceHolder(pid: 1300, command: "pipewire", deviceNode: "/dev/snd/pcmC2D3p"),
            DeviceHolder(pid: 1500, command: "blender", deviceNode: "/dev/dri/renderD129"),
        ])
    }

    /// A `vm host bind` record naming another device than the slot's functions is refused before
    /// anything is written (issue 17).
    @Test func aTamperedBindingRecordIsRefused() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        let kernel = FakeKernel(tree: tree)
        let store = BindingRecordStore(fileSystem: kernel)
        let functions = try DriverBinder(fileSystem: kernel).verify(slot).addresses
        let file = "/var/lib/vm/bindings/0000_05_00.json"
        let cases = [
            (#"[{"address":"0000:01:00.0","originalDriver":"nvidia"}]"#, "it names 0000:01:00.0, which is not one of 0000:05:00.0, 0000:05:00.1"),
            (#"[{"address":"0000:05:00.0"},{"address":"0000:05:00.0"},{"address":"0000:05:00.1"}]"#, "it names a function twice"),
            (#"[{"address":"0000:05:00.0","originalOverride":"a b"},{"address":"0000:05:00.1"}]"#, "'a b' (for 0000:05:00.0) is not a driver name"),
        ]
        for (record, reason) in cases {
            try tree.file(file, record)
            #expect(throws: BindError.untrustedRecord(file: file, reason: reason)) { try store.load(slot, functions: functions) }
        }
        try tree.file(file, #"[{"address":"0000:05:00.1"},{"address":"0000:05:00.0","originalDriver":"nvidia"}]"#)
        #expect(try store.load(slot, functions: functions)?.count == 2)
        #expect(kernel.writes.isEmpty)
    }
}
