import FoundationEssentials
import Glibc

/// The pidfile QEMU writes as it starts (`-pidfile`; libvirt's QEMU driver keeps one per domain).
public enum QEMUPidFile {
    /// The pid in a pidfile's text (`"4242\n"`); nil unless the text is one decimal number.
    /// (Plain Swift on purpose: `vm up` reads the pidfile on its critical path, and Foundation's
    /// `trimmingCharacters` goes through NSString, which costs its first caller about a millisecond.)
    public static func pid(in text: String) -> Int32? {
        let words = text.split(whereSeparator: \.isWhitespace)
        guard words.count == 1, let pid = Int32(words[0]), pid > 0 else { return nil }
        return pid
    }

    /// The pid in the pidfile at `path`; nil when it cannot be read or holds no pid.
    public static func pid(at path: String) -> Int32? {
        guard let bytes = try? FileAccess.read(path) else { return nil }
        return pid(in: String(decoding: bytes, as: UTF8.self))
    }

    /// Seconds since QEMU wrote the pidfile at `path`, i.e. its uptime; nil when there is none.
    public static func uptimeSeconds(_ path: String) -> Int? {
        guard let written = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { return nil }
        return max(0, Int(Date().timeIntervalSince(written)))
    }
}
