import Foundation
import GuestSupport
import QEMU
import Testing
import VMCore
@testable import Libvirt

/// `[tpm] enabled` on the libvirt backend: real libvirtd (`qemu:///system`, TCG) runs the
/// domain with a swtpm of its own, and stops it with the domain.
@Suite(.serialized) struct LibvirtTPMTests {
    /// The argv of every running swtpm.
    static func swtpmCommandLines() -> [[String]] {
        let table = SystemProcessTable()
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap(Int32.init) ?? []
        return pids.compactMap { pid in
            guard let argv = table.commandLine(of: pid), argv.first?.hasSuffix("swtpm") == true, table.isAlive(pid) else { return nil }
            return argv
        }
    }

    @Test(.timeLimit(.minutes(5)))
    func libvirtdRunsTheDomainWithItsSwtpm() async throws {
        let bed = try await LibvirtMachineSystemTests.setUp()
        let scratch = try LibvirtScratch(uri: LibvirtMachineSystemTests.uri)
        var spec = scratch.testBedSpec(bed)
        spec.tpm.enabled = true
        let machine = scratch.machine(spec)
        try LibvirtMachineSystemTests.expectValid(machine)
        let name = scratch.name.rawValue

        let pid = try #require(try await machine.up(paused: false).pid)
        let argv = try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8).split(separator: "\0")
        #expect(argv.contains { $0.contains("tpm-crb") }, "QEMU has the CRB TPM")
        let swtpm = try #require(Self.swtpmCommandLines().first { $0.contains { $0.contains("-\(name)-swtpm.sock") } },
                                 "libvirtd started a swtpm for the domain")
        #expect(swtpm.contains("--tpm2"))
        // libvirt keeps the TPM's state under its own folder; this test removes it afterwards.
        let state = swtpm.first { $0.hasPrefix("dir=/var/lib/libvirt/swtpm/") }
            .map { String($0.dropFirst("dir=".count).prefix { $0 != "," }) }
        defer {
            if let state { try? FileManager.default.removeItem(atPath: (state as NSString).deletingLastPathComponent) }
        }
        #expect(state != nil)
        try await scratch.waitForSerial("VMTEST-READY")

        #expect(try await machine.down(timeout: .seconds(60)) == .poweredOff)
        #expect(!Self.swtpmCommandLines().contains { $0.contains { $0.contains("-\(name)-swtpm.sock") } }, "swtpm ends with the domain")
    }

    @Test("Windows 11's firmware under libvirtd: OVMF with Microsoft's keys enforces Secure Boot, with the TPM beside it",
          .timeLimit(.minutes(5)))
    func secureBootAndTPMUnderLibvirtd() async throws {
        _ = try await LibvirtMachineSystemTests.setUp()
        let scratch = try LibvirtScratch(uri: LibvirtMachineSystemTests.uri)
        var spec = VMSpec(name: scratch.name)
        spec.accelerator = .tcg
        spec.memoryMiB = 256
        spec.cpu.cores = 1
        spec.network.mode = .none
        spec.firmware.secureBoot = true
        spec.tpm.enabled = true
        spec = spec.resolvedForLaunch(exists: { FileManager.default.fileExists(atPath: $0) }, functionsOfSlot: { _ in [] })
        #expect(spec.firmware.varsTemplate?.hasSuffix(".ms.fd") == true)
        let machine = scratch.machine(spec)
        try LibvirtMachineSystemTests.expectValid(machine)
        let name = scratch.name.rawValue

        _ = try await machine.up(paused: false)
        let swtpm = Self.swtpmCommandLines().first { $0.contains { $0.contains("-\(name)-swtpm.sock") } }
        let state = swtpm?.first { $0.hasPrefix("dir=/var/lib/libvirt/swtpm/") }
            .map { String($0.dropFirst("dir=".count).prefix { $0 != "," }) }
        defer {
            if let state { try? FileManager.default.removeItem(atPath: (state as NSString).deletingLastPathComponent) }
        }
        #expect(swtpm != nil, "libvirtd started a swtpm for the domain")
        // OVMF's own shell is not signed with a key in db: only enforced Secure Boot refuses it.
        try await scratch.waitForSerial("Security Violation", timeout: .seconds(180))
        _ = try await machine.down(timeout: .seconds(1), force: true)
    }
}
