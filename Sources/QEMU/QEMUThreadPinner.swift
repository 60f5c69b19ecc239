import FoundationEssentials
import Glibc
import HostLinux
import QMP
import VMCore

/// A QEMU thread and the host CPUs it may run on.
public struct PinnedThread: Sendable, Codable, Equatable {
    /// `vCPU 0`, `I/O thread 0`, or `emulator` (QEMU's main loop and workers).
    public var role: String
    public var thread: Int32
    public var cpus: [Int]
    /// Whether it runs with `SCHED_FIFO` (`[cpu] realtime`, vCPUs only).
    public var realtime: Bool

    public init(role: String, thread: Int32, cpus: [Int], realtime: Bool = false) {
        self.role = role
        self.thread = thread
        self.cpus = cpus
        self.realtime = realtime
    }
}

/// Pins a running QEMU's threads as `[cpu] pin` says: each vCPU thread (from `query-cpus-fast`)
/// on its host CPU (with `SCHED_FIFO` when `[cpu] realtime`), the I/O threads (`query-iothreads`)
/// on theirs, and every other thread of the process (the emulator's main loop, workers) on the
/// emulator CPUs.
public struct QEMUThreadPinner: Sendable {
    public let affinity: any ThreadScheduling
    /// The threads of a process (`/proc/PID/task`).
    public let threads: @Sendable (Int32) -> [Int32]

    public init(affinity: any ThreadScheduling = SystemThreadScheduling(),
                threads: @escaping @Sendable (Int32) -> [Int32] = QEMUThreadPinner.procThreads) {
        self.affinity = affinity
        self.threads = threads
    }

    /// The thread ids of `pid` from `/proc/PID/task`.
    public static func procThreads(of pid: Int32) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).compactMap { Int32($0) }.sorted()
    }

    /// Applies `pins` to QEMU `pid` through its monitor, the vCPUs `realtime` or not; returns
    /// what each thread got.
    public func apply(_ pins: CPUPins, realtime: Bool = false, client: QMPClient, pid: Int32) async throws -> [PinnedThread] {
        let plan = try await plan(pins, realtime: realtime, client: client, pid: pid)
        for thread in plan {
            try affinity.set(thread.cpus, thread: thread.thread)
            if thread.realtime { try affinity.makeRealtime(thread: thread.thread, priority: CPUSpec.realtimePriority) }
        }
        return plan
    }

    /// Where the vCPU threads and QEMU's main thread may run now, as the kernel says.
    public func applied(client: QMPClient, pid: Int32) async throws -> [PinnedThread] {
        let vcpus = try await client.queryCPUThreads().sorted { $0.cpuIndex < $1.cpuIndex }
        return try vcpus.map {
            PinnedThread(role: "vCPU \($0.cpuIndex)", thread: $0.threadID, cpus: try affinity.cpus(of: $0.threadID),
                         realtime: try affinity.isRealtime($0.threadID))
        }
            + [PinnedThread(role: "emulator", thread: pid, cpus: try affinity.cpus(of: pid))]
    }

    /// Which thread goes where, from QEMU's own answers; changes nothing.
    func plan(_ pins: CPUPins, realtime: Bool, client: QMPClient, pid: Int32) async throws -> [PinnedThread] {
        let vcpus = try await client.queryCPUThreads()
        var plan: [PinnedThread] = []
        for vcpu in vcpus.sorted(by: { $0.cpuIndex < $1.cpuIndex }) {
            guard pins.vcpus.indices.contains(vcpu.cpuIndex) else { throw PinningError.vcpuWithoutCPU(vcpu.cpuIndex, pins.vcpus.count) }
            plan.append(PinnedThread(role: "vCPU \(vcpu.cpuIndex)", thread: vcpu.threadID, cpus: [pins.vcpus[vcpu.cpuIndex]],
                                     realtime: realtime))
        }
        let ioCPUs = pins.iothreads.isEmpty ? pins.emulator : pins.iothreads
        let io = try await client.queryIOThreads()
        if !ioCPUs.isEmpty {
            plan += io.map { PinnedThread(role: "I/O thread \($0.cpuIndex)", thread: $0.threadID, cpus: ioCPUs) }
        }
        if !pins.emulator.isEmpty {
            let taken = Set(vcpus.map(\.threadID) + io.map(\.threadID))
            plan += threads(pid).filter { !taken.contains($0) }.map { PinnedThread(role: "emulator", thread: $0, cpus: pins.emulator) }
        }
        return plan
    }
}

/// Why QEMU's threads could not be pinned as the definition says.
public enum PinningError: Error, Equatable, CustomStringConvertible {
    /// QEMU runs a vCPU that `[cpu.pin] vcpus` has no CPU for.
    case vcpuWithoutCPU(Int, Int)
    /// `pin = "auto"` found no layout on this host.
    case noLayout(String)

    public var description: String {
        switch self {
        case let .vcpuWithoutCPU(index, count):
            return "QEMU runs vCPU \(index) but [cpu.pin] vcpus lists \(count) host CPUs; give one per vCPU"
        case let .noLayout(why):
            return "[cpu] pin = \"auto\": \(why); `vm host cpus` shows the host, or give [cpu.pin] lists"
        }
    }
}

extension PinnedThread {
    /// `vCPU 0 (thread 1234): CPU 2`, with `, SCHED_FIFO` when it is realtime.
    public var summary: String {
        "\(role) (thread \(thread)): CPU\(cpus.count == 1 ? "" : "s") \(CPUList.format(cpus))" + (realtime ? ", SCHED_FIFO" : "")
    }
}

extension QEMUMachine {
    /// Pins QEMU's threads as `[cpu.pin]` says; nil when the definition pins nothing.
    func pinThreads(client: QMPClient, pid: Int32) async throws -> [PinnedThread]? {
        guard case .explicit(let pins) = spec.cpu.pin else { return nil }
        return try await QEMUThreadPinner().apply(pins, realtime: spec.cpu.realtime, client: client, pid: pid)
    }

    /// Why `pin = "auto"` has no layout on this host.
    var autoPinProblem: String {
        do {
            _ = try spec.cpu.resolvingAutoPin(on: CPUTopologyReader(fileSystem: hostFileSystem).read())
            return "the layout was not resolved before the start"
        } catch {
            return "\(error)"
        }
    }
}
