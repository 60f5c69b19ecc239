import Foundation
import GuestSupport
import HostLinux
import Testing
import VMCore
@testable import QEMU

/// A fake sysfs with one GPU (display + audio) in IOMMU group 20, each function bound to `drivers`.
private func fakeHost(drivers: [String?], extraGroupMember: (address: String, driver: String)? = nil) throws -> String {
    let root = NSTemporaryDirectory() + "vm-sysfs-" + UUID().uuidString
    let fm = FileManager.default
    var members: [(String, String?, String)] = [("0000:05:00.0", drivers[0], "0x030000"), ("0000:05:00.1", drivers[1], "0x040300")]
    if let extra = extraGroupMember { members.append((extra.address, extra.driver, "0x0c0330")) }
    try fm.createDirectory(atPath: "\(root)/sys/kernel/iommu_groups/20/devices", withIntermediateDirectories: true)
    for (address, driver, classCode) in members {
        let dir = "\(root)/sys/bus/pci/devices/\(address)"
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (file, value) in [("vendor", "0x10de"), ("device", address.hasSuffix(".0") ? "0x2203" : "0x1aef"), ("class", classCode)] {
            try "\(value)\n".write(toFile: "\(dir)/\(file)", atomically: true, encoding: .utf8)
        }
        if let driver {
            try fm.createDirectory(atPath: "\(root)/sys/bus/pci/drivers/\(driver)", withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: "\(dir)/driver", withDestinationPath: "../../../bus/pci/drivers/\(driver)")
        }
        try fm.createSymbolicLink(atPath: "\(dir)/iommu_group", withDestinationPath: "../../../../kernel/iommu_groups/20")
        try fm.createSymbolicLink(atPath: "\(root)/sys/kernel/iommu_groups/20/devices/\(address)", withDestinationPath: dir)
    }
    return root
}

private func gpuSpec() throws -> VMSpec {
    var spec = VMSpec(name: try VMName("gpu"))
    spec.gpus = [GPUPassthrough(slot: PCISlot("0000:05:00"), functions: [PCIAddress("0000:05:00.0")!, PCIAddress("0000:05:00.1")!])]
    return spec
}

@Test func functionsOnHostDriversAreRefusedWithTheFix() throws {
    let root = try fakeHost(drivers: ["nvidia", "snd_hda_intel"])
    defer { try? FileManager.default.removeItem(atPath: root) }
    let problems = BootPassthroughCheck(fileSystem: RootedFileSystem(root: HostRoot(root))).problems(for: try gpuSpec())
    #expect(problems == [
        "0000:05:00.0 [10de:2203] is bound to nvidia, not vfio-pci; run `vm host bind 0000:05:00 vfio-pci` now, or `vm host isolate 0000:05:00 --apply` and reboot to keep it off the host driver",
        "0000:05:00.1 [10de:1aef] is bound to snd_hda_intel, not vfio-pci; run `vm host bind 0000:05:00 vfio-pci` now, or `vm host isolate 0000:05:00 --apply` and reboot to keep it off the host driver",
    ])
}

@Test func boundFunctionsInAViableGroupPass() throws {
    let root = try fakeHost(drivers: ["vfio-pci", "vfio-pci"])
    defer { try? FileManager.default.removeItem(atPath: root) }
    #expect(BootPassthroughCheck(fileSystem: RootedFileSystem(root: HostRoot(root))).problems(for: try gpuSpec()).isEmpty)
}

@Test func aGroupSharedWithAHostDeviceIsNotViable() throws {
    let root = try fakeHost(drivers: ["vfio-pci", "vfio-pci"], extraGroupMember: ("0000:06:00.0", "xhci_hcd"))
    defer { try? FileManager.default.removeItem(atPath: root) }
    #expect(BootPassthroughCheck(fileSystem: RootedFileSystem(root: HostRoot(root))).problems(for: try gpuSpec()) == [
        "IOMMU group 20 is not viable: 0000:06:00.0 (xhci_hcd) share it and are bound to host drivers; bind them to vfio-pci too or move the card to another slot",
    ])
}

@Test func missingFunctionsAndHotGPUs() throws {
    let root = try fakeHost(drivers: [nil, nil])
    defer { try? FileManager.default.removeItem(atPath: root) }
    var spec = try gpuSpec()
    spec.gpus[0].functions.append(PCIAddress("0000:05:00.2")!)
    let check = BootPassthroughCheck(fileSystem: RootedFileSystem(root: HostRoot(root)))
    #expect(check.problems(for: spec).contains("0000:05:00.2 is not present on this host; check the address with `vm gpu list`"))
    spec.gpus[0].plug = .hot
    #expect(check.problems(for: spec).isEmpty, "hot GPUs are checked by `vm gpu attach`, not at boot")
}

@Test func upIsRefusedOnAFakeHostWithTheGPUOnItsDriver() async throws {
    let root = try fakeHost(drivers: ["nvidia", "snd_hda_intel"])
    defer { try? FileManager.default.removeItem(atPath: root) }
    let scratch = try Scratch()
    let loaded = try scratch.define("fakegpu", """
        accelerator = "tcg"
        [firmware]
        type = "bios"
        [[gpu]]
        functions = ["0000:05:00.0", "0000:05:00.1"]
        """)
    let check = BootPassthroughCheck(fileSystem: RootedFileSystem(root: HostRoot(root)))
    let machine = try scratch.machine(loaded, passthroughProblems: { check.problems(for: $0) })
    await #expect(throws: StartRefusal.self) { try await machine.up() }
    #expect(Scratch.qemuProcesses(named: "fakegpu").isEmpty)
}
