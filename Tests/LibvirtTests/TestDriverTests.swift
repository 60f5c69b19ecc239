import CLibvirt
import Foundation
import Testing
import VMCore
@testable import Libvirt
@testable import LibvirtXML

/// The API layer against libvirt's built-in `test:///default` driver (no daemon). Every test uses
/// its own domain name: the driver's state is shared by all connections in the process.
@Suite struct TestDriverTests {
    static func uniqueSpec(memoryMiB: Int = 512) throws -> VMSpec {
        var spec = Fixtures.noGPU
        spec.name = try VMName("vmtest-\(UUID().uuidString.prefix(8).lowercased())")
        spec.memoryMiB = memoryMiB
        return spec
    }

    static func xml(_ spec: VMSpec) throws -> String {
        try domainXML(for: spec, paths: Fixtures.paths)
    }

    @Test func defineStartShutdownUndefine() async throws {
        let connection = try LibvirtConnection(uri: "test:///default")
        let spec = try Self.uniqueSpec()
        let name = spec.name.rawValue
        let (domain, outcome) = try connection.define(name: name, xml: Self.xml(spec))
        #expect(outcome == .created)
        #expect(domain.name == name)
        #expect(try domain.state() == .shutOff)
        #expect(try domain.isPersistent())
        #expect(try connection.listDomains().map(\.name).contains(name))

        try domain.start()
        #expect(try domain.state() == .running)
        let outcomeOfShutdown = try await domain.shutdown(timeout: .seconds(10))
        #expect(outcomeOfShutdown == .poweredOff)
        #expect(try domain.state() == .shutOff)
        #expect(try await domain.shutdown(timeout: .seconds(1)) == .alreadyOff)

        try domain.undefine()
        #expect(try connection.domainIfDefined(named: name) == nil)
    }

    @Test func defineFromSpec() throws {
        let connection = try LibvirtConnection(uri: "test:///default")
        let spec = try Self.uniqueSpec()
        let (domain, outcome) = try connection.define(spec: spec, paths: Fixtures.paths)
        defer { try? domain.undefine() }
        #expect(outcome == .created)
        #expect(try connection.define(spec: spec, paths: Fixtures.paths).outcome == .unchanged)
        var broken = spec
        broken.firmware.code = nil
        #expect(throws: DomainXMLError.missingFirmwareCode) {
            try connection.define(spec: broken, paths: Fixtures.paths, replacing: true)
        }
    }

    @Test func sameXMLTwiceIsUnchanged() throws {
        let connection = try LibvirtConnection(uri: "test:///default")
        let spec = try Self.uniqueSpec()
        let xml = try Self.xml(spec)
        let first = try connection.define(name: spec.name.rawValue, xml: xml)
        defer { try? first.domain.undefine() }
        let second = try connection.define(name: spec.name.rawValue, xml: xml)
        #expect(second.outcome == .unchanged)
        #expect(try second.domain.uuid() == first.domain.uuid())
    }

    @Test func otherContentIsRefusedUnlessReplacing() throws {
        let connection = try LibvirtConnection(uri: "test:///default")
        let spec = try Self.uniqueSpec(memoryMiB: 512)
        var bigger = spec
        bigger.memoryMiB = 1024
        let name = spec.name.rawValue
        let first = try connection.define(name: name, xml: Self.xml(spec))
        defer { try? first.domain.undefine() }

        #expect(throws: LibvirtError.definedWithOtherContent(name: name)) {
            try connection.define(name: name, xml: Self.xml(bigger))
        }
        #expect(try first.domain.xml(inactive: true).contains("<memory unit='KiB'>524288</memory>"))

        let replaced = try connection.define(name: name, xml: Self.xml(bigger), replacing: true)
        #expect(replaced.outcome == .replaced)
        #expect(try replaced.domain.uuid() == first.domain.uuid())
        #expect(try replaced.domain.xml(inactive: true).contains("<memory unit='KiB'>1048576</memory>"))
        #expect(try connection.define(name: name, xml: Self.xml(bigger)).outcome == .unchanged)
    }

    /// A domain someone else defined (virsh, virt-manager) has no `vm` fingerprint: other content.
    @Test func domainNotMadeByVMIsOtherContent() throws {
        let connection = try LibvirtConnection(uri: "test:///default")
        let spec = try Self.uniqueSpec()
        let name = spec.name.rawValue
        let foreign = try #require(virDomainDefineXML(connection.pointer, Self.xml(spec)))
        defer { virDomainUndefine(foreign); virDomainFree(foreign) }
        #expect(throws: LibvirtError.definedWithOtherContent(name: name)) {
            try connection.define(name: name, xml: Self.xml(spec))
        }
    }

    @Test func unknownDomainCarriesLibvirtMessage() throws {
        let connection = try LibvirtConnection(uri: "test:///default")
        let error = try #require(throws: LibvirtError.self) {
            try connection.domain(named: "vmtest-does-not-exist")
        }
        #expect(error.isNoDomain)
        #expect(error.description.contains("vmtest-does-not-exist"))
        #expect(try connection.domainIfDefined(named: "vmtest-does-not-exist") == nil)
    }

    @Test func invalidXMLIsRejectedWithLibvirtMessage() throws {
        let connection = try LibvirtConnection(uri: "test:///default")
        let error = try #require(throws: LibvirtError.self) {
            try connection.define(name: "vmtest-bad", xml: "<domain type='qemu'><name>vmtest-bad</name><bogus/></domain>")
        }
        guard case .api(let operation, _, _, let message) = error else {
            Issue.record("expected a libvirt error, got \(error)")
            return
        }
        #expect(operation.hasPrefix("virDomainDefineXMLFlags"))
        #expect(!message.isEmpty)
    }

    @Test func startingARunningDomainFails() throws {
        let connection = try LibvirtConnection(uri: "test:///default")
        let spec = try Self.uniqueSpec()
        let (domain, _) = try connection.define(name: spec.name.rawValue, xml: Self.xml(spec))
        defer { try? domain.destroy(); try? domain.undefine() }
        try domain.start()
        let error = try #require(throws: LibvirtError.self) { try domain.start() }
        #expect(error.description.contains("already running"))
    }

    @Test func qmpPassThroughNeedsTheQEMUDriver() throws {
        let connection = try LibvirtConnection(uri: "test:///default")
        let domain = try connection.domain(named: "test")
        let error = try #require(throws: LibvirtError.self) {
            try domain.qemuMonitorCommand(#"{"execute":"query-status"}"#)
        }
        #expect(error.description.contains("not supported"))
    }

    @Test func unreachableURIFailsWithTheSocketInTheMessage() {
        let error = #expect(throws: LibvirtError.self) {
            try LibvirtConnection(uri: "qemu+unix:///system?socket=/nonexistent/libvirt-sock")
        }
        #expect(error?.description.contains("/nonexistent/libvirt-sock") == true)
    }
}
