import Foundation
import GuestAgent
import GuestSupport
import HostLinux
import QEMU
import Testing
import VMCore
@testable import Network

/// The test-bed guest on each network mode, inside a namespace the test builds:
/// a "LAN" at 192.168.7x.1 behind a bridge or a veth.
@Suite("Network modes for real in a test namespace", .serialized)
struct RealNetworkTests {
    /// Boots `toml`'s guest with QEMU inside `namespace`, waits for the agent, runs `body`, stops it.
    func withGuest(_ namespace: TestNamespace, name: String, network: String, address: String,
                   _ body: (GuestAgentClient, LoadedDefinition) async throws -> Void) async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define(name, bed.definition(extraCmdline: "vmtest.ga=1 vmtest.net=\(address)",
                                                             extra: "guest_agent = true", network: network))
        // QEMU and its supervisor (which removes the macvtap link when QEMU ends) run in the namespace.
        var machine = try scratch.machine(loaded, qemu: try namespace.qemuWrapper(in: scratch.root),
                                          supervisor: try namespace.wrapper(for: try BuiltExecutable.path("vm-supervisor"), named: "vm-supervisor", in: scratch.root))
        machine.hostCommands = namespace.commandRunner
        machine.hostFileSystem = RootedFileSystem(root: HostRoot(namespace.hostRoot))
        _ = try await machine.up()
        try await Scratch.waitForSerial(loaded, marker: "VMTEST-READY")
        var agent: GuestAgentClient?
        let deadline = ContinuousClock.now + .seconds(60)
        while agent == nil, ContinuousClock.now < deadline {
            agent = try? await GuestAgentClient.connect(path: loaded.paths.agentSocket, timeout: .seconds(3))
        }
        let client = try #require(agent)
        defer { client.close() }
        try await body(client, loaded)
        _ = try await machine.down(timeout: .seconds(5), force: true)
    }

    /// Pings `address` from the guest until it answers (ARP and STP settle) or `tries` run out.
    func guestPings(_ agent: GuestAgentClient, _ address: String, tries: Int = 15) async throws -> Bool {
        for _ in 0..<tries {
            let result = try await agent.exec(path: "/bin/busybox", arguments: ["ping", "-c", "1", "-W", "2", address])
            if result.exitCode == 0 { return true }
        }
        return false
    }

    @Test("bridge mode: the guest is on the namespace's bridge and reaches 192.168.77.1; both ways")
    func bridgeMode() async throws {
        let ns = try TestNamespace()
        try ns.ip("link", "add", "br0", "type", "bridge")
        try ns.ip("link", "add", "lan0", "type", "veth", "peer", "name", "lan1")
        try ns.ip("link", "set", "lan0", "master", "br0")
        try ns.ip("addr", "add", "192.168.77.1/24", "dev", "lan1")
        for link in ["br0", "lan0", "lan1"] { try ns.ip("link", "set", link, "up") }
        try ns.writeBridgeConf("allow br0\n")
        try await withGuest(ns, name: "nb", network: "mode = \"bridge\"\nbridge = \"br0\"", address: "192.168.77.2/24") { agent, _ in
            let reached = try await guestPings(agent, "192.168.77.1")
            #expect(reached)
            let answered = try ns.status(["busybox", "ping", "-c", "1", "-W", "2", "192.168.77.2"])
            #expect(answered == 0)
        }
    }

    @Test("bridge mode without an allow line: vm up refuses with the line to add, and no QEMU starts")
    func bridgeModeWithoutACL() async throws {
        let ns = try TestNamespace()
        try ns.ip("link", "add", "br0", "type", "bridge")
        try ns.ip("link", "set", "br0", "up")
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("nbx", bed.definition(network: "mode = \"bridge\"\nbridge = \"br0\""))
        var machine = try scratch.machine(loaded, qemu: try ns.qemuWrapper(in: scratch.root))
        machine.hostFileSystem = RootedFileSystem(root: HostRoot(ns.hostRoot))
        for conf in [nil, "allow br1\n"] {
            if let conf { try ns.writeBridgeConf(conf) }
            do {
                _ = try await machine.up()
                Issue.record("vm up started a bridged guest that QEMU's bridge helper refuses")
            } catch let refusal as StartRefusal {
                guard case .networkNotReady(let problems) = refusal else { throw refusal }
                #expect(problems.count == 1)
                #expect(refusal.description.contains("/etc/qemu/bridge.conf"))
                #expect(refusal.description.contains("allow br0"))
            }
            #expect(Scratch.qemuProcesses(named: "nbx").isEmpty)
            #expect(!FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory))
        }
    }

    @Test("macvtap mode: vm creates the link on a veth, hands the tap to QEMU, and removes it at down")
    func macvtapMode() async throws {
        let ns = try TestNamespace()
        try ns.ip("link", "add", "lan0", "type", "veth", "peer", "name", "lan1")
        try ns.ip("addr", "add", "192.168.78.1/24", "dev", "lan1")
        for link in ["lan0", "lan1"] { try ns.ip("link", "set", link, "up") }
        let mac = "52:54:00:aa:bb:01"
        try await withGuest(ns, name: "nm", network: "mode = \"macvtap\"\nparent = \"lan0\"\nmac = \"\(mac)\"", address: "192.168.78.2/24") { agent, _ in
            let link = try ns.ip("-o", "link", "show", "dev", "vmtapnm")
            #expect(link.contains("macvtap") || link.contains("vmtapnm@lan0"))
            #expect(link.contains(mac))
            let reached = try await guestPings(agent, "192.168.78.1")
            #expect(reached)
            let interfaces = try await agent.info().interfaces ?? []
            #expect(interfaces.contains { $0.hardwareAddress == mac })
        }
        #expect(throws: NamespaceError.self) { try ns.ip("link", "show", "dev", "vmtapnm") }
    }

    @Test("user mode: the guest does not appear on the namespace's L2")
    func userMode() async throws {
        let ns = try TestNamespace()
        try ns.ip("link", "add", "br0", "type", "bridge")
        try ns.ip("addr", "add", "192.168.79.1/24", "dev", "br0")
        try ns.ip("link", "set", "br0", "up")
        try await withGuest(ns, name: "nu", network: "mode = \"user\"", address: "192.168.79.2/24") { agent, _ in
            let reached = try await guestPings(agent, "192.168.79.1", tries: 2)
            #expect(!reached)
            let neighbours = try ns.ip("neigh", "show", "dev", "br0")
            #expect(!neighbours.contains("lladdr"))
        }
    }
}
