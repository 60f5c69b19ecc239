import Foundation
import GuestSupport
import HostLinux
import Subprocess
import SystemPackage
import Testing
import VMCore
@testable import Commands

/// `vm init --windows` and `vm up --install`: the definition as a pure rendering, and the built
/// `vm` on this machine with real qemu-img, QEMU and swtpm.
@Suite(.serialized)
struct WindowsInitTests {
    static let templates = TemplateDirectory(path: TestBed.repository.appendingPathComponent("templates").path)

    static func setup(kvmProblem: String? = nil, virtioWin: String? = nil) -> InitCommand.WindowsSetup {
        InitCommand.WindowsSetup(name: "w11", disk: "/var/lib/vm/w11/disk.qcow2", diskSize: "128G", iso: "/isos/Win 11 \"x\".iso",
                                 virtioWin: virtioWin, gpu: PCISlot("0000:05:00"),
                                 firmware: OVMFImages(code: "/fw/CODE.secboot.fd", varsTemplate: "/fw/VARS.ms.fd", secureBoot: true),
                                 kvmProblem: kvmProblem)
    }

    @Test func theWindowsDefinitionHasWhatWindows11SetupNeeds() throws {
        let text = try InitCommand.renderWindows(Self.setup(virtioWin: "/isos/virtio-win.iso"), templates: Self.templates)
        let spec = try DefinitionParser(file: "/etc/vm/w11.toml", fileExists: { _ in true }).parse(text)
        #expect(spec.tpm.enabled)
        #expect(spec.firmware.secureBoot && spec.firmware.varsTemplate == "/fw/VARS.ms.fd")
        #expect(spec.disks.map(\.path) == ["/var/lib/vm/w11/disk.qcow2"] && spec.disks.first?.bus == .sata)
        #expect(spec.cdroms.map(\.path) == ["/isos/Win 11 \"x\".iso", "/isos/virtio-win.iso"])
        #expect(spec.gpus.first?.slot == PCISlot("0000:05:00"))
        #expect(spec.display.kind == .none, "the installer's display comes with --install only")
        #expect(spec.network.model == "virtio-net-pci")
        #expect(spec.accelerator == .kvm)
    }

    @Test func withoutVirtioWinTheNICIsOneWindowsKnowsAndABrokenKVMIsSaid() throws {
        let text = try InitCommand.renderWindows(Self.setup(kvmProblem: "KVM_RUN failed"), templates: Self.templates)
        let spec = try DefinitionParser(file: "/etc/vm/w11.toml", fileExists: { _ in true }).parse(text)
        #expect(spec.network.model == "e1000e")
        #expect(spec.cdroms.count == 1)
        #expect(spec.accelerator == .tcg)
        #expect(text.contains("KVM cannot run a guest on this host (KVM_RUN failed)"))
    }

    @Test(arguments: [("128G", true), ("1", true), ("512M", true), ("2T", true), ("", false), ("G", false), ("0G", false),
                      ("-1G", false), ("1.5G", false), ("12GB", false)])
    func diskSizes(size: String, valid: Bool) {
        #expect(DiskImage.isSize(size) == valid)
    }

    @Test func installingBootsTheCDROMFirstWithAVNCDisplay() throws {
        var spec = VMSpec(name: try VMName("w"))
        spec.disks = [DiskSpec(path: "/d.qcow2")]
        spec.cdroms = [CDROMSpec(path: "/a.iso"), CDROMSpec(path: "/b.iso")]
        let installing = spec.forInstallation()
        #expect(installing.installing && installing.display.kind == .std && installing.display.vnc == DisplaySpec.defaultVNC)
        var shown = spec
        shown.display.kind = .virtio
        shown.display.vnc = "127.0.0.1:7"
        #expect(shown.forInstallation().display == shown.display, "a definition's own display is kept")
    }

    @Test func installNeedsACDROM() throws {
        var spec = VMSpec(name: try VMName("w"))
        let paths = VMPaths(runtimeDirectory: "/r", stateDirectory: "/s")
        let bare = LoadedDefinition(file: "/d/w.toml", spec: spec, paths: paths)
        #expect(throws: CommandFailure.self) { try UpCommand.installation(bare) }
        spec.cdroms = [CDROMSpec(path: "/isos/Win11.iso")]
        let withISO = LoadedDefinition(file: "/d/w.toml", spec: spec, paths: paths)
        #expect(try UpCommand.installation(withISO).spec.installing)
    }

