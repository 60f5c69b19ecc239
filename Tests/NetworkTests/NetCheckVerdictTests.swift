import Foundation
import HostLinux
import Testing
import VMCore
@testable import Network

/// `vm net check` verdicts on fake host roots.
@Suite("net check verdicts")
struct NetCheckVerdictTests {
    /// A fake host root with interfaces and files.
    final class FakeHost: @unchecked Sendable {
        let root: String
        init() throws {
            root = NSTemporaryDirectory() + "vmnet-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: root + "/sys/class/net", withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }
        func mkdir(_ path: String) throws { try FileManager.default.createDirectory(atPath: root + path, withIntermediateDirectories: true) }
        func write(_ path: String, _ text: String, mode: Int = 0o644) throws {
            try mkdir((path as NSString).deletingLastPathComponent)
            try text.write(toFile: root + path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: root + path)
        }
        func nic(_ name: String, operstate: String = "up", wireless: Bool = false, master: String? = nil) throws {
            try write("/sys/class/net/\(name)/operstate", operstate + "\n")
            if wireless { try mkdir("/sys/class/net/\(name)/phy80211") }
            if let master { try FileManager.default.createSymbolicLink(atPath: root + "/sys/class/net/\(name)/master", withDestinationPath: "../\(master)") }
        }
        func bridge(_ name: String, ports: [String]) throws {
            try nic(name)
            try mkdir("/sys/class/net/\(name)/bridge")
            try mkdir("/sys/class/net/\(name)/brif")
            for port in ports { try mkdir("/sys/class/net/\(name)/brif/\(port)") }
        }
        func verdict(_ toml: String, uid: UInt32 = 0) throws -> NetworkVerdict {
            var network = NetworkSpec(mac: MACAddress("52:54:00:00:00:01")!)
            for line in toml.split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
                switch parts[0] {
                case "mode": network.mode = NetworkSpec.Mode(rawValue: parts[1])!
                case "bridge": network.bridge = parts[1]
                case "parent": network.parent = parts[1]
                default: break
                }
            }
            let facts = NetworkFactsReader(fileSystem: RootedFileSystem(root: HostRoot(root))).read(for: network, uid: uid)
            return NetworkCheck.verdict(for: network, facts: facts)
        }
    }

    @Test func userModeIsNAT() throws {
        let verdict = try FakeHost().verdict("mode = user")
        #expect(verdict.p2p == .unlikely)
        #expect(verdict.gives.hasPrefix("NAT"))
        #expect(verdict.ok)
    }

    @Test func workingBridge() throws {
        let host = try FakeHost()
        try host.nic("enp3s0", master: "br0")
        try host.bridge("br0", ports: ["enp3s0"])
        try host.write("/etc/qemu/bridge.conf", "allow br0\n")
        try host.write("/usr/lib/qemu/qemu-bridge-helper", "", mode: 0o4755)
        let verdict = try host.verdict("mode = bridge\nbridge = br0")
        #expect(verdict.problems == [])
        #expect(verdict.p2p == .likely)
        #expect(verdict.gives.contains("port enp3s0"))
    }

