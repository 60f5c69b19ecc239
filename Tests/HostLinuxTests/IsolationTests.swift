import Foundation
import HostLinux
import HostLinuxFakes
import Testing
import VMCore

/// The repository's templates, found from this file's path.
let repoTemplates = TemplateDirectory(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("templates").path)

/// Golden files: `Golden/<name>`; `VM_UPDATE_GOLDEN=1` rewrites them (review the diff before committing).
func expectGolden(_ text: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/" + name).path
    if ProcessInfo.processInfo.environment["VM_UPDATE_GOLDEN"] == "1" {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return
    }
    let golden = try #require(FileManager.default.contents(atPath: path), "missing golden \(name)", sourceLocation: sourceLocation)
    #expect(text == String(decoding: golden, as: UTF8.self), "golden \(name)", sourceLocation: sourceLocation)
}

/// A plan rendered as text: method, arguments, commands, notes, every diff.
func describe(_ plan: IsolationPlan) -> String {
    var text = "slot \(plan.slot) via \(plan.method.rawValue)\n"
    text += "kernel arguments: \(plan.kernelArguments.joined(separator: " "))\n"
    text += plan.commands.map { "run: " + $0.joined(separator: " ") + "\n" }.joined()
    text += plan.notes.map { "note: " + $0 + "\n" }.joined()
    text += plan.overriddenRefusals.map { "forced: " + $0 + "\n" }.joined()
    text += plan.changes.map { "mode \(String($0.mode, radix: 8)) \($0.path)\n" + $0.diff }.joined()
    return text
}

@Suite struct IsolationTests {
    let planner = IsolationPlanner(templates: repoTemplates)

