import Foundation
import GuestSupport
import HostLinux
import HostLinuxFakes
import Synchronization
import Testing
import VMCore
@testable import QEMU

/// `[[usb_host_controller]]` around `vm up` and the end of a run, on a fake host (this machine's own sysfs is never
/// touched): the controller goes to vfio-pci only after a GPU's group checks, and back to its driver whoever ends the
/// run. The same with a real kernel and a guest that uses the controller: NestedDeskTests.
@Suite(.serialized)
struct USBControllerLifecycleTests {
    static let controller = PCIAddress("0000:0a:00.3")!

    /// A host with an xHCI alone in group 31 (`0000:0a:00.3`, its slot's other function in group 30) and one that
    /// shares group 32 with a SATA controller (`0000:0b:00.3`).
    func host() throws -> FakeKernel {
        let tree = try FakeHostTree()
        for driver in ["vfio-pci", "xhci_hcd", "ahci", "ccp"] { try tree.driver(driver) }
        try tree.device("0000:0a:00.2", vendor: 0x1022, device: 0x1456, classCode: 0x108000, driver: "ccp", group: 30)
        try tree.device("0000:0a:00.3", vendor: 0x1022, device: 0x145f, classCode: 0x0c0330, driver: "xhci_hcd", group: 31)
        try tree.device("0000:0b:00.0", vendor: 0x1022, device: 0x7901, classCode: 0x010601, driver: "ahci", group: 32)
        try tree.device("0000:0b:00.3", vendor: 0x1022, device: 0x149c, classCode: 0x0c0330, driver: "xhci_hcd", group: 32)
        return FakeKernel(tree: tree)
    }

    func machine(_ scratch: Scratch, _ name: String, on kernel: FakeKernel, definition: String) throws -> (QEMUMachine, LoadedDefinition) {
        let loaded = try scratch.define(name, definition)
        var machine = try scratch.machine(loaded, passthroughProblems: { BootPassthroughCheck(fileSystem: kernel).problems(for: $0) })
        machine.hostFileSystem = kernel
        return (machine, loaded)
    }

    func driver(_ kernel: FakeKernel, _ address: String) -> String? {
        DriverBinder(fileSystem: kernel).currentDriver(PCIAddress(address)!)
    }

