import Foundation
import QEMU
import Testing
import VMCore
@testable import LibvirtXML

/// One definition, two backends, the same VM: the QEMU command line `vm` runs and the one libvirt
/// would run for `vm`'s domain XML (`virsh domxml-to-native qemu-argv`, real libvirtd) agree on
/// display and VNC, NICs, disks, firmware and hot-plug. GPUs are left out: libvirt 9.0 cannot
/// write the argv of a `<hostdev>` on a host without VFIO ("invalid PCI passthrough type
/// 'default'"); `DomainXMLBuilderTests` and the QEMU goldens cover their addresses.
@Suite(.serialized) struct SameVMOnBothBackendsTests {
    static let files: Set<String> = [
        "/vm/win11.qcow2", "/vm/data.img", "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd",
        "/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd",
    ]

    static let definitions: [(String, String)] = [
        ("std-display-secure-boot", """
            accelerator = "tcg"
            memory = "1G"
            [firmware]
            secure_boot = true
            [[disk]]
            path = "/vm/win11.qcow2"
            [[disk]]
            path = "/vm/data.img"
            [display]
            type = "std"
            [network]
            mac = "52:54:00:12:34:56"
            """),
        ("bridge", """
            memory = "2G"
            [network]
            mode = "bridge"
            bridge = "br0"
            mac = "52:54:00:ab:cd:ef"
            """),
        ("virtio-display-own-vnc", """
            accelerator = "tcg"
            memory = "512M"
            hotplug = "pcie"
            [display]
            type = "virtio"
            vnc = "127.0.0.1:7"
            [network]
            mode = "none"
            """),
    ]

    /// Devices whose presence and count must match (the buses, ports and controllers around
    /// them are each backend's own business).
    static let comparedDrivers: Set = ["VGA", "virtio-vga", "virtio-net-pci", "e1000e", "virtio-blk-pci", "ide-hd", "ide-cd", "nvme", "vfio-pci"]

    struct Facts: Equatable {
        var drivers: [String: Int] = [:]
        var vnc: [String] = []
        var macs: [String] = []
        var secureBoot = false
        var hotplugOff = false
    }

    static func matches(_ pattern: String, in text: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: pattern)
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }
    }

    /// The compared facts of a command line, written as QEMU options (`vm`) or JSON (libvirt).
    static func facts(_ text: String) -> Facts {
        var facts = Facts()
        let drivers = matches(#"-device '?\{"driver":"([^"]+)""#, in: text) + matches(#"-device ([A-Za-z0-9-]+)[, ]"#, in: text + " ")
        for driver in drivers where comparedDrivers.contains(driver) { facts.drivers[driver, default: 0] += 1 }
        facts.vnc = matches(#"(?:^| )-vnc ([^ ,']+)"#, in: text)
        facts.macs = matches(#"mac[=":]+([0-9a-f]{2}(?::[0-9a-f]{2}){5})"#, in: text)
        facts.secureBoot = text.contains("driver=cfi.pflash01,property=secure,value=on")
        facts.hotplugOff = text.contains("ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off")
        return facts
    }

    @Test(arguments: definitions.map(\.0))
    func sameVM(name: String) async throws {
        _ = try await LibvirtDaemon.shared.systemConnection()
        let toml = try #require(Self.definitions.first { $0.0 == name }?.1)
        let spec = try DefinitionParser(file: "/etc/vm/\(name).toml", fileExists: { Self.files.contains($0) })
            .parse(toml)
            .resolvedForLaunch(exists: { Self.files.contains($0) }, functionsOfSlot: { _ in [] })
        let paths = VMPaths(runtimeDirectory: "/run/vm/\(name)", stateDirectory: "/var/lib/vm/\(name)")
        let ours = try QEMUCommandLine.arguments(for: spec, paths: paths).joined(separator: " ")
        let libvirts = try NativeArgv.of(DomainXMLBuilder(spec: spec, paths: paths).domainXML())
        let (mine, theirs) = (Self.facts(ours), Self.facts(libvirts))
        #expect(mine == theirs, "vm: \(ours)\nlibvirt: \(libvirts)")
        // The facts are the definition's, not two empty sets.
        #expect(mine.vnc.isEmpty == (spec.display.kind == .none), "an emulated display has VNC on both backends")
        #expect(mine.drivers["virtio-blk-pci", default: 0] == spec.disks.count)
        #expect(mine.macs == (spec.network.mode == .none ? [] : [spec.network.mac.description]))
        #expect(mine.secureBoot == spec.firmware.secureBoot)
        #expect(mine.hotplugOff == (spec.hotplug == .pcie))
        for file in spec.disks.map(\.path) + [spec.firmware.code].compactMap(\.self) {
            #expect(ours.contains(file) && libvirts.contains(file), "\(file) on both")
        }
    }
}
