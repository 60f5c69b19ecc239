import CAffinity
import VMCore

/// Sets and reads which host CPUs a thread may run on (`sched_setaffinity`) and its scheduling
/// policy: the seam CPU pinning goes through.
public protocol ThreadScheduling: Sendable {
    /// Lets thread `tid` run only on `cpus`.
    func set(_ cpus: [Int], thread tid: Int32) throws
    /// The CPUs thread `tid` may run on.
    func cpus(of tid: Int32) throws -> [Int]
    /// Runs thread `tid` with the real-time policy `SCHED_FIFO` at `priority` (1-99).
    func makeRealtime(thread tid: Int32, priority: Int32) throws
    /// Whether thread `tid` runs with `SCHED_FIFO`.
    func isRealtime(_ tid: Int32) throws -> Bool
}

/// The kernel's scheduling calls, with an affinity mask of 4096 CPUs.
public struct SystemThreadScheduling: ThreadScheduling {
    static let maskBytes = 512

    public init() {}

    public func set(_ cpus: [Int], thread tid: Int32) throws {
        var mask = [UInt8](repeating: 0, count: Self.maskBytes)
        for cpu in cpus {
            guard (0..<Self.maskBytes * 8).contains(cpu) else {
                throw HostError.malformed(path: "/proc/\(tid)", detail: "CPU \(cpu) is beyond the \(Self.maskBytes * 8) CPUs an affinity mask holds")
            }
            mask[cpu / 8] |= UInt8(1 << (cpu % 8))
        }
        let result = vm_set_affinity(tid, mask.count, mask)
        guard result == 0 else {
            throw HostError.io(path: "/proc/\(tid)", operation: "sched_setaffinity CPUs \(CPUList.format(cpus)) for thread", errno: result)
        }
    }

    public func cpus(of tid: Int32) throws -> [Int] {
        var mask = [UInt8](repeating: 0, count: Self.maskBytes)
        let result = vm_get_affinity(tid, mask.count, &mask)
        guard result == 0 else { throw HostError.io(path: "/proc/\(tid)", operation: "sched_getaffinity of thread", errno: result) }
        return (0..<mask.count * 8).filter { mask[$0 / 8] & UInt8(1 << ($0 % 8)) != 0 }
    }

    public func makeRealtime(thread tid: Int32, priority: Int32) throws {
        let result = vm_set_fifo(tid, priority)
        guard result == 0 else {
            throw HostError.io(path: "/proc/\(tid)", operation: "sched_setscheduler SCHED_FIFO \(priority) for thread", errno: result)
        }
    }

    public func isRealtime(_ tid: Int32) throws -> Bool {
        let fifo = vm_is_fifo(tid)
        guard fifo >= 0 else { throw HostError.io(path: "/proc/\(tid)", operation: "sched_getscheduler of thread", errno: -fifo) }
        return fifo == 1
    }
}
