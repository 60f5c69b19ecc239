import Foundation
@testable import HostLinux
import HostLinuxFakes
import Testing
import VMCore

/// A runner for hosts without qemu or libvirt installed.
struct NoProgramsRunner: HostCommandRunner {
    func run(_ arguments: [String], timeout: Duration) throws -> CommandResult {
        throw CommandRunnerError.notFound(arguments[0])
    }
}

@Suite struct HostReadingTests {
    @Test func readsPCIDevicesFromSysfs() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        let device = try PCIDeviceReader(fileSystem: tree.fileSystem).device(at: PCIAddress("0000:05:00.0")!)
        #expect(device == PCIDevice(address: PCIAddress("0000:05:00.0")!, vendorID: 0x10de, deviceID: 0x2203, subsystemVendorID: 0x1043,
                                    subsystemDeviceID: 0x87b4, classCode: 0x030000, driver: "nvidia", driverOverride: nil,
                                    iommuGroup: 20, bootVGA: false))
        let group = try IOMMUGroupReader(fileSystem: tree.fileSystem).group(20)
        #expect(group.members.map(\.description) == ["0000:00:1c.4", "0000:05:00.0", "0000:05:00.1"])
    }

    @Test func findsBootDiskAndDefaultRouteNIC() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        let essentials = HostEssentials.read(tree.fileSystem)
        #expect(essentials.bootDiskControllers == [PCIAddress("0000:3d:00.0")!])
        #expect(essentials.defaultRouteNICs == [PCIAddress("0000:02:00.0")!])
        #expect(essentials.defaultRouteInterfaces == ["enp2s0"])
    }

    @Test func gpuListIdenticalCardsWithNamesAndGroups() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        let gpus = try GPUInventory.read(tree.fileSystem)
        #expect(gpus.map(\.slot) == ["0000:01:00", "0000:05:00"])
        let second = try #require(gpus.last)
        #expect(second.identicalTo == ["0000:01:00"])
        #expect(second.functions.map(\.device.address.description) == ["0000:05:00.0", "0000:05:00.1"])
        #expect(second.functions.map(\.deviceName) == ["GA102 [GeForce RTX 3090 Ti]", "GA102 High Definition Audio Controller"])
        #expect(second.functions.first?.vendorName == "NVIDIA Corporation")
        let group = try #require(second.group)
        #expect(group.number == 20)
        #expect(group.members.count == 3)
        // On the host drivers the group is not viable yet, but holds nothing but the card and a bridge.
        #expect(!group.viability.viable)
        #expect(group.viability.blockingMembers.map(\.description) == ["0000:05:00.0", "0000:05:00.1"])
        #expect(group.viability.foreignMembers.isEmpty)
    }

    @Test func gpuSharingGroupWithUSBControllerIsNamed() throws {
        let tree = try Scenarios.amdHost()
        let gpus = try GPUInventory.read(tree.fileSystem)
        let radeon = try #require(gpus.first { $0.slot == "0000:0a:00" })
        let group = try #require(radeon.group)
        #expect(group.viability.foreignMembers.map(\.description) == ["0000:0c:00.3"])
        #expect(group.members.first { $0.device.address.description == "0000:0c:00.3" }?.deviceName == "Matisse USB 3.0 Host Controller")
        #expect(radeon.identicalTo.isEmpty)
    }

    @Test func viabilityRules() {
        let slot = PCISlot("0000:05:00")!
        func device(_ address: String, _ classCode: UInt32, _ driver: String?) -> PCIDevice {
            PCIDevice(address: PCIAddress(address)!, vendorID: 1, deviceID: 2, classCode: classCode, driver: driver)
        }
        let viable = GroupViability.evaluate(members: [device("0000:00:1c.4", 0x060400, "pcieport"), device("0000:05:00.0", 0x030000, "vfio-pci"),
                                                       device("0000:05:00.1", 0x040300, nil)], for: slot)
        #expect(viable.viable && viable.blockingMembers.isEmpty && viable.foreignMembers.isEmpty)
        let audioOnHost = GroupViability.evaluate(members: [device("0000:05:00.0", 0x030000, "vfio-pci"), device("0000:05:00.1", 0x040300, "snd_hda_intel")], for: slot)
        #expect(!audioOnHost.viable && audioOnHost.blockingMembers == [PCIAddress("0000:05:00.1")!])
    }

    @Test func checksOnAGoodIntelHost() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        let facts = HostFacts.read(tree.fileSystem, runner: NoProgramsRunner())
        let checks = Dictionary(uniqueKeysWithValues: HostChecks.evaluate(facts).map { ($0.name, $0) })
        #expect(checks["cpu"]?.status == .ok)
        #expect(checks["kvm"]?.status == .ok)
        #expect(checks["iommu"]?.status == .ok)
        #expect(checks["iommu"]?.message.contains("groups") == true)
        #expect(checks["vfio"]?.status == .ok)
        #expect(checks["ovmf"]?.message == "OVMF: /usr/share/OVMF/OVMF_CODE_4M.fd + /usr/share/OVMF/OVMF_VARS_4M.fd")
        #expect(checks["qemu"]?.status == .fail)
        #expect(checks["qemu"]?.fix == "apt-get install qemu-system-x86 qemu-utils")
        #expect(checks["libvirt"]?.status == .warn)
    }

    @Test func checksWithRealQEMUOnThisMachine() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        let runner = ProcessCommandRunner()
        try #require(runner.locate("qemu-system-x86_64") != nil, "the test bed installs qemu-system-x86")
        let facts = HostFacts.read(tree.fileSystem, runner: runner)
        #expect(facts.qemuVersion?.split(separator: ".").count == 3)
        #expect(HostChecks.evaluate(facts).first { $0.name == "qemu" }?.status == .ok)
    }

    @Test func intelIOMMUOffNamesTheGrubFix() throws {
        let tree = try Scenarios.intelIOMMUOff()
        let check = try #require(HostChecks.evaluate(HostFacts.read(tree.fileSystem, runner: NoProgramsRunner())).first { $0.name == "iommu" })
        #expect(check.status == .fail)
        #expect(check.fix == "add intel_iommu=on to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, run update-grub, reboot; also enable VT-d in the firmware setup")
    }

    @Test func amdIOMMUAdviceNeverSuggestsAmdIommuOn() throws {
        let tree = try Scenarios.amdHost()
        var facts = HostFacts.read(tree.fileSystem, runner: NoProgramsRunner())
        let on = try #require(HostChecks.evaluate(facts).first { $0.name == "iommu" })
        #expect(on.status == .warn) // amd_iommu=on is on its command line: not valid
        #expect(on.fix?.contains("remove amd_iommu=on") == true)
        facts.iommuGroupCount = 0
        facts.commandLine = KernelCommandLine.parse("ro quiet")
        let off = try #require(HostChecks.evaluate(facts).first { $0.name == "iommu" })
        #expect(off.status == .fail)
        #expect(off.fix?.contains("firmware setup") == true)
        #expect(off.fix?.contains("iommu=pt") == true)
        #expect(off.fix?.contains("add amd_iommu=on") == false)
    }

    @Test func noVirtualizationFlagsFailCPUAndKVM() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        try tree.cpu(.intel, flags: ["fpu", "vme", "de", "pse"])
        try tree.remove("/dev/kvm")
        let checks = HostChecks.evaluate(HostFacts.read(tree.fileSystem, runner: NoProgramsRunner()))
        let cpu = try #require(checks.first { $0.name == "cpu" })
        #expect(cpu.status == .fail)
        #expect(cpu.fix == "enable Intel Virtualization Technology (VT-x) in the firmware setup (UEFI/BIOS), then boot again")
        #expect(checks.first { $0.name == "kvm" }?.status == .fail)
    }

    /// `vm host check` fails KVM that opens but cannot run a guest, as `vm up` does (one probe).
    @Test func brokenKVMFailsTheCheck() throws {
        var facts = HostFacts.read(try Scenarios.twoIdentical3090Ti().fileSystem, runner: NoProgramsRunner())
        #expect(facts.kvmProblem == nil)  // a fake root is never probed
        facts.kvmDevicePresent = true
        facts.kvmDeviceAccessible = true
        #expect(HostChecks.evaluate(facts).first { $0.name == "kvm" }?.status == .ok)
        facts.kvmProblem = "KVM cannot create a virtual machine: Operation not supported"
        let kvm = try #require(HostChecks.evaluate(facts).first { $0.name == "kvm" })
        #expect(kvm.status == .fail)
        #expect(kvm.message == "/dev/kvm opens but KVM cannot run a guest: KVM cannot create a virtual machine: Operation not supported")
        #expect(kvm.fix?.contains("accelerator = \"tcg\"") == true)
    }

    /// The probe on this machine agrees with QEMU: when it finds no problem, QEMU starts with KVM.
    @Test func kvmProbeOnThisMachine() throws {
        #expect(KVMProbe.problem(device: "/nonexistent/kvm") == "cannot open /nonexistent/kvm: No such file or directory")
        #expect(KVMProbe.problem(device: "/dev/null")?.hasPrefix("/dev/null is not a KVM device") == true)
    }

    @Test func vfioModuleStates() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        let modules = KernelModules(fileSystem: tree.fileSystem)
        #expect(modules.state(of: "vfio-pci") == .loaded)
        #expect(modules.state(of: "vfio_iommu_type1") == .available)
        #expect(modules.state(of: "kvmgt") == .missing)
        try tree.remove("/sys/module/vfio_pci")
        try tree.kernelRelease(builtin: ["drivers/vfio/pci/vfio-pci"])
        #expect(modules.state(of: "vfio_pci") == .builtIn)
        try tree.kernelRelease()
        let check = HostChecks.evaluate(HostFacts.read(tree.fileSystem, runner: NoProgramsRunner())).first { $0.name == "vfio" }
        #expect(check?.status == .fail)
    }

    @Test func firmwareLocatorFindsFedoraLayout() throws {
        let tree = try FakeHostTree()
        try tree.file("/usr/share/edk2/ovmf/OVMF_CODE.fd", "c")
        try tree.file("/usr/share/edk2/ovmf/OVMF_VARS.fd", "v")
        #expect(FirmwareLocator(fileSystem: tree.fileSystem).preferred()?.code == "/usr/share/edk2/ovmf/OVMF_CODE.fd")
        #expect(FirmwareLocator(fileSystem: tree.fileSystem).preferred(secureBoot: true) == nil)
    }
}

@Suite struct JSONShapeTests {
    @Test func pciDeviceJSONUsesHexIdsAndRoundTrips() throws {
        let device = PCIDevice(address: PCIAddress("0000:05:00.1")!, vendorID: 0x10de, deviceID: 0x1aef, subsystemVendorID: 0x1043,
                               subsystemDeviceID: 0x87b4, classCode: 0x040300, driver: "snd_hda_intel", iommuGroup: 20)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(device), as: UTF8.self)
        #expect(json == #"{"address":"0000:05:00.1","class":"0x040300","device":"1aef","driver":"snd_hda_intel","iommuGroup":20,"subsystemDevice":"87b4","subsystemVendor":"1043","vendor":"10de"}"#)
        #expect(try JSONDecoder().decode(PCIDevice.self, from: Data(json.utf8)) == device)
    }
}
