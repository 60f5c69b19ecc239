import Foundation
import Testing
import VMCore
@testable import Libvirt
@testable import LibvirtXML

/// Real `libvirtd` with `qemu:///system`, domain type `qemu` (TCG). The guest is OVMF with no
/// operating system: enough for libvirt to run QEMU, for QMP pass-through and for USB hot-plug,
/// while PCIe unplug and ACPI power-off need a guest OS and are checked to time out here (the
/// test-bed guest will cover their success path).
@Suite(.serialized) struct SystemDaemonTests {
    /// A private (0700, like `vm`'s own) per-test state folder, which only virtlogd (root) writes
    /// into, and a TCG definition with a user NIC and two spare root ports.
    static func makeVM() throws -> (spec: VMSpec, paths: VMPaths, cleanup: @Sendable () -> Void) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vm-libvirt-\(UUID().uuidString)")
        let state = root.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: root.path)
        let paths = VMPaths(runtimeDirectory: root.appendingPathComponent("run").path, stateDirectory: state.path)
        var spec = VMSpec(name: try VMName("vmtest-\(UUID().uuidString.prefix(8).lowercased())"))
        spec.accelerator = .tcg
        spec.memoryMiB = 256
        spec.cpu.cores = 1
        spec.firmware.code = "/usr/share/OVMF/OVMF_CODE_4M.fd"
        spec.firmware.varsTemplate = "/usr/share/OVMF/OVMF_VARS_4M.fd"
        spec.spareRootPorts = 2
        let rootPath = root.path
        return (spec, paths, { try? FileManager.default.removeItem(atPath: rootPath) })
    }

    @Test(.timeLimit(.minutes(3)))
    func lifecycleWithQMPAndHotplug() async throws {
        let connection = try await LibvirtDaemon.shared.systemConnection()
        let (spec, paths, cleanup) = try Self.makeVM()
        defer { cleanup() }
        let name = spec.name.rawValue
        let builder = DomainXMLBuilder(spec: spec, paths: paths)
        let (domain, outcome) = try connection.define(name: name, xml: builder.domainXML())
        defer {
            try? domain.destroy()
            try? domain.undefine(nvram: .remove)
        }
        #expect(outcome == .created)

        try domain.start()
        #expect(try domain.state() == .running)
        let nvram = "/var/lib/libvirt/qemu/nvram/\(name)_VARS.fd"
        #expect(FileManager.default.fileExists(atPath: nvram), "libvirt copies the vars template into its own folder")
        #expect(try domain.xml(inactive: true).contains(">\(nvram)</nvram>"))
        #expect(FileManager.default.fileExists(atPath: paths.serialLog), "virtlogd writes the serial log")
        let startAgain = try #require(throws: LibvirtError.self) { try domain.start() }
        #expect(startAgain.isOperationInvalid)

        let status = try domain.qemuMonitorCommand(#"{"execute":"query-status"}"#)
        #expect(status.contains(#""status":"running""#))
        let bad = try domain.qemuMonitorCommand(#"{"execute":"no-such-command"}"#)
        #expect(bad.contains("CommandNotFound"))

        // USB unplug needs no guest cooperation: attach and detach complete.
        try domain.attachDevice(xml: "<input type='tablet' bus='usb'><alias name='ua-test-tablet'/></input>")
        #expect(try domain.hasDevice(alias: "ua-test-tablet"))
        try await domain.detachDevice(alias: "ua-test-tablet", timeout: .seconds(30))
        #expect(try !domain.hasDevice(alias: "ua-test-tablet"))

        // A PCIe device goes into a spare root port; with no guest OS its unplug never completes.
        let spare = try #require(RootBusPlan(spec: spec).spareRootPorts.first)
        try domain.attachDevice(xml: """
            <interface type='user'><mac address='52:54:00:aa:bb:cc'/><model type='virtio'/>\
            <alias name='ua-test-nic'/>\
            <address type='pci' domain='0x0000' bus='\(String(format: "0x%02x", spare))' slot='0x00' function='0x0'/>\
            </interface>
            """)
        #expect(try domain.hasDevice(alias: "ua-test-nic"))
        await #expect(throws: LibvirtError.detachTimedOut(alias: "ua-test-nic", seconds: 2)) {
            try await domain.detachDevice(alias: "ua-test-nic", timeout: .seconds(2))
        }

        // The firmware does not act on the ACPI power button: shutdown falls back to destroy.
        #expect(try await domain.shutdown(timeout: .seconds(3)) == .destroyed)
        #expect(try domain.state() == .shutOff)

        try domain.undefine(nvram: .remove)
        #expect(try connection.domainIfDefined(named: name) == nil)
        #expect(!FileManager.default.fileExists(atPath: nvram))
    }

    /// Plugging a hot GPU whose host device does not exist surfaces libvirt's own message (here
    /// "host doesn't support passthrough of host PCI devices"; on an IOMMU host, that the device
    /// is missing) and leaves the domain running without it.
    @Test(.timeLimit(.minutes(3)))
    func hostdevOfMissingHostDeviceFailsWithLibvirtMessage() async throws {
        let connection = try await LibvirtDaemon.shared.systemConnection()
        var (spec, paths, cleanup) = try Self.makeVM()
        defer { cleanup() }
        var gpu = GPUPassthrough(slot: PCISlot(domain: 0, bus: 0xfe, slot: 0x1f),
                                 functions: [PCIAddress(domain: 0, bus: 0xfe, slot: 0x1f, function: 0)])
        gpu.plug = .hot
        spec.gpus = [gpu]
        let builder = DomainXMLBuilder(spec: spec, paths: paths)
        let (domain, _) = try connection.define(name: spec.name.rawValue, xml: builder.domainXML())
        defer {
            try? domain.destroy()
            try? domain.undefine(nvram: .remove)
        }
        try domain.start()
        let hostdev = try #require(builder.hotplugDevices(forGPU: 0).first)
        let error = try #require(throws: LibvirtError.self) { try domain.attachDevice(xml: hostdev.xml) }
        guard case .api(let operation, _, _, let message) = error else {
            Issue.record("expected libvirt's error, got \(error)")
            return
        }
        #expect(operation.hasPrefix("virDomainAttachDeviceFlags"))
        #expect(!message.isEmpty)
        #expect(try domain.state() == .running)
        #expect(try !domain.hasDevice(alias: hostdev.alias))
    }
}