    @Test func missingBridgeAndConf() throws {
        let host = try FakeHost()
        try host.write("/usr/lib/qemu/qemu-bridge-helper", "", mode: 0o4755)
        let verdict = try host.verdict("mode = bridge\nbridge = br0")
        #expect(verdict.problems.map(\.problem) == [
            "there is no interface br0 on this host",
            "/etc/qemu/bridge.conf is missing, so qemu-bridge-helper refuses every bridge",
        ])
        #expect(verdict.problems[1].fix.contains("allow br0"))
        #expect(verdict.p2p == .unlikely)
    }

    @Test func bridgeNotAllowedAndHelperNotSetuid() throws {
        let host = try FakeHost()
        try host.nic("eth0", master: "br1")
        try host.bridge("br1", ports: ["eth0"])
        try host.write("/etc/qemu/bridge.conf", "allow br0\ninclude /etc/qemu/extra.conf\n")
        try host.write("/etc/qemu/extra.conf", "deny br1\n")
        try host.write("/usr/lib/qemu/qemu-bridge-helper", "", mode: 0o755)
        let verdict = try host.verdict("mode = bridge\nbridge = br1", uid: 1000)
        #expect(verdict.problems.map(\.problem) == [
            "/usr/lib/qemu/qemu-bridge-helper is not setuid root, so QEMU run by this user cannot add its tap to the bridge",
            "/etc/qemu/bridge.conf does not allow br1",
        ])
        try host.write("/usr/lib/qemu/qemu-bridge-helper", "", mode: 0o4755)
        try host.write("/etc/qemu/extra.conf", "allow all\n")
        #expect(try host.verdict("mode = bridge\nbridge = br1", uid: 1000).ok)
    }

    @Test("QEMU runs the bridge helper for root too: a missing helper is a problem whoever runs vm")
    func missingHelper() throws {
        let host = try FakeHost()
        try host.nic("eth0", master: "br0")
        try host.bridge("br0", ports: ["eth0"])
        try host.write("/etc/qemu/bridge.conf", "allow br0\n")
        let verdict = try host.verdict("mode = bridge\nbridge = br0", uid: 0)
        #expect(verdict.problems.map(\.problem) == ["qemu-bridge-helper is not installed"])
    }

    @Test func bridgeOverWiFiAndPortless() throws {
        let host = try FakeHost()
        try host.nic("wlp2s0", wireless: true, master: "br0")
        try host.bridge("br0", ports: ["wlp2s0"])
        try host.bridge("br9", ports: ["tap0"])
        try host.write("/etc/qemu/bridge.conf", "allow all\n")
        #expect(try host.verdict("mode = bridge\nbridge = br0").problems.first?.problem.contains("Wi-Fi") == true)
        #expect(try host.verdict("mode = bridge\nbridge = br9").problems.first?.problem == "bridge br9 has no physical port: the guest only reaches the host and other VMs on it")
    }

    @Test func macvtapVerdicts() throws {
        let host = try FakeHost()
        try host.nic("enp3s0")
        try host.nic("wlan0", wireless: true)
        try host.nic("enp4s0", operstate: "down")
        try host.nic("enp5s0", master: "br0")
        try host.bridge("br0", ports: ["enp5s0"])
        let good = try host.verdict("mode = macvtap\nparent = enp3s0")
        #expect(good.ok && good.p2p == .likely)
        #expect(good.notes.contains { $0.contains("host <-> guest traffic does not pass") })
        #expect(try host.verdict("mode = macvtap\nparent = wlan0").problems.map(\.problem).first?.contains("Wi-Fi NIC") == true)
        #expect(try host.verdict("mode = macvtap\nparent = enp4s0").problems.map(\.fix) == ["plug in the cable and bring it up: ip link set enp4s0 up"])
        #expect(try host.verdict("mode = macvtap\nparent = enp5s0").problems.map(\.fix) == ["use mode = \"bridge\" with bridge = \"br0\""])
        #expect(try host.verdict("mode = macvtap\nparent = eth9").problems.map(\.problem) == ["there is no interface eth9 on this host"])
        #expect(try host.verdict("mode = macvtap\nparent = enp3s0", uid: 1000).problems.map(\.fix) == ["run vm up/down as root"])
    }

    @Test func bridgeACLRules() {
        let acl = BridgeACL(rules: BridgeACL.parse("# comment\nallow all\ndeny br2\n").rules)
        #expect(acl.allows("br0"))
        #expect(!acl.allows("br2"))
        #expect(!BridgeACL(rules: []).allows("br0"))
    }

    @Test func interfaceNames() throws {
        #expect(MacvtapLink.interfaceName(for: try VMName("win")) == "vmtapwin")
        let long = MacvtapLink.interfaceName(for: try VMName("windows-gaming-rig"))
        #expect(long.utf8.count == 15 && long.hasPrefix("vmtapwindow"))
        #expect(try MacvtapLink.parseIfindex("12: vmtapwin@eth0: <BROADCAST,MULTICAST,UP> mtu 1500") == 12)
    }
}