    @Test("vm up moves the controller to vfio-pci before QEMU; a start that fails gives it back and leaves no record")
    func failedStartGivesTheControllerBack() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let kernel = try host()
        let (machine, loaded) = try machine(scratch, "usbhc", on: kernel,
                                            definition: bed.definition(extra: "[[usb_host_controller]]\naddress = \"0000:0a:00.3\"\n"))
        // This machine has no 0000:0a:00.3: QEMU refuses the vfio-pci device, after vm up moved the fake one.
        await #expect(throws: UpError.self) { _ = try await machine.up(paused: true) }
        #expect(kernel.writes.contains("/sys/bus/pci/devices/0000:0a:00.3/driver_override <- vfio-pci"), "\(kernel.writes)")
        #expect(kernel.writes.contains("/sys/bus/pci/drivers/xhci_hcd/unbind <- 0000:0a:00.3"), "\(kernel.writes)")
        #expect(driver(kernel, "0000:0a:00.3") == "xhci_hcd")
        #expect(try PCIDeviceReader(fileSystem: kernel).device(at: Self.controller).driverOverride == nil)
        #expect(driver(kernel, "0000:0a:00.2") == "ccp")
        #expect(kernel.writes.allSatisfy { !$0.contains("0a:00.2") && !$0.contains("0b:00") })
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.usbControllerRecord))
        #expect(Scratch.qemuProcesses(named: "usbhc").isEmpty)
    }

    @Test("a controller whose IOMMU group holds another endpoint is refused before anything moves, naming it")
    func sharedGroupIsRefused() async throws {
        let scratch = try Scratch()
        let kernel = try host()
        let (machine, loaded) = try machine(scratch, "shared", on: kernel, definition: "[[usb_host_controller]]\naddress = \"0000:0b:00.3\"\n")
        try PrivateDirectory.make(loaded.paths.stateDirectory)
        await #expect { try await machine.takeUSBControllers() } throws: { error in
            "\(error)".contains("IOMMU group 32 also holds 0000:0b:00.0") && "\(error)".contains("nothing is left changed")
        }
        #expect(kernel.writes.isEmpty, "\(kernel.writes)")
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.usbControllerRecord))
    }

    @Test("the check before launch: a controller not on vfio-pci, or in a group with a device on a host driver, is named with the fix")
    func passthroughCheck() throws {
        let kernel = try host()
        var spec = VMSpec(name: try VMName("check"))
        spec.usbHostControllers = [USBHostController(address: PCIAddress("0000:0b:00.3")!), USBHostController(address: PCIAddress("0000:0c:00.0")!)]
        let problems = BootPassthroughCheck(fileSystem: kernel).problems(for: spec)
        #expect(problems == [
            "USB controller 0000:0b:00.3 is bound to xhci_hcd, not vfio-pci",
            "IOMMU group 32 is not viable: 0000:0b:00.0 (ahci) share it and are bound to host drivers; bind them to vfio-pci too or pass another USB controller",
            "0000:0c:00.0 is not present on this host; `vm usb controllers` lists the USB controllers",
        ], "\(problems)")
        // libvirt moves a managed hostdev itself: only presence and the group count there.
        #expect(BootPassthroughCheck(fileSystem: kernel, driverSwitchedByLibvirt: true).problems(for: spec).count == 2)
    }

    @Test("not a USB controller: refused with the command that lists the controllers")
    func otherDevicesAreRefused() async throws {
        let scratch = try Scratch()
        let kernel = try host()
        let (machine, loaded) = try machine(scratch, "ccp", on: kernel, definition: "[[usb_host_controller]]\naddress = \"0000:0a:00.2\"\n")
        try PrivateDirectory.make(loaded.paths.stateDirectory)
        await #expect { try await machine.takeUSBControllers() } throws: { error in
            "\(error)".contains("0000:0a:00.2 is not a USB controller (class 0x108000); `vm usb controllers`")
        }
        #expect(driver(kernel, "0000:0a:00.2") == "ccp")
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.usbControllerRecord))
    }

    @Test("a run that crashed with the controller taken: the record gives it back at the next undo; a foreign record is refused")
    func recordOfACrashedRun() async throws {
        let scratch = try Scratch()
        let kernel = try host()
        let (machine, loaded) = try machine(scratch, "crashed", on: kernel, definition: "[[usb_host_controller]]\naddress = \"0000:0a:00.3\"\n")
        try PrivateDirectory.make(loaded.paths.stateDirectory)
        try await machine.takeUSBControllers()
        #expect(driver(kernel, "0000:0a:00.3") == "vfio-pci")
        #expect(FileManager.default.fileExists(atPath: loaded.paths.usbControllerRecord))
        // Nothing ran the way back (a crash); the next vm up, vm down or the supervisor undoes the host changes.
        try machine.undoHostChanges()
        #expect(driver(kernel, "0000:0a:00.3") == "xhci_hcd")
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.usbControllerRecord))

        // A record naming a device that is no [[usb_host_controller]] of this VM is not trusted.
        let foreign = FunctionBinding(address: PCIAddress("0000:0b:00.0")!, originalDriver: "ahci", originalOverride: nil)
        try machine.usbControllerRecord.save(USBControllerJournal(bindings: [foreign]), root: kernel.root)
        let writes = kernel.writes.count
        #expect { try machine.undoHostChanges() } throws: { "\($0)".contains("it names 0000:0b:00.0, which is no [[usb_host_controller]] of crashed") }
        #expect(kernel.writes.count == writes)
        #expect(FileManager.default.fileExists(atPath: loaded.paths.usbControllerRecord))
    }

    @Test("vm up with Looking Glass scans the processes for the shared-memory file once")
    func oneScanOfTheProcesses() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let file = "/dev/shm/vm-test-scan-\(getpid())"
        defer { unlink(file) }
        let loaded = try scratch.define("scan", bed.definition(extra: "[looking_glass]\nsize = \"2M\"\npath = \"\(file)\"\n"))
        let base = try scratch.machine(loaded)
        let counting = CountingProcessTable()
        let machine = QEMUMachine(spec: base.spec, paths: base.paths, launcher: base.launcher, processes: counting, logger: base.logger,
                                  definitionFile: base.definitionFile, supervisorExecutable: base.supervisorExecutable,
                                  passthroughProblems: { _ in [] })
        _ = try await machine.up(paused: true)
        #expect(counting.scans.load(ordering: .relaxed) == 1)
        #expect(FileManager.default.fileExists(atPath: file))
        _ = try await machine.down(timeout: .seconds(5), force: true, keepGPUOnVFIO: false)
        #expect(Scratch.qemuProcesses(named: "scan").isEmpty)
    }
}

/// The system's process table, counting the scans for a mapped file.
final class CountingProcessTable: ProcessTable {
    let system = SystemProcessTable()
    let scans = Atomic<Int>(0)

    func isAlive(_ pid: Int32) -> Bool { system.isAlive(pid) }
    func commandLine(of pid: Int32) -> [String]? { system.commandLine(of: pid) }
    @discardableResult func send(_ signal: Int32, to pid: Int32) -> Bool { system.send(signal, to: pid) }
    func processMapping(_ path: String) -> Int32? {
        scans.add(1, ordering: .relaxed)
        return system.processMapping(path)
    }
}
