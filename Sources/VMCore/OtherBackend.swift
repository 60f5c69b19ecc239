import FoundationEssentials
import Glibc

/// Whether a definition already runs on the other backend, found on this host without asking
/// either backend: one VM must never run twice (two QEMUs writing one disk image).
public enum OtherBackend {
    /// The pid of a QEMU that a local libvirtd runs for the domain `name`: libvirt names its
    /// QEMU `-name guest=NAME,debug-threads=on` (`vm` names its own `guest=NAME,process=vm-NAME`).
    public static func libvirtQEMU(named name: String) -> Int32? {
        let marker = Array("guest=\(name),debug-threads=on".utf8)
        var buffer: [UInt8] = []
        return ProcFS.pids().first { pid in
            guard let length = ProcFS.readCommandLine(of: pid, into: &buffer) else { return false }
            return buffer[..<length].split(separator: 0).contains { $0.elementsEqual(marker) }
        }
    }

    /// The pid of the QEMU that `vm` (the QEMU backend) runs for `name`, from its run record:
    /// not ended, and the process is that VM's QEMU.
    public static func qemuBackendQEMU(named name: String, paths: VMPaths) -> Int32? {
        guard let record = RunRecordStore(path: paths.runRecord, vm: name).read().record, record.end == nil,
              ProcFS.commandLine(of: record.qemuPID)?.contains("guest=\(name),process=vm-\(name)") ?? false
        else { return nil }
        return record.qemuPID
    }
}

/// Process facts from `/proc`, read with plain system calls: `vm up` scans every process before
/// QEMU starts, so each look costs an open, a read and a close, nothing more.
public enum ProcFS {
    /// Every process id.
    public static func pids() -> [Int32] {
        guard let folder = opendir("/proc") else { return [] }
        defer { closedir(folder) }
        var pids: [Int32] = []
        while let entry = readdir(folder) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let pid = Int32(name), pid > 0 { pids.append(pid) }
        }
        return pids
    }

    /// The process's argv, or nil when it is gone (or is a kernel thread, which has none).
    public static func commandLine(of pid: Int32) -> [String]? {
        var bytes: [UInt8] = []
        guard let length = readCommandLine(of: pid, into: &bytes) else { return nil }
        return bytes[..<length].split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Reads the process's argv (NUL-separated) into the start of `buffer`, which grows as needed
    /// and can serve the next process too (a scan of every process makes no array per process);
    /// the length read, or nil when the process is gone or has none.
    public static func readCommandLine(of pid: Int32, into buffer: inout [UInt8]) -> Int? {
        let path = "/proc/\(pid)/cmdline"
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard let length = try? FileAccess.readToEnd(descriptor, path: path, into: &buffer), length > 0 else { return nil }
        return length
    }
}
