import Foundation
import GuestSupport
import HostLinux
import Testing
import VMCore
@testable import Libvirt

/// `LibvirtMachine` against the real daemon (`qemu:///system`, TCG) with the test-bed guest.
/// Serialized: each test boots a guest, and the machine has two cores.
@Suite(.serialized) struct LibvirtMachineSystemTests {
    static let uri = "qemu:///system"

    /// Starts the daemons if needed and prepares the guest.
    static func setUp() async throws -> TestBed {
        _ = try await LibvirtDaemon.shared.systemConnection()
        return try await TestBed.prepare()
    }

    static func expectValid(_ machine: LibvirtMachine) throws {
        let validation = try XMLValidator.validateDomain(machine.domainXML())
        #expect(validation.status == 0, "virt-xml-validate: \(validation.output)")
    }

    /// `vm up --install` on libvirt: the installation's domain (CD-ROM first, a VNC display)
    /// replaces the shut-off one, and the next plain start puts the definition's own back
    /// without --redefine.
    @Test(.timeLimit(.minutes(5)))
    func installationDomainAndBack() async throws {
        let bed = try await Self.setUp()
        let scratch = try LibvirtScratch(uri: Self.uri)
        var spec = scratch.testBedSpec(bed)
        spec.kernelBoot = nil
        spec.display.kind = .none
        spec.display.vnc = nil
        // Any file libvirt's QEMU can read stands in for the ISO: the guest stays paused.
        spec.cdroms = [CDROMSpec(path: bed.initrd)]
        let plain = scratch.machine(spec)
        _ = try await plain.up(paused: true)
        _ = try await plain.down(timeout: .seconds(1), force: true)

        let install = scratch.machine(spec.forInstallation())
        try Self.expectValid(install)
        _ = try await install.up(paused: true)
        let installing = try LibvirtConnection(uri: Self.uri).domain(named: scratch.name.rawValue).xml(inactive: true)
        let cdrom = try #require(installing.range(of: "<boot dev='cdrom'/>")), disk = try #require(installing.range(of: "<boot dev='hd'/>"))
        #expect(cdrom.lowerBound < disk.lowerBound, "the CD-ROM boots first: \(installing)")
        #expect(installing.contains("<graphics type='vnc'"))
        _ = try await install.down(timeout: .seconds(1), force: true)

        _ = try await plain.up(paused: true)
        let after = try LibvirtConnection(uri: Self.uri).domain(named: scratch.name.rawValue).xml(inactive: true)
        let disk2 = try #require(after.range(of: "<boot dev='hd'/>")), cdrom2 = try #require(after.range(of: "<boot dev='cdrom'/>"))
        #expect(disk2.lowerBound < cdrom2.lowerBound && !after.contains("<graphics"), "the definition's own domain is back: \(after)")
        _ = try await plain.down(timeout: .seconds(1), force: true)
    }

