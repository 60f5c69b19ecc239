import CLibvirt
import Foundation
import Testing
import VMCore
@testable import Libvirt

/// `LibvirtMachine` against libvirt's built-in `test:///default` driver (no daemon, no QEMU):
/// the define/start/refuse/redefine/destroy logic. The driver has no QMP pass-through, so the
/// reports fall back to libvirt's own state.
@Suite struct LibvirtMachineTestDriverTests {
    static let uri = "test:///default"

    static func spec(_ scratch: LibvirtScratch, memoryMiB: Int = 512) -> VMSpec {
        var spec = Fixtures.noGPU
        spec.name = scratch.name
        spec.memoryMiB = memoryMiB
        return spec
    }

    @Test func upStatusDown() async throws {
        let scratch = try LibvirtScratch(uri: Self.uri)
        let machine = scratch.machine(Self.spec(scratch))
        let validation = try XMLValidator.validateDomain(machine.domainXML())
        #expect(validation.status == 0, "virt-xml-validate: \(validation.output)")

        let report = try await machine.up(paused: false)
        #expect(report.qemuStatus == "running")
        #expect(report.pid == nil, "the test driver has no QEMU pidfile")
        #expect(report.qemuVersion == (try LibvirtConnection(uri: Self.uri).hypervisorVersion()))
        let mode = try FileManager.default.attributesOfItem(atPath: scratch.paths.stateDirectory)[.posixPermissions] as? Int
        #expect(mode == 0o700)

        let status = await machine.status()
        #expect(status.state == .running)
        #expect(status.qemuStatus == nil)
        #expect(status.note?.contains("pass-through") == true)

        await #expect(throws: LibvirtBackendError.alreadyRunning(name: scratch.name.rawValue, uri: Self.uri, pid: nil)) {
            try await machine.up(paused: false)
        }
        #expect(try await machine.down(timeout: .seconds(10)) == .poweredOff)
        #expect(await machine.status().state == .stopped)
        #expect(try await machine.down(timeout: .seconds(1)) == .notRunning)
    }

    /// (The test driver cannot start paused; the real-daemon tests cover `--paused`.)
    @Test func forcedDown() async throws {
        let scratch = try LibvirtScratch(uri: Self.uri)
        let machine = scratch.machine(Self.spec(scratch))
        _ = try await machine.up(paused: false)
        #expect(try await machine.down(timeout: .seconds(1), force: true) == .killed)
        #expect(await machine.status().state == .stopped)
        #expect(try await machine.down(timeout: .seconds(1), force: true) == .notRunning)
    }

    @Test func sameDefinitionStartsAgainOtherContentNeedsRedefine() async throws {
        let scratch = try LibvirtScratch(uri: Self.uri)
        let small = Self.spec(scratch, memoryMiB: 512)
        _ = try await scratch.machine(small).up(paused: false)
        #expect(try await scratch.machine(small).down(timeout: .seconds(1), force: true) == .killed)
        _ = try await scratch.machine(small).up(paused: false)
        #expect(try await scratch.machine(small).down(timeout: .seconds(1), force: true) == .killed)

        let big = Self.spec(scratch, memoryMiB: 1024)
        await #expect(throws: LibvirtBackendError.definedWithOtherContent(name: scratch.name.rawValue, uri: Self.uri, running: false)) {
            try await scratch.machine(big).up(paused: false)
        }
        _ = try await scratch.machine(big, redefine: true).up(paused: false)
        let xml = try LibvirtConnection(uri: Self.uri).domain(named: scratch.name.rawValue).xml(inactive: true)
        #expect(xml.contains("<memory unit='KiB'>1048576</memory>"))
    }

    @Test func domainOfAnotherToolIsNotTakenOver() async throws {
        let scratch = try LibvirtScratch(uri: Self.uri)
        let spec = Self.spec(scratch)
        // Defined without vm's fingerprint, as virsh or virt-manager would.
        let connection = try LibvirtConnection(uri: Self.uri)
        let xml = try LibvirtMachine(spec: spec, paths: scratch.paths, uri: Self.uri).domainXML()
        #expect(virDomainDefinedRaw(connection, xml))
        await #expect(throws: LibvirtBackendError.definedWithOtherContent(name: scratch.name.rawValue, uri: Self.uri, running: false)) {
            try await scratch.machine(spec).up(paused: false)
        }
    }

    @Test func unreachableURISaysWhatToCheck() async throws {
        let uri = "qemu+unix:///system?socket=/nonexistent/vm-test/libvirt-sock"
        let machine = LibvirtMachine(spec: Fixtures.noGPU, paths: Fixtures.paths, uri: uri)
        let error = await #expect(throws: LibvirtBackendError.self) { try await machine.up(paused: false) }
        guard case .unreachable(let reported, let message)? = error else {
            Issue.record("expected .unreachable, got \(String(describing: error))")
            return
        }
        #expect(reported == uri)
        #expect(message.contains("/nonexistent/vm-test/libvirt-sock"), "libvirt's own reason: \(message)")
        #expect(error?.description.contains("libvirtd running") == true)
        await #expect(throws: LibvirtBackendError.self) { try await machine.down(timeout: .seconds(1)) }
        let status = await machine.status()
        #expect(status.state == .stopped)
        #expect(status.note?.contains("cannot connect to libvirt at \(uri)") == true)
        #expect(throws: LibvirtBackendError.self) {
            try qemuMonitorCommand(uri: uri, domain: "x", json: #"{"execute":"query-status"}"#)
        }
    }

    @Test func qmpPassThroughIsLibvirtsErrorOnTheTestDriver() throws {
        let scratch = try LibvirtScratch(uri: Self.uri)
        _ = try LibvirtConnection(uri: Self.uri).define(spec: Self.spec(scratch), paths: scratch.paths)
        let error = #expect(throws: LibvirtError.self) {
            try qemuMonitorCommand(uri: Self.uri, domain: scratch.name.rawValue, json: #"{"execute":"query-status"}"#)
        }
        #expect(error?.description.contains("not supported") == true)
    }
}

/// Defines `xml` as-is (no fingerprint), like a tool other than `vm`.
private func virDomainDefinedRaw(_ connection: LibvirtConnection, _ xml: String) -> Bool {
    virDomainDefineXML(connection.pointer, xml).map { virDomainFree($0); return true } ?? false
}
