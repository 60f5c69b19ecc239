import Foundation
import GuestSupport
import HostLinux
import Logging
import QEMU
import QMP
import Testing
import VMCore
@testable import Extras

@Suite("Extras ISO built, read back and attached to real QEMU", .serialized)
struct ExtrasISOTests {
    /// A stand-in virtio-win ISO holding only the drivers installer (no guest agent).
    func fakeVirtioWin(in folder: String) throws -> String {
        try FileManager.default.createDirectory(atPath: "\(folder)/vw", withIntermediateDirectories: true)
        try "msi".write(toFile: "\(folder)/vw/virtio-win-gt-x64.msi", atomically: true, encoding: .utf8)
        try Xorriso().buildISO(from: "\(folder)/vw", to: "\(folder)/virtio-win.iso", volumeID: "VIRTIO")
        return "\(folder)/virtio-win.iso"
    }

    @Test("stage: the ISO holds the scripts, the drivers, the virtio installer and MISSING.txt")
    func stageAndReadBack() throws {
        let scratch = try Scratch()
        let drivers = try DriverFolder()
        let loaded = try scratch.define("win", "[network]\nmode = \"none\"\n")
        let result = try ExtrasStager(templates: Repository.templates).stage(
            vm: loaded.spec.name, paths: loaded.paths, driverDirectory: drivers.path,
            virtioWinISO: try fakeVirtioWin(in: scratch.root), resolution: .uhd)
        #expect(result.iso == loaded.paths.extrasISO)
        let listed = try Xorriso().list(result.iso)
        #expect(listed == [
            "/MISSING.txt", "/README.txt", "/VMEXTRAS.TAG", "/install.cmd", "/set-display.ps1",
            "/usbmmidd-install.cmd", "/usbmmidd-uninstall.cmd",
            "/usbmmidd/deviceinstaller64.exe", "/usbmmidd/usbmmIdd.dll", "/usbmmidd/usbmmidd.inf",
            "/virtio/virtio-win-gt-x64.msi",
        ])
        #expect(result.missing == ["QEMU guest agent installer: /guest-agent/qemu-ga-x86_64.msi is not in \(scratch.root)/virtio-win.iso"])
        // Read a script back: rendered, with Windows line ends.
        let out = "\(scratch.root)/install.cmd"
        #expect(try Xorriso().extract("/install.cmd", from: result.iso, to: out))
        let bytes = try String(contentsOfFile: out, encoding: .utf8)
        #expect(bytes.hasPrefix("@echo off\r\n"))
        #expect(bytes.contains("msiexec /i \"%EXTRAS%virtio\\virtio-win-gt-x64.msi\" /qn /norestart\r\n"))
        let missing = "\(scratch.root)/MISSING.txt"
        #expect(try Xorriso().extract("/MISSING.txt", from: result.iso, to: missing))
        #expect(try String(contentsOfFile: missing, encoding: .utf8).contains("qemu-ga-x86_64.msi is not in"))
    }

    @Test("the argv builder adds the extras CD-ROM only when asked")
    func commandLine() throws {
        var spec = VMSpec(name: try VMName("win"))
        spec.firmware.kind = .bios
        let paths = VMPaths(runtimeDirectory: "/run/vm/win", stateDirectory: "/var/lib/vm/win")
        let without = try QEMUCommandLine.arguments(for: spec, paths: paths)
        #expect(!without.contains { $0.contains("extras") })
        let with = try QEMUCommandLine.arguments(for: spec, paths: paths, options: LaunchOptions(extrasISO: paths.extrasISO))
        let drive = try #require(with.firstIndex(of: "file=/var/lib/vm/win/extras.iso,if=none,id=cd-extras,media=cdrom,readonly=on"))
        #expect(with[drive - 1] == "-drive")
        #expect(with[drive + 1 ... drive + 2] == ["-device", "ide-cd,drive=cd-extras,id=cd-extras-dev,bus=ide.0"])
    }

    func queryBlock(_ loaded: LoadedDefinition) async throws -> [ExtrasAttacher.Drive] {
        let client = try await QMPClient.connect(path: loaded.paths.qmpSocket)
        defer { client.close() }
        return ExtrasAttacher.removableDrives(queryBlock: try await client.execute("query-block"))
    }

    @Test("staged before vm up: QEMU starts with the ISO in the extras drive")
    func attachedAtUp() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("xa", bed.definition())
        _ = try ExtrasStager(templates: Repository.templates).stage(vm: loaded.spec.name, paths: loaded.paths, driverDirectory: nil,
                                                                    virtioWinISO: nil, resolution: .uhd)
        let machine = try scratch.machine(loaded)
        _ = try await machine.up()
        let drives = try await queryBlock(loaded)
        #expect(drives.contains { $0.device == "cd-extras" && $0.file == loaded.paths.extrasISO })
        _ = try await machine.down(timeout: .seconds(5), force: true)
    }

    @Test("staged while running: blockdev-change-medium loads it into the existing CD drive; no drive is an error with the fix")
    func attachedLive() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let placeholder = try fakeVirtioWin(in: scratch.root)
        let withCD = try scratch.define("xl", bed.definition(extra: "[[cdrom]]\npath = \"\(placeholder)\""))
        let bare = try scratch.define("xn", bed.definition())
        let machines = [try scratch.machine(withCD), try scratch.machine(bare)]
        for machine in machines { _ = try await machine.up() }
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        for loaded in [withCD, bare] {
            _ = try ExtrasStager(templates: Repository.templates).stage(vm: loaded.spec.name, paths: loaded.paths, driverDirectory: nil,
                                                                        virtioWinISO: nil, resolution: .uhd)
        }
        let drive = try await ExtrasAttacher.attach(iso: withCD.paths.extrasISO, vm: "xl", qmpSocket: withCD.paths.qmpSocket, logger: logger)
        #expect(drive.device == "cd0")
        #expect(try await queryBlock(withCD).first?.file == withCD.paths.extrasISO)
        await #expect(throws: ExtrasError.noCDDrive(vm: "xn")) {
            _ = try await ExtrasAttacher.attach(iso: bare.paths.extrasISO, vm: "xn", qmpSocket: bare.paths.qmpSocket, logger: logger)
        }
        for machine in machines { _ = try await machine.down(timeout: .seconds(5), force: true) }
    }
}
