import Foundation
import GuestSupport
import HostLinux
import QMP
import Testing
import VMCore
@testable import QEMU

/// `[cpu.pin]` against real QEMU: TCG runs one host thread per vCPU, so two vCPUs give two
/// threads to pin on this machine's two CPUs.
@Suite(.serialized)
struct PinningTests {
    /// `Cpus_allowed_list` of thread `tid` of `pid`, as procfs shows it.
    func allowedList(pid: Int32, tid: Int32) throws -> String {
        let status = try String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") })
        return line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)
    }

    @Test("vm up pins each vCPU thread and the emulator threads where [cpu.pin] says, before the vCPUs run")
    func explicitPins() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("pin", bed.definition(extra: "[cpu]\ncores = 2\n[cpu.pin]\nvcpus = [1, 0]\nemulator = [0]"))
        let machine = try scratch.machine(loaded)
        let report = try await machine.up()
        #expect(report.qemuStatus == "running")
        let pid = try #require(report.pid)

        let client = try await QMPClient.connect(path: try #require(report.qmpSocket))
        let vcpus = try await client.queryCPUThreads()
        client.close()
        #expect(vcpus.map(\.cpuIndex).sorted() == [0, 1])
        for vcpu in vcpus {
            #expect(try allowedList(pid: pid, tid: vcpu.threadID) == (vcpu.cpuIndex == 0 ? "1" : "0"), "vCPU \(vcpu.cpuIndex)")
        }
        let others = QEMUThreadPinner.procThreads(of: pid).filter { tid in !vcpus.contains { $0.threadID == tid } }
        #expect(!others.isEmpty)
        for tid in others { #expect(try allowedList(pid: pid, tid: tid) == "0", "thread \(tid)") }
        #expect(report.pinned?.contains { $0.hasPrefix("vCPU 0 (thread ") && $0.hasSuffix("): CPU 1") } == true)

        let status = await machine.status()
        #expect(status.pinning?.contains { $0.hasPrefix("vCPU 1 (thread ") && $0.hasSuffix("): CPU 0") } == true)
        #expect(status.pinning?.last == "emulator (thread \(pid)): CPU 0")
        _ = try await machine.down(timeout: .seconds(5), force: true)
    }

    @Test("an I/O thread added while the VM runs (object-add through the VM's QMP socket) is pinned by the supervisor")
    func laterIOThreadIsPinned() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("pinio", bed.definition(extra: "[cpu]\ncores = 1\n[cpu.pin]\nvcpus = [0]\nemulator = [0]\niothreads = [1]"))
        let machine = try scratch.machine(loaded)
        let report = try await machine.up(paused: true)
        let pid = try #require(report.pid)
        let client = try await QMPClient.connect(path: try #require(report.qmpSocket))
        defer { client.close() }
        #expect(try await client.queryIOThreads().isEmpty)
        _ = try await client.execute("object-add", arguments: ["qom-type": "iothread", "id": "late0"])
        let threads = try await client.queryIOThreads()
        #expect(threads.count == 1)
        for thread in threads {
            #expect(try allowedList(pid: pid, tid: thread.threadID) == "1", "I/O thread \(thread.threadID), added after the start")
        }
        _ = try await machine.down(timeout: .seconds(5), force: true)
    }

    @Test("a host CPU that does not exist fails the start with the CPU named, and leaves no QEMU")
    func impossiblePin() async throws {
        let bed = try await TestBed.prepare()
        let scratch = try Scratch()
        let loaded = try scratch.define("pinbad", bed.definition(extra: "[cpu]\ncores = 1\n[cpu.pin]\nvcpus = [4000]"))
        let machine = try scratch.machine(loaded)
        await #expect { _ = try await machine.up() } throws: { error in
            "\(error)".contains("sched_setaffinity CPUs 4000")
        }
        #expect(Scratch.qemuProcesses(named: "pinbad").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: loaded.paths.runtimeDirectory))
    }
}
