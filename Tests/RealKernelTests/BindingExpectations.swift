import Foundation
import HostLinux
import Testing

/// `vm host bind --json` output.
struct BindReport: Decodable {
    struct Function: Decodable {
        var address: String
        var before: String?
        var after: String?
    }

    var slot: String
    var group: Int
    var functions: [Function]
}

/// The checks shared by the cloud- and full-kernel runs: one stand-in pair's trip host driver (or none) ->
/// vfio-pci -> host driver (or none), `cycles` times, as the guest kernel's sysfs and `vm`'s own output show it.
struct BindingExpectations {
    let run: ScriptedGuest.Run
    let cycles: Int

    var transcript: GuestTranscript { run.transcript }

    /// The script ran to its end and the guest powered off.
    func checkCompleted() throws {
        try #require(transcript.unpackFailures.isEmpty, "the kernel did not unpack the initramfs: \(transcript.unpackFailures)")
        try #require(transcript.ready, "no VMTEST-READY; serial log:\n\(run.serialTail)")
        try #require(transcript.done, "the guest script did not reach its end; serial log:\n\(run.serialTail)")
        #expect(transcript.runExitStatus == 0)
        #expect(transcript.warnings.isEmpty, "test-bed warnings: \(transcript.warnings)")
        #expect(run.qemuStatus == 0, "QEMU: \(run.qemuStandardError)")
    }

    /// `vm gpu list --json` at `step`, decoded with the product's own types.
    func gpuList(_ step: String) throws -> [GPUEntry] {
        try #require(transcript.exitStatus(step) == 0, "vm gpu list failed at \(step): \(transcript.standardError(step))")
        return try JSONDecoder().decode([GPUEntry].self, from: Data(transcript.standardOutput(step).utf8))
    }

    /// Checks everything about `pair` and returns its IOMMU group number.
    @discardableResult
    func check(_ pair: StandInPair, originalDrivers: [String?]) throws -> Int {
        let slot = pair.slot
        // The kernel's view before anything moved.
        let before = transcript.functions("\(slot)/before")
        try #require(before.map(\.address) == pair.functions, "functions of \(slot) in the guest: \(before)")
        #expect(before.map(\.driver) == originalDrivers)
        let group = try #require(before.first?.group, "\(slot) has no IOMMU group")
        #expect(before.allSatisfy { $0.group == group })

        // vm gpu list: the slot, both functions, alone in its group.
        let entry = try #require(try gpuList("list-before").first { $0.slot == slot }, "vm gpu list has no \(slot)")
        #expect(entry.functions.map(\.device.address.description) == pair.functions)
        #expect(entry.functions.map(\.device.driver) == originalDrivers)
        let listed = try #require(entry.group, "vm gpu list shows no IOMMU group for \(slot)")
        #expect(listed.number == group)
        #expect(listed.members.map(\.device.address.description).sorted() == pair.functions)
        #expect(listed.viability.foreignMembers.isEmpty)
        #expect(listed.viability.viable == originalDrivers.allSatisfy { $0 == nil })

        for cycle in 1...cycles {
            try checkCycle(cycle, pair: pair, group: group, originalDrivers: originalDrivers)
        }

        let after = try #require(try gpuList("list-after").first { $0.slot == slot })
        #expect(after.functions.map(\.device.driver) == originalDrivers)
        #expect(after.functions.allSatisfy { $0.device.driverOverride == nil })
        return group
    }

    private func checkCycle(_ cycle: Int, pair: StandInPair, group: Int, originalDrivers: [String?]) throws {
        let step = "\(pair.slot)/\(cycle)"
        // vm host bind SLOT vfio-pci
        try #require(transcript.exitStatus("\(step)/vfio") == 0,
                     "vm host bind \(pair.slot) vfio-pci (cycle \(cycle)): \(transcript.standardError("\(step)/vfio"))")
        let bound = try JSONDecoder().decode(BindReport.self, from: Data(transcript.standardOutput("\(step)/vfio").utf8))
        #expect(bound.slot == pair.slot)
        #expect(bound.group == group)
        #expect(bound.functions.map(\.address) == pair.functions)
        #expect(bound.functions.map(\.before) == originalDrivers)
        #expect(bound.functions.map(\.after) == [vfioDriverName, vfioDriverName])
        let onVFIO = transcript.functions("\(step)/vfio")
        #expect(onVFIO.map(\.driver) == [vfioDriverName, vfioDriverName], "cycle \(cycle): \(onVFIO)")
        #expect(onVFIO.map(\.override) == [vfioDriverName, vfioDriverName])
        #expect(transcript.vfioNode("\(step)/vfio") == .init(group: group, present: true), "/dev/vfio/\(group) after binding")

        // vm gpu list while on vfio-pci: the group is viable.
        let entry = try #require(try gpuList("\(step)/list").first { $0.slot == pair.slot })
        #expect(entry.functions.map(\.device.driver) == [vfioDriverName, vfioDriverName])
        #expect(entry.group?.viability.viable == true)

        // vm host bind SLOT host
        try #require(transcript.exitStatus("\(step)/host") == 0,
                     "vm host bind \(pair.slot) host (cycle \(cycle)): \(transcript.standardError("\(step)/host"))")
        let returned = try JSONDecoder().decode(BindReport.self, from: Data(transcript.standardOutput("\(step)/host").utf8))
        #expect(returned.functions.map(\.before) == [vfioDriverName, vfioDriverName])
        #expect(returned.functions.map(\.after) == originalDrivers)
        let back = transcript.functions("\(step)/host")
        #expect(back.map(\.driver) == originalDrivers, "cycle \(cycle): \(back)")
        #expect(back.map(\.override) == ["(null)", "(null)"])
        #expect(transcript.vfioNode("\(step)/host") == .init(group: group, present: false), "/dev/vfio/\(group) after giving back")
    }
}