    @Test func identicalCardsUseAnInitramfsOverrideScript() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        let plan = try planner.plan(try IsolationInputs.read(tree.fileSystem, slot: PCISlot("0000:05:00")!))
        #expect(plan.method == .driverOverride)
        #expect(plan.kernelArguments == ["intel_iommu=on"])
        #expect(plan.commands == [["update-grub"], ["update-initramfs", "-u", "-k", "all"]])
        let script = try #require(plan.changes.first { $0.path == IsolationPaths.initramfsScript })
        #expect(script.after.hasPrefix("#!/bin/sh\n"))
        #expect(script.mode == 0o755)
        #expect(script.after.contains("for dev in 0000:05:00.0 0000:05:00.1; do"))
        #expect(!script.after.contains("01:00"))
        try expectGolden(describe(plan), "identical-3090ti-05.plan")
    }

    @Test func distinctCardOnAMDHostUsesVFIOIDsAndSoftdeps() throws {
        let tree = try Scenarios.amdHost()
        let plan = try planner.plan(try IsolationInputs.read(tree.fileSystem, slot: PCISlot("0000:0b:00")!))
        #expect(plan.method == .vfioIDs)
        #expect(plan.kernelArguments == ["vfio-pci.ids=10de:2203,10de:1aef"])
        #expect(!plan.kernelArguments.contains { $0.contains("amd_iommu") })
        let modprobe = try #require(plan.changes.first { $0.path == IsolationPaths.modprobeConf })
        #expect(modprobe.after.contains("softdep nvidia pre: vfio-pci\nsoftdep snd_hda_intel pre: vfio-pci\n"))
        try expectGolden(describe(plan), "amd-host-3090ti-0b.plan")
    }

    @Test func intelHostWithIOMMUOffAddsIntelIOMMUAndNotes() throws {
        let tree = try Scenarios.intelIOMMUOff()
        let plan = try planner.plan(try IsolationInputs.read(tree.fileSystem, slot: PCISlot("0000:01:00")!))
        #expect(plan.method == .vfioIDs)
        #expect(plan.kernelArguments == ["intel_iommu=on", "vfio-pci.ids=10de:2203,10de:1aef"])
        #expect(plan.notes.first?.contains("IOMMU is off") == true)
        let grub = try #require(plan.changes.first { $0.path == IsolationPaths.grubDefaults })
        #expect(grub.after.contains("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash intel_iommu=on vfio-pci.ids=10de:2203,10de:1aef\"\n"))
        try expectGolden(describe(plan), "intel-iommu-off-3090ti-01.plan")
    }

    @Test func kernelCmdlineHostsAreEditedToo() throws {
        let tree = try Scenarios.intelIOMMUOff()
        try tree.remove("/etc/default/grub")
        try tree.file("/etc/kernel/cmdline", "root=UUID=abcd ro quiet splash\n")
        let plan = try planner.plan(try IsolationInputs.read(tree.fileSystem, slot: PCISlot("0000:01:00")!))
        let cmdline = try #require(plan.changes.first { $0.path == IsolationPaths.kernelCmdline })
        #expect(cmdline.after == "root=UUID=abcd ro quiet splash intel_iommu=on vfio-pci.ids=10de:2203,10de:1aef\n")
        #expect(!plan.commands.contains(["update-grub"]))
        #expect(plan.notes.contains { $0.contains("kernelstub") })
    }

    @Test func refusesGroupWithUSBControllerUnlessForced() throws {
        let tree = try Scenarios.amdHost()
        let inputs = try IsolationInputs.read(tree.fileSystem, slot: PCISlot("0000:0a:00")!)
        var refusal: IsolationRefusal?
        do { _ = try planner.plan(inputs) } catch let error as IsolationRefusal { refusal = error }
        // The RX 6800 is also the boot display, but the host keeps the NVIDIA card: only the USB controller blocks.
        #expect(refusal == .foreignGroupMembers(group: 30, members: ["0000:0c:00.3 [1022:149c] class 0x0c0330 on xhci_hcd"]))
        let forced = try planner.plan(inputs, force: true)
        #expect(forced.overriddenRefusals.count == 1)
    }

    @Test func refusesBootDiskNetworkAndOnlyDisplay() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        var inputs = try IsolationInputs.read(tree.fileSystem, slot: PCISlot("0000:3d:00")!)
        #expect(throws: IsolationRefusal.bootDisk(group: 12, controllers: [PCIAddress("0000:3d:00.0")!])) { _ = try planner.plan(inputs) }
        inputs.slot = PCISlot("0000:02:00")!
        #expect(throws: IsolationRefusal.networkInUse(group: 14, nics: [PCIAddress("0000:02:00.0")!], interfaces: ["enp2s0"])) { _ = try planner.plan(inputs) }

        let single = try FakeHostTree()
        try Scenarios.baseHost(single)
        try Scenarios.rtx3090Ti(single, slot: "0000:01:00", group: 17, bootVGA: true, rootPort: "0000:00:01.0")
        let only = try IsolationInputs.read(single.fileSystem, slot: PCISlot("0000:01:00")!)
        #expect(throws: IsolationRefusal.onlyHostDisplay(PCIAddress("0000:01:00.0")!)) { _ = try planner.plan(only) }
        #expect(try planner.plan(only, force: true).method == .vfioIDs)
    }

    @Test func applyThenUndoRestoresTheTreeByteForByte() throws {
        for (tree, slot) in [(try Scenarios.twoIdentical3090Ti(), "0000:05:00"), (try Scenarios.amdHost(), "0000:0b:00")] {
            let before = try tree.snapshot()
            let plan = try planner.plan(try IsolationInputs.read(tree.fileSystem, slot: PCISlot(slot)!))
            let applier = IsolationApplier(fileSystem: tree.fileSystem)
            let manifest = try applier.apply(plan)
            #expect(manifest.commands == plan.commands)
            for change in plan.changes {
                #expect(try tree.fileSystem.readText(change.path) == change.after)
                #expect(try tree.fileSystem.permissions(change.path) == change.mode)
            }
            #expect(try tree.snapshot() != before)
            #expect(throws: IsolationApplyError.alreadyApplied(slot: slot)) { try applier.apply(plan) }
            try applier.undo()
            #expect(try tree.snapshot() == before)
            #expect(throws: IsolationApplyError.nothingToUndo) { try applier.undo() }
        }
    }

    @Test func applyRefusesFilesChangedSincePlanning() throws {
        let tree = try Scenarios.amdHost()
        let plan = try planner.plan(try IsolationInputs.read(tree.fileSystem, slot: PCISlot("0000:0b:00")!))
        try tree.grub("quiet edited")
        #expect(throws: IsolationApplyError.fileChanged("/etc/default/grub")) { try IsolationApplier(fileSystem: tree.fileSystem).apply(plan) }
        #expect(!tree.fileSystem.exists(IsolationApplier.manifestPath))
    }
}
