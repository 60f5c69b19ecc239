import Foundation
import Handover
import HostLinux
import HostLinuxFakes
import Synchronization
import Testing
import VMCore
@testable import Libvirt
@testable import LibvirtXML

/// A libvirt domain and host with a real GPU, which this machine does not have: node-device
/// detach binds the fake sysfs function to vfio-pci, an unplug removes the alias and (managed
/// hostdev) binds the function back to its native driver. `failAttach` injects libvirt's refusal.
final class ScriptedHotplugDomain: HotplugDomain, @unchecked Sendable {
    let tree: FakeHostTree
    let native: [PCIAddress: String]
    let failAttach: String?
    private let state = Mutex<(aliases: [String], calls: [String])>(([], []))

    init(tree: FakeHostTree, native: [PCIAddress: String], failAttach: String? = nil) {
        self.tree = tree
        self.native = native
        self.failAttach = failAttach
    }

    var calls: [String] { state.withLock { $0.calls } }
    var aliases: [String] { state.withLock { $0.aliases } }

    func isActive() throws -> Bool { true }

    func liveXML() throws -> String {
        "<domain><devices>" + aliases.map { "<hostdev><alias name='\($0)'/></hostdev>" }.joined() + "</devices></domain>"
    }

    func attachDevice(xml: String) throws {
        let alias = try #require(xml.firstRange(of: "<alias name='").map { String(xml[$0.upperBound...].prefix { $0 != "'" }) })
        state.withLock { $0.calls.append("attach \(alias)") }
        if alias == failAttach { throw LibvirtError.api(operation: "virDomainAttachDeviceFlags", code: 1, domain: 10, message: "injected") }
        state.withLock { $0.aliases.append(alias) }
    }

    func unplug(aliases: [String], timeout: Duration) async throws -> [String] {
        for alias in aliases {
            state.withLock { $0.calls.append("detach \(alias)"); $0.aliases.removeAll { $0 == alias } }
            // managed='yes': libvirt gives the function back once it left the guest.
            let function = PCIAddress(domain: 0, bus: 5, slot: 0, function: UInt8(String(alias.last!))!)
            try tree.unbind(function)
            try tree.bind(function, to: native[function]!)
        }
        return []
    }

    func qemuMonitorCommand(_ json: String) throws -> String {
        let devices = aliases.map { #"{"qdev_id":"\#($0)"}"# }.joined(separator: ",")
        return #"{"return":[{"bus":0,"devices":[\#(devices)]}]}"#
    }

    func detachFromHost(_ function: PCIAddress) throws {
        state.withLock { $0.calls.append("nodedev-detach \(function)") }
        try tree.unbind(function)
        try tree.bind(function, to: "vfio-pci")
    }

    func reattachToHost(_ function: PCIAddress) throws {
        state.withLock { $0.calls.append("nodedev-reattach \(function)") }
        try tree.unbind(function)
        try tree.bind(function, to: native[function]!)
    }
}

@Suite struct GPUHotplugPlanTests {
    @Test func eachFunctionOnItsOwnRootPortDisplayLast() throws {
        let plan = try LibvirtGPUPlan(spec: Fixtures.hotGPU, gpu: 0)
        #expect(plan.functions.map(\.alias) == ["ua-gpu0-fn1", "ua-gpu0-fn0"])
        #expect(plan.functions.map(\.rootPort) == [2, 1])
        #expect(plan.detachOrder == ["ua-gpu0-fn0", "ua-gpu0-fn1"])
        for function in plan.functions {
            // libvirt hot-plugs at function 0 only, never as a multifunction slot.
            #expect(function.xml.contains("<address type='pci' domain='0x0000' bus='0x0\(function.rootPort)' slot='0x00' function='0x0'/>"))
            #expect(!function.xml.contains("multifunction"))
            #expect(function.xml.contains("managed='yes'"))
        }
        #expect(plan.functions[0].xml.contains("<address domain='0x0000' bus='0x05' slot='0x00' function='0x1'/>"))
    }

