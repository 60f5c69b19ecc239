import QMP
import Synchronization

/// The byte qemu-ga puts before its reply to `guest-sync-delimited` (never valid in UTF-8 JSON).
let syncDelimiter: UInt8 = 0xFF

/// A ``ByteTransport`` decorator for the agent channel: until the first `0xFF` delimiter arrives,
/// everything read is stale (a previous client's unread replies, half lines) and is dropped; the
/// delimiter itself is never passed on. The line framer above then only sees the synced stream.
final class SyncDelimiterTransport: ByteTransport {
    private let inner: any ByteTransport
    private let discarding = Atomic<Bool>(true)

    init(_ inner: any ByteTransport) {
        self.inner = inner
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError) {
        try inner.write(bytes)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration?) throws(TransportError) -> TransportReadResult {
        let result = try inner.read(into: buffer, timeout: timeout)
        guard case .bytes(let count) = result else { return result }
        let kept = Self.filter(buffer, count: count, discarding: discarding)
        return kept == 0 ? .woken : .bytes(kept)
    }

    /// Compacts `buffer[..<count]` in place: drops bytes up to the last delimiter while
    /// `discarding` is set (clearing it once one is seen) and every delimiter byte. Returns the
    /// number of bytes kept.
    static func filter(_ buffer: UnsafeMutableRawBufferPointer, count: Int, discarding: borrowing Atomic<Bool>) -> Int {
        var start = 0
        if discarding.load(ordering: .acquiring) {
            guard let last = buffer[..<count].lastIndex(of: syncDelimiter) else { return 0 }
            start = last + 1
            discarding.store(false, ordering: .releasing)
        }
        var kept = 0
        for index in start..<count where buffer[index] != syncDelimiter {
            buffer[kept] = buffer[index]
            kept += 1
        }
        return kept
    }

    func wake() { inner.wake() }
    func close() { inner.close() }
}
