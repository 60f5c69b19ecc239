import Foundation
import GuestSupport
import QMP
import Subprocess
import SystemPackage
import Testing
import VMCore
@testable import QEMU

/// Every shared golden definition that needs no physical device or host network is started for
/// real with `-S`: QEMU must accept the command line we build and answer on QMP.
@Suite(.serialized)
struct RealStartTests {
    /// Golden cases that need a real GPU (vfio-pci) or a host bridge/macvtap are not started here.
    static let startable = ["no-gpu", "secure-boot", "windows11", "hot-gpu-tcg", "bios-kernel-boot"]

    @Test(arguments: startable)
    func goldenDefinitionStartsPaused(name: String) async throws {
        let scratch = try Scratch()
        let bed = try await TestBed.prepare()
        let disk = "\(scratch.root)/disk.qcow2"
        let result = try await Subprocess.run(.name("qemu-img"), arguments: ["create", "-q", "-f", "qcow2", disk, "64M"],
                                              output: .discarded, error: .string(limit: 4096))
        #expect(result.terminationStatus.isSuccess, "\(result.standardError)")
        // An empty stand-in for an installation ISO (QEMU only opens it here).
        let iso = "\(scratch.root)/install.iso"
        #expect(FileManager.default.createFile(atPath: iso, contents: Data(count: 1 << 20)))
        let toml = try #require(GoldenDefinitions.cases.first { $0.name == name }).toml
            .replacingOccurrences(of: "/vm/win11.qcow2", with: disk)
            .replacingOccurrences(of: "/vm/win11.iso", with: iso)
            .replacingOccurrences(of: "/vm/vmlinuz", with: bed.kernel)
            .replacingOccurrences(of: "/vm/initrd.gz", with: bed.initrd)
            .replacingOccurrences(of: "accelerator = \"kvm\"", with: "")
        // KVM is not usable on the test machines: run the same definition under TCG.
        let loaded = try scratch.define(name, "accelerator = \"tcg\"\n" + toml.replacingOccurrences(of: "accelerator = \"tcg\"", with: ""))
        let machine = try scratch.machine(loaded)
        let report = try await machine.up(paused: true)

        let client = try await QMPClient.connect(path: try #require(report.qmpSocket))
        let status = try await client.queryStatus()
        client.close()
        #expect(["prelaunch", "paused"].contains(status.status))
        #expect(!status.running)
        if loaded.spec.firmware.kind == .ovmf {
            #expect(FileManager.default.fileExists(atPath: loaded.paths.varsFile))
            let code = try #require(loaded.spec.firmware.code)
            #expect(try Self.openMode(pid: try #require(report.pid), path: code) == O_RDONLY, "the OVMF code image must be opened read-only")
            #expect(try Self.openMode(pid: try #require(report.pid), path: loaded.paths.varsFile) == O_RDWR)
        }
        #expect(try await machine.down(timeout: .seconds(1), force: true) == .quit)
        // The vars copy outlives the run; the runtime folder does not.
        #expect(FileManager.default.fileExists(atPath: loaded.paths.varsFile) == (loaded.spec.firmware.kind == .ovmf))
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory))
    }

    /// The access mode (`O_RDONLY`/`O_WRONLY`/`O_RDWR`) with which process `pid` holds `path` open.
    static func openMode(pid: Int32, path: String) throws -> Int32? {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        for fd in try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                  target == resolved,
                  let info = try? String(contentsOfFile: "/proc/\(pid)/fdinfo/\(fd)", encoding: .utf8),
                  let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags:") }),
                  let flags = Int32(flagsLine.dropFirst("flags:".count).trimmingCharacters(in: .whitespaces), radix: 8)
            else { continue }
            return flags & O_ACCMODE
        }
        return nil
    }
}