    @Test func refusesWhatLibvirtCannotHotPlug() throws {
        #expect(throws: LibvirtGPUPlan.Problem.bootPlugged(index: 0)) { try LibvirtGPUPlan(spec: Fixtures.singleGPU, gpu: 0) }
        #expect(throws: LibvirtGPUPlan.Problem.noSuchGPU(index: 3, count: 1)) { try LibvirtGPUPlan(spec: Fixtures.hotGPU, gpu: 3) }
        var spec = Fixtures.hotGPU
        spec.spareRootPorts = 0
        #expect(throws: LibvirtGPUPlan.Problem.notEnoughSpareRootPorts(index: 0, needed: 1, available: 0)) {
            try LibvirtGPUPlan(spec: spec, gpu: 0)
        }
    }

    @Test func dryRunLinesNameEveryStep() throws {
        let swapper = LibvirtGPUSwapper(plan: try LibvirtGPUPlan(spec: Fixtures.hotGPU, gpu: 0), name: "hotswap", host: nil)
        let attach = swapper.attachPlan()
        #expect(attach.first?.hasPrefix("remote libvirt host") == true)
        #expect(attach.filter { $0.hasPrefix("attach") }.count == 2)
        #expect(swapper.detachPlan().first == "detach ua-gpu0-fn0 (live)")
    }
}

@Suite struct GPUHotplugHostTests {
    static func hotSpec(_ slot: String) -> VMSpec {
        var spec = Fixtures.hotGPU
        var gpu = Fixtures.gpu(slot, functions: [0, 1])
        gpu.plug = .hot
        spec.gpus = [gpu]
        return spec
    }

    /// A daemon that cannot be reached: any libvirt call would fail with "cannot connect".
    static let unreachable = "qemu+unix:///system?socket=/nonexistent/libvirt-sock"

    static func refusal(_ spec: VMSpec, tree: FakeHostTree, force: Bool = false) async -> (any Error)? {
        let machine = LibvirtMachine(spec: spec, paths: Fixtures.paths, uri: unreachable)
        do {
            _ = try await machine.attachGPU(0, force: force, hostFileSystem: tree.fileSystem)
            return nil
        } catch {
            return error
        }
    }

