import Foundation

/// Whether a definition already runs on the other backend, found on this host without asking
/// either backend: one VM must never run twice (two QEMUs writing one disk image).
public enum OtherBackend {
    /// The pid of a QEMU that a local libvirtd runs for the domain `name`: libvirt names its
    /// QEMU `-name guest=NAME,debug-threads=on` (`vm` names its own `guest=NAME,process=vm-NAME`).
    public static func libvirtQEMU(named name: String) -> Int32? {
        let marker = "guest=\(name),debug-threads=on"
        return ProcFS.pids().first { ProcFS.commandLine(of: $0)?.contains(marker) ?? false }
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

/// Process facts from `/proc`.
public enum ProcFS {
    /// Every process id.
    public static func pids() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init)
    }

    /// The process's argv, or nil when it is gone.
    public static func commandLine(of pid: Int32) -> [String]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }
}
