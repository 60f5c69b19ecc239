import Foundation
import GuestSupport
import HostLinux
import HostLinuxFakes
import Testing
import VMCore
@testable import QEMU

/// What `vm up` changes on the host for a run (huge pages, CPU isolation) around a real QEMU, with
/// the host's sysfs and cgroups in a fake kernel: this machine's own are never touched. The real
/// QEMU cannot get memfd huge pages here and ends, which is the failed start whose reservation
/// must be given back.
@Suite(.serialized)
struct HostChangeLifecycleTests {
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
        var machine = try scratch.machine(loaded)
        machine.hostFileSystem = kernel
        try machine.hugePagesRecord.save(HugePageReservation(pool: "\(pool)/nr_hugepages", added: 128), root: kernel.root)
        _ = try await machine.up()
        #expect(try kernel.readTrimmed("\(pool)/nr_hugepages") == "72")
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.hugePagesRecord))
        _ = try await machine.down(timeout: .seconds(1), force: true)
    }

    @Test("[cpu] isolate: QEMU in its own cgroup, the rest on the other CPUs while it runs; undone at vm down")
    func isolationLivesWithTheVM() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("iso", bed.definition(extra: "[cpu]\ncores = 1\nisolate = true\n[cpu.pin]\nvcpus = [1]\nemulator = [0]"))
        let kernel = FakeKernel(tree: try FakeHostTree())
        try kernel.tree.file("/sys/devices/system/cpu/online", "0-1\n")
        try kernel.cgroupTree(processes: [1], children: ["system.slice": [400]])
        var machine = try scratch.machine(loaded)
        machine.hostFileSystem = kernel
        let report = try await machine.up()
        let pid = try #require(report.pid)
        #expect(try kernel.processes(in: "/sys/fs/cgroup/vm-iso") == [pid])
        #expect(try kernel.readTrimmed("/sys/fs/cgroup/system.slice/cpuset.cpus") == "0")
        #expect(FileManager.default.fileExists(atPath: loaded.paths.cpuIsolationRecord))
        _ = try await machine.down(timeout: .seconds(1), force: true)
        #expect(!kernel.exists("/sys/fs/cgroup/vm-iso") && !kernel.exists("/sys/fs/cgroup/vm-host"))
        #expect(try kernel.readTrimmed("/sys/fs/cgroup/system.slice/cpuset.cpus") == "")
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.cpuIsolationRecord))
    }

    @Test("a record made under another host root is not undone here, and stops the start")
    func recordOfAnotherRootIsRefused() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("huge3", bed.definition())
        try PrivateDirectory.make(loaded.paths.stateDirectory)
        let machine = try scratch.machine(loaded)
        let kernel = FakeKernel(tree: try FakeHostTree())
        try machine.hugePagesRecord.save(HugePageReservation(pool: "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", added: 5),
                                         root: kernel.root)
        await #expect { _ = try await machine.up() } throws: { "\($0)".contains("not this one") }
        #expect(FileManager.default.fileExists(atPath: loaded.paths.hugePagesRecord))
        #expect(Scratch.qemuProcesses(named: "huge3").isEmpty)
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