    @Test func missingSlotRefusedBeforeLibvirt() async throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        let error = await Self.refusal(Self.hotSpec("0000:42:00"), tree: tree)
        #expect(error as? HandoverError == .groupNotIsolated("no PCI functions at 0000:42:00"))
    }

    @Test func sharedGroupRefusedBeforeLibvirt() async throws {
        let tree = try Scenarios.amdHost()
        let error = try #require(await Self.refusal(Self.hotSpec("0000:0a:00"), tree: tree) as? HandoverError)
        guard case .groupNotIsolated(let reason) = error else { Issue.record("\(error)"); return }
        #expect(reason.contains("0000:0c:00.3"))
    }

    @Test func holdersNamedUnlessForced() async throws {
        let tree = try Scenarios.twoIdentical3090Ti()
        try tree.process(4242, command: "Xorg", openFiles: ["/dev/nvidia0"])
        let error = await Self.refusal(Self.hotSpec("0000:05:00"), tree: tree)
        #expect(error as? HandoverError == .heldByHost([DeviceHolder(pid: 4242, command: "Xorg", deviceNode: "/dev/nvidia0")]))
        #expect("\(error!)".contains("4242 Xorg"))
        // Forced, the checks pass and the next thing is libvirt itself, which is not there.
        let forced = await Self.refusal(Self.hotSpec("0000:05:00"), tree: tree, force: true)
        #expect(forced.map { "\($0)" }?.contains("cannot connect to libvirt") == true)
    }

    static func scripted(failAttach: String? = nil) throws -> (FakeHostTree, ScriptedHotplugDomain, LibvirtGPUSwapper) {
        let tree = try Scenarios.twoIdentical3090Ti()
        let native = [PCIAddress("0000:05:00.0")!: "nvidia", PCIAddress("0000:05:00.1")!: "snd_hda_intel"]
        let domain = ScriptedHotplugDomain(tree: tree, native: native, failAttach: failAttach)
        let swapper = LibvirtGPUSwapper(plan: try LibvirtGPUPlan(spec: hotSpec("0000:05:00"), gpu: 0), name: "hotswap",
                                        host: LibvirtGPUHost(fileSystem: tree.fileSystem))
        return (tree, domain, swapper)
    }

    func drivers(_ tree: FakeHostTree) -> [String?] {
        LibvirtGPUHost(fileSystem: tree.fileSystem).drivers([PCIAddress("0000:05:00.0")!, PCIAddress("0000:05:00.1")!]).map(\.1)
    }

    @Test func attachThenDetachRoundTrip() async throws {
        let (tree, domain, swapper) = try Self.scripted()
        #expect(try swapper.checkHost(force: false).isEmpty)
        let attached = try await swapper.attach(domain)
        #expect(attached.devices == ["ua-gpu0-fn1", "ua-gpu0-fn0"])
        #expect(domain.calls == ["nodedev-detach 0000:05:00.1", "nodedev-detach 0000:05:00.0", "attach ua-gpu0-fn1", "attach ua-gpu0-fn0"])
        #expect(drivers(tree) == ["vfio-pci", "vfio-pci"])
        await #expect(throws: HandoverError.alreadyInGuest(index: 0, aliases: ["ua-gpu0-fn1", "ua-gpu0-fn0"])) { try await swapper.attach(domain) }

        let detached = try await swapper.detach(domain)
        #expect(detached.devices == ["ua-gpu0-fn0", "ua-gpu0-fn1"])
        #expect(domain.calls.suffix(2) == ["detach ua-gpu0-fn0", "detach ua-gpu0-fn1"])
        #expect(drivers(tree) == ["nvidia", "snd_hda_intel"])
        #expect(detached.steps.contains("0000:05:00.0: back on nvidia"))
        await #expect(throws: HandoverError.notInGuest(index: 0)) { try await swapper.detach(domain) }
    }

    @Test func failedAttachIsRolledBack() async throws {
        let (tree, domain, swapper) = try Self.scripted(failAttach: "ua-gpu0-fn0")
        let error = await #expect(throws: HandoverError.self) { try await swapper.attach(domain) }
        guard case .stepFailed(let step, let reason, let rolledBack, _) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(step == "attach of ua-gpu0-fn0")
        #expect(reason.contains("injected"))
        #expect(rolledBack)
        #expect(domain.aliases.isEmpty)
        #expect(domain.calls.contains("detach ua-gpu0-fn1"))
        // fn1 came back through libvirt's managed re-attach; fn0 never entered the guest, so it is ours to return.
        #expect(domain.calls.last == "nodedev-reattach 0000:05:00.0")
        #expect(drivers(tree) == ["nvidia", "snd_hda_intel"])
    }
}

/// Real libvirtd (`qemu:///system`, TCG): the host passes the checks (a fake sysfs with the GPU),
/// but the real host has no such device, so libvirt itself refuses; nothing is left behind.
@Suite(.serialized) struct GPUHotplugDaemonTests {
    @Test(.timeLimit(.minutes(3)))
    func libvirtRefusalLeavesDomainClean() async throws {
        let connection = try await LibvirtDaemon.shared.systemConnection()
        var (spec, paths, cleanup) = try SystemDaemonTests.makeVM()
        defer { cleanup() }
        var gpu = Fixtures.gpu("0000:05:00", functions: [0, 1])
        gpu.plug = .hot
        spec.gpus = [gpu]
        let (domain, _) = try connection.define(name: spec.name.rawValue, xml: DomainXMLBuilder(spec: spec, paths: paths).domainXML())
        defer {
            try? domain.destroy()
            try? domain.undefine(nvram: .remove)
        }
        try domain.start()
        let tree = try Scenarios.twoIdentical3090Ti()
        let machine = LibvirtMachine(spec: spec, paths: paths, uri: "qemu:///system")
        let error = await #expect(throws: HandoverError.self) {
            try await machine.attachGPU(0, hostFileSystem: tree.fileSystem)
        }
        guard case .stepFailed(let step, let reason, let rolledBack, _) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(step == "node-device detach of 0000:05:00.1")
        #expect(reason.contains("libvirt:"))
        #expect(rolledBack)
        #expect(try domain.state() == .running)
        #expect(try !domain.liveXML().contains("ua-gpu0-fn"))
        await #expect(throws: HandoverError.notInGuest(index: 0)) { try await machine.detachGPU(0, hostFileSystem: tree.fileSystem) }
    }
}
