import CSpawn
import FoundationEssentials
import Glibc
import OSThreads

/// Waiting for processes to end without polling: each is watched through a `pidfd_open(2)`
/// descriptor, which becomes readable when its process ends (a zombie nobody reaped yet counts as
/// ended), and `poll(2)` blocks on them in the kernel. The processes need not be the caller's
/// children.
enum ProcessEndWait {
    /// Blocks until one of `pids` ends (true), or `limit` passes or `wake` becomes readable
    /// (false). A pid that no longer exists counts as ended; false at once when a process cannot
    /// be watched (no descriptor left) or `poll` itself fails.
    static func blockUntilOneEnds(_ pids: [Int32], within limit: Duration? = nil, wake: Int32? = nil) -> Bool {
        var watched: [pollfd] = []
        defer { for entry in watched { close(entry.fd) } }
        for pid in pids {
            let fd = vm_pidfd_open(pid)
            guard fd >= 0 else { return errno == ESRCH }
            watched.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
        }
        var entries = watched + (wake.map { [pollfd(fd: $0, events: Int16(POLLIN), revents: 0)] } ?? [])
        let deadline = limit.map { ContinuousClock.now.advanced(by: $0) }
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let left = ContinuousClock.now.duration(to: deadline)
                guard left > .zero else { return false }
                timeout = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            }
            let ready = poll(&entries, nfds_t(entries.count), timeout)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { return false }
            if entries.prefix(watched.count).contains(where: { $0.revents != 0 }) { return true }
            if wake != nil, entries[watched.count].revents != 0 { return false }
        }
    }

    /// ``blockUntilOneEnds(_:within:wake:)`` on a thread of its own; a cancelled task stops
    /// waiting at once (false), and so does one that finds no descriptor left for its wake-up pipe.
    static func oneEnds(_ pids: [Int32], within limit: Duration? = nil) async -> Bool {
        var wake: [Int32] = [-1, -1]
        guard vm_pipe_cloexec(&wake) == 0 else { return false }
        defer { close(wake[0]); close(wake[1]) }
        let (reader, writer) = (wake[0], wake[1])
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                DetachedThread.start(name: "process-end-wait") {
                    continuation.resume(returning: blockUntilOneEnds(pids, within: limit, wake: reader))
                }
            }
        } onCancel: {
            var byte: UInt8 = 1
            _ = write(writer, &byte, 1)
        }
    }
}