    @Test func optionsThatNeedWindowsOrAnISOAreRefused() async throws {
        let scratch = try Scratch()
        let lone = try await VMRun.run(["init", "w", "--iso", "/nonexistent.iso"], in: scratch)
        #expect(lone.status == .exited(64))
        #expect(lone.error.contains("--iso, --virtio-win and --disk-size go with --windows"))
        let noISO = try await VMRun.run(["init", "w", "--windows"], in: scratch)
        #expect(noISO.status == .exited(64))
        #expect(noISO.error.contains("--windows needs --iso FILE"))
        let missing = try await VMRun.run(["init", "w", "--windows", "--iso", "/nonexistent.iso"], in: scratch)
        #expect(missing.status == .exited(1))
        #expect(missing.error.contains("--iso /nonexistent.iso does not exist"))
        #expect(!FileManager.default.fileExists(atPath: "\(scratch.root)/d/w.toml"))
    }

    /// A small ISO 9660 image made with xorriso.
    static func makeISO(_ path: String, label: String) async throws {
        let folder = path + ".d"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "\(label)\n".write(toFile: "\(folder)/README.TXT", atomically: true, encoding: .utf8)
        let result = try await Subprocess.run(.name("xorriso"), arguments: ["-as", "mkisofs", "-quiet", "-V", label, "-o", path, folder],
                                              output: .discarded, error: .string(limit: 1 << 16))
        #expect(result.terminationStatus.isSuccess, "\(result.standardError)")
    }

    @Test("vm init --windows makes the disk and a definition that checks out and starts with the ISO (--install, paused)")
    func initThenInstall() async throws {
        let scratch = try Scratch()
        let iso = "\(scratch.root)/Win11.iso", drivers = "\(scratch.root)/virtio-win.iso"
        try await Self.makeISO(iso, label: "WIN11")
        try await Self.makeISO(drivers, label: "VIRTIO")

        let made = try await VMRun.run(["init", "w11", "--windows", "--iso", iso, "--virtio-win", drivers, "--disk-size", "1G"], in: scratch)
        #expect(made.status == .exited(0), "\(made.error)")
        let disk = "\(scratch.root)/s/w11/disk.qcow2"
        let info = try await Subprocess.run(.name("qemu-img"), arguments: ["info", "--output=json", disk], output: .string(limit: 1 << 16))
        #expect(info.standardOutput.contains("\"format\": \"qcow2\"") && info.standardOutput.contains("\"virtual-size\": 1073741824"))
        #expect((try FileManager.default.attributesOfItem(atPath: disk)[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try await VMRun.run(["config", "check", "w11"], in: scratch).status == .exited(0))
        let installArgs = try await VMRun.run(["qemu-args", "w11", "--install"], in: scratch).output
        #expect(installArgs.contains("ide-cd,drive=cd0,bus=ide.1,bootindex=1") && installArgs.contains("-vnc"))
        #expect(try await VMRun.run(["qemu-args", "w11"], in: scratch).output.contains("ide-hd,drive=disk0,bus=ide.0,bootindex=1"))

        let again = try await VMRun.run(["init", "w11", "--windows", "--iso", iso, "--force"], in: scratch)
        #expect(again.status == .exited(1))
        #expect(again.error.contains("\(disk) exists and is not overwritten"))

        // This machine's KVM cannot run guests: the same definition under TCG, on a VNC display
        // of its own (another test's QEMU may hold the default one).
        let file = "\(scratch.root)/d/w11.toml"
        let display = 100 + Int.random(in: 0..<800)
        let text = try String(contentsOfFile: file, encoding: .utf8)
            .replacingOccurrences(of: "accelerator = \"kvm\"", with: "accelerator = \"tcg\"")
            .replacingOccurrences(of: "type = \"none\"", with: "type = \"std\"\nvnc = \"127.0.0.1:\(display)\"")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let up = try await VMRun.run(["up", "w11", "--install", "--paused"], in: scratch)
        #expect(up.status == .exited(0), "\(up.error)")
        #expect(up.output.contains("installer display: VNC on 127.0.0.1 port \(5900 + display)"))
        let block = try await VMRun.run(["qmp", "w11", "query-block"], in: scratch)
        #expect(block.output.contains(iso) && block.output.contains(drivers))
        let status = try await VMRun.run(["status", "w11"], in: scratch)
        #expect(status.output.contains("TPM:          TPM 2.0 (tpm-crb, swtpm pid "))
        #expect(try await VMRun.run(["down", "w11", "--force"], in: scratch).status == .exited(3))
    }
}
