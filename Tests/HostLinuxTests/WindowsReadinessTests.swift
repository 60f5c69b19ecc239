import Foundation
@testable import HostLinux
import HostLinuxFakes
import Testing
import VMCore

/// `vm host check` on what Windows 11 needs: OVMF with Secure Boot and Microsoft's keys, and swtpm.
struct WindowsReadinessTests {
    private static func checks(_ tree: FakeHostTree, runner: any HostCommandRunner = NoProgramsRunner()) -> [String: HostCheck] {
        Dictionary(uniqueKeysWithValues: HostChecks.evaluate(HostFacts.read(tree.fileSystem, runner: runner)).map { ($0.name, $0) })
    }

    @Test func aHostWithoutSecureBootFirmwareOrSwtpmIsToldHowToGetThem() throws {
        let checks = Self.checks(try Scenarios.twoIdentical3090Ti())
        let secureBoot = try #require(checks["secure-boot"])
        #expect(secureBoot.status == .warn)
        #expect(secureBoot.message.hasPrefix("no OVMF with Secure Boot and Microsoft's keys"))
        #expect(secureBoot.fix == "apt-get install ovmf")
        let swtpm = try #require(checks["swtpm"])
        #expect(swtpm.status == .warn)
        #expect(swtpm.fix == "apt-get install swtpm swtpm-tools")
    }

    @Test func debiansMicrosoftKeysAreFound() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        try tree.file("/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "code")
        try tree.file("/usr/share/OVMF/OVMF_VARS_4M.ms.fd", "vars")
        let check = try #require(Self.checks(tree)["secure-boot"])
        #expect(check.status == .ok)
        #expect(check.message == "Secure Boot with Microsoft's keys (Windows 11): /usr/share/OVMF/OVMF_CODE_4M.secboot.fd + /usr/share/OVMF/OVMF_VARS_4M.ms.fd")
    }

    @Test func fedorasSecureBootPairIsFound() throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        try tree.file("/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", "code")
        try tree.file("/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd", "vars")
        #expect(FirmwareLocator(fileSystem: tree.fileSystem).preferred(secureBoot: true)?.varsTemplate == "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd")
    }

    @Test func swtpmVersionParses() {
        #expect(ToolVersions.parseSwtpm("TPM emulator version 0.7.1, Copyright (c) 2014-2021 IBM Corp.\n") == "0.7.1")
        #expect(ToolVersions.parseSwtpm("something else") == nil)
    }

    @Test func swtpmOnThisMachineIsFound() throws {
        let checks = Self.checks(try Scenarios.twoIdentical3090Ti(), runner: ProcessCommandRunner())
        let check = try #require(checks["swtpm"])
        #expect(check.status == .ok, "the test bed installs swtpm: \(check.message)")
        #expect(check.message.hasPrefix("swtpm 0.") || check.message.hasPrefix("swtpm 1."))
    }

    @Test func hyperVGapsNameTheFlagAndTheCapability() {
        #expect(KVMProbe.missingHyperV { _ in true }.isEmpty)
        let old = KVMProbe.missingHyperV { $0 != 149 }
        #expect(old == [HyperVGap(flag: "hv_vpindex", capability: "KVM_CAP_HYPERV_VP_INDEX")])
        let message = StartRefusal.hyperVUnsupported(old).description
        #expect(message.contains("hv_vpindex (needs KVM_CAP_HYPERV_VP_INDEX)") && message.contains("set hyperv = false"))
    }

    @Test func thisMachinesKVMAnswersTheHyperVQuestion() throws {
        try #require(KVMProbe.problem() == nil, "the test machines have a /dev/kvm that creates VMs")
        let missing = KVMProbe.missingHyperV()
        #expect(missing.allSatisfy { gap in KVMProbe.hyperVCapabilities.contains { $0.flag == gap.flag } })
    }
}
