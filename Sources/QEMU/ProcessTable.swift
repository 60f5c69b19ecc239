import FoundationEssentials
import Glibc
import VMCore

/// Reads process facts from procfs. A seam so lifecycle tests can inject dead or foreign pids.
public protocol ProcessTable: Sendable {
    /// Whether `pid` is alive (exists and is not a zombie).
    func isAlive(_ pid: Int32) -> Bool
    /// The process's argv, or nil when it is gone.
    func commandLine(of pid: Int32) -> [String]?
    /// Sends `signal`; false when the process does not exist.
    @discardableResult func send(_ signal: Int32, to pid: Int32) -> Bool
    /// A process that has the file at `path` mapped (`/proc/PID/maps`), or nil: a scan of every
    /// process.
    func processMapping(_ path: String) -> Int32?
}

/// The running system's process table under `/proc`.
public struct SystemProcessTable: ProcessTable {
    public init() {}

    public func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        // A daemonized QEMU whose parent does not reap it lingers as a zombie.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        return Self.state(fromStat: stat) != "Z"
    }

    /// The state letter of a `/proc/PID/stat` line (the field after the parenthesised name).
    static func state(fromStat stat: String) -> Character? {
        fieldsAfterName(fromStat: stat)?.first?.first
    }

    /// The fields of a `/proc/PID/stat` line after the parenthesised name (state, parent pid, ...);
    /// the name itself may hold spaces and parentheses.
    static func fieldsAfterName(fromStat stat: String) -> [Substring]? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    public func commandLine(of pid: Int32) -> [String]? {
        ProcFS.commandLine(of: pid)
    }

    @discardableResult
    public func send(_ signal: Int32, to pid: Int32) -> Bool {
        kill(pid, signal) == 0
    }

    public func processMapping(_ path: String) -> Int32? {
        ProcFS.pids().first { pid in
            guard let maps = try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8) else { return false }
            return maps.split(separator: "\n").contains { $0.hasSuffix(" " + path) }
        }
    }
}
