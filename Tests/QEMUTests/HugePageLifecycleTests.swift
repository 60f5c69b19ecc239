import Foundation
import GuestSupport
import HostLinux
import HostLinuxFakes
import Testing
import VMCore
@testable import QEMU

/// Huge pages around a real QEMU, with the host's pools in a fake kernel (this machine's own
/// huge pages are never touched): the real QEMU cannot get memfd huge pages here and ends, which
/// is the failed start whose reservation must be given back.
@Suite(.serialized)
struct HugePageLifecycleTests {
    @Test("a start that fails gives back the huge pages it reserved and leaves no record")
    func failedStartGivesPagesBack() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("huge", bed.definition(extra: "hugepages = \"2M\""))
        let pool = HugePageReserver.poolFolder(.twoMiB, node: nil)
        let kernel = FakeKernel(tree: try FakeHostTree())
        try kernel.hugePagePool(pool, total: 3, limit: 10_000)
        var machine = try scratch.machine(loaded)
        machine.hostFileSystem = kernel
        await #expect(throws: UpError.self) { _ = try await machine.up() }
        #expect(kernel.writes.first == "\(pool)/nr_hugepages <- 128", "128 pages for 256 MiB, 3 of them free")
        #expect(try kernel.readTrimmed("\(pool)/nr_hugepages") == "3")
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.hugePagesRecord))
        #expect(Scratch.qemuProcesses(named: "huge").isEmpty)
    }

    @Test("a record left by a crashed run is given back by the next vm up")
    func leftRecordIsReleased() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("huge2", bed.definition())
        let pool = HugePageReserver.poolFolder(.twoMiB, node: nil)
        let kernel = FakeKernel(tree: try FakeHostTree())
        try kernel.hugePagePool(pool, total: 200, limit: 10_000)
        try PrivateDirectory.make(loaded.paths.stateDirectory)
        try JSONEncoder().encode(HugePageReservation(pool: "\(pool)/nr_hugepages", added: 128))
            .write(to: URL(fileURLWithPath: loaded.paths.hugePagesRecord))
        var machine = try scratch.machine(loaded)
        machine.hostFileSystem = kernel
        _ = try await machine.up()
        #expect(try kernel.readTrimmed("\(pool)/nr_hugepages") == "72")
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.hugePagesRecord))
        _ = try await machine.down(timeout: .seconds(1), force: true)
    }

    @Test func qemuGetsMemfdHugePagesOfTheSize() throws {
        var spec = VMSpec(name: try VMName("h"))
        spec.hugepages = .oneGiB
        spec.firmware.kind = .bios
        let arguments = try QEMUCommandLine.arguments(for: spec, paths: StateLayout(environment: [:], uid: 0).paths(for: spec.name))
        #expect(arguments.contains("memory-backend-memfd,id=mem0,size=4096M,hugetlb=on,hugetlbsize=1G,share=on,prealloc=on"))
        #expect(arguments.contains { $0.hasPrefix("q35,") && $0.contains("memory-backend=mem0") })
    }
}