    @Test(.timeLimit(.minutes(5)))
    func upStatusQMPReadyAndPoliteDown() async throws {
        let bed = try await Self.setUp()
        let scratch = try LibvirtScratch(uri: Self.uri)
        let machine = scratch.machine(scratch.testBedSpec(bed))
        try Self.expectValid(machine)
        let name = scratch.name.rawValue

        let report = try await machine.up(paused: false)
        #expect(report.name == name)
        #expect(report.qemuStatus == "running")
        #expect(report.qmpSocket == nil)
        let expectedVersion = try LibvirtConnection(uri: Self.uri).hypervisorVersion()
        #expect(report.qemuVersion == expectedVersion)
        #expect(report.qemuVersion.split(separator: ".").count == 3)
        let pid = try #require(report.pid)
        let argv = try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
        #expect(argv.contains("guest=\(name)"), "the pid is this domain's QEMU")

        let domain = try LibvirtConnection(uri: Self.uri).domain(named: name)
        #expect(try domain.state() == .running)
        let statusReply = try qemuMonitorCommand(uri: Self.uri, domain: name, json: #"{"execute":"query-status"}"#)
        #expect(QMPReplyText.status(statusReply) == "running")

        let status = await machine.status()
        #expect(status.state == .running)
        #expect(status.pid == pid)
        #expect(status.qemuStatus == "running")
        #expect(status.passthroughInGuest == [])
        #expect(status.note == nil)

        try await scratch.waitForSerial("VMTEST-READY")
        let mode = try FileManager.default.attributesOfItem(atPath: scratch.paths.stateDirectory)[.posixPermissions] as? Int
        #expect(mode == 0o700, "vm's state folder stays private; virtlogd writes the log into it")

        #expect(try await machine.down(timeout: .seconds(60)) == .poweredOff)
        #expect(try domain.state() == .shutOff)
        #expect(await machine.status().state == .stopped)
        #expect(try await machine.down(timeout: .seconds(5)) == .notRunning)

        try domain.undefine(nvram: .remove)
        #expect(try LibvirtConnection(uri: Self.uri).domainIfDefined(named: name) == nil)
        #expect(await machine.status().note?.contains("not defined") == true)
    }

    @Test(.timeLimit(.minutes(5)))
    func stubbornGuestIsDestroyedAfterTheTimeout() async throws {
        let bed = try await Self.setUp()
        let scratch = try LibvirtScratch(uri: Self.uri)
        let machine = scratch.machine(scratch.testBedSpec(bed, extraCmdline: "vmtest.acpi=off"))
        try Self.expectValid(machine)
        _ = try await machine.up(paused: false)
        try await scratch.waitForSerial("VMTEST-READY")

        let outcome = try await machine.down(timeout: .seconds(3))
        #expect(outcome == .killed)
        #expect(outcome.exitCode == 5)
        #expect(try LibvirtConnection(uri: Self.uri).domain(named: scratch.name.rawValue).state() == .shutOff)
    }

    @Test(.timeLimit(.minutes(5)))
    func secondUpIsRefusedAndOtherContentWhileRunningSaysStopFirst() async throws {
        let bed = try await Self.setUp()
        let scratch = try LibvirtScratch(uri: Self.uri)
        let spec = scratch.testBedSpec(bed)
        let machine = scratch.machine(spec)
        let first = try await machine.up(paused: true)
        #expect(first.qemuStatus == "prelaunch", "QEMU started with -S, as the QEMU backend's --paused")
        #expect(await machine.status().state == .paused)

        let again = await #expect(throws: LibvirtBackendError.self) { try await machine.up(paused: false) }
        #expect(again == .alreadyRunning(name: scratch.name.rawValue, uri: Self.uri, pid: first.pid))

        var bigger = spec
        bigger.memoryMiB = 320
        let changed = scratch.machine(bigger, redefine: true)
        try Self.expectValid(changed)
        let conflict = await #expect(throws: LibvirtBackendError.self) { try await changed.up(paused: true) }
        #expect(conflict == .definedWithOtherContent(name: scratch.name.rawValue, uri: Self.uri, running: true))
        #expect(conflict?.description.contains("vm down \(scratch.name)") == true)

        #expect(try await machine.down(timeout: .seconds(1), force: true) == .killed)
        #expect(try await machine.down(timeout: .seconds(1), force: true) == .notRunning)
    }

    @Test(.timeLimit(.minutes(5)))
    func otherContentIsRefusedUntilRedefine() async throws {
        let bed = try await Self.setUp()
        let scratch = try LibvirtScratch(uri: Self.uri)
        let spec = scratch.testBedSpec(bed)
        _ = try await scratch.machine(spec).up(paused: true)
        #expect(try await scratch.machine(spec).down(timeout: .seconds(1), force: true) == .killed)

        var bigger = spec
        bigger.memoryMiB = 320
        let refused = await #expect(throws: LibvirtBackendError.self) { try await scratch.machine(bigger).up(paused: true) }
        #expect(refused == .definedWithOtherContent(name: scratch.name.rawValue, uri: Self.uri, running: false))
        #expect(refused?.description.contains("--redefine") == true)

        let uuid = try LibvirtConnection(uri: Self.uri).domain(named: scratch.name.rawValue).uuid()
        let report = try await scratch.machine(bigger, redefine: true).up(paused: true)
        #expect(report.qemuStatus == "prelaunch")
        let domain = try LibvirtConnection(uri: Self.uri).domain(named: scratch.name.rawValue)
        #expect(try domain.uuid() == uuid, "a redefine keeps the UUID")
        #expect(try domain.xml(inactive: true).contains("<memory unit='KiB'>327680</memory>"))
        #expect(try await scratch.machine(bigger).down(timeout: .seconds(1), force: true) == .killed)
    }

    /// `[cpu.pin]` reaches libvirt's QEMU: virsh shows the pins, the kernel has them.
    @Test(.timeLimit(.minutes(5)))
    func pinsAreAppliedByLibvirt() async throws {
        let bed = try await Self.setUp()
        let scratch = try LibvirtScratch(uri: Self.uri)
        var spec = scratch.testBedSpec(bed)
        spec.cpu.cores = 2
        spec.cpu.pin = .explicit(CPUPins(vcpus: [1, 0], emulator: [0]))
        let machine = scratch.machine(spec)
        try Self.expectValid(machine)
        _ = try await machine.up(paused: true)
        let pins = try ProcessCommandRunner().run(["virsh", "-c", Self.uri, "vcpupin", scratch.name.rawValue], timeout: .seconds(30))
        #expect(pins.status == 0)
        let rows = pins.standardOutput.split(separator: "\n").map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        #expect(rows.contains("0 1") && rows.contains("1 0"), "\(pins.standardOutput)")
        let emulator = try ProcessCommandRunner().run(["virsh", "-c", Self.uri, "emulatorpin", scratch.name.rawValue], timeout: .seconds(30))
        #expect(emulator.standardOutput.contains("*: 0"), "\(emulator.standardOutput)")
        _ = try await machine.down(timeout: .seconds(1), force: true)
    }
}
