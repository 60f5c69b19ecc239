import Foundation

/// The pidfile QEMU writes as it starts (`-pidfile`; libvirt's QEMU driver keeps one per domain).
public enum QEMUPidFile {
    /// Seconds since QEMU wrote the pidfile at `path`, i.e. its uptime; nil when there is none.
    public static func uptimeSeconds(_ path: String) -> Int? {
        guard let written = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { return nil }
        return max(0, Int(Date().timeIntervalSince(written)))
    }
}
