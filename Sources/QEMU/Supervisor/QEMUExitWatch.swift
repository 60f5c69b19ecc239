import FoundationEssentials
import Glibc
import OSThreads

/// How QEMU ended, as far as its watcher can tell.
struct QEMUExit: Sendable, Equatable {
    /// The exit status when QEMU exited (only a parent learns it).
    var exitStatus: Int32?
    /// The signal that killed QEMU (only a parent learns it).
    var signal: Int32?

    /// The exit of a process watched from outside (an adopted QEMU): status unknown.
    static let unknown = QEMUExit(exitStatus: nil, signal: nil)

    /// Decodes a `waitpid` status (`WIFSIGNALED`/`WTERMSIG`/`WEXITSTATUS`, which Swift does not import).
    init(waitStatus: Int32) {
        let signal = waitStatus & 0x7f
        if signal == 0 {
            self.init(exitStatus: (waitStatus >> 8) & 0xff, signal: nil)
        } else {
            self.init(exitStatus: nil, signal: signal)
        }
    }

    init(exitStatus: Int32?, signal: Int32?) {
        self.exitStatus = exitStatus
        self.signal = signal
    }
}

/// Waits for QEMU's end on a thread of its own, blocked in the kernel (no polling): `waitpid`
/// when the supervisor is QEMU's parent, `pidfd_open` + `poll` when it adopted a QEMU whose
/// parent is gone.
enum QEMUExitWatch {
    /// A task whose value is QEMU's exit.
    static func start(pid: Int32, isChild: Bool) -> Task<QEMUExit, Never> {
        Task.detached {
            await withCheckedContinuation { continuation in
                DetachedThread.start(name: "qemu-exit-watch") {
                    continuation.resume(returning: isChild ? reap(pid) : awaitForeign(pid))
                }
            }
        }
    }

    private static func reap(_ pid: Int32) -> QEMUExit {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            // ECHILD: not ours after all; watch it from outside.
            if errno != EINTR { return awaitForeign(pid) }
        }
        return QEMUExit(waitStatus: status)
    }

    private static func awaitForeign(_ pid: Int32) -> QEMUExit {
        _ = ProcessEndWait.blockUntilOneEnds([pid])
        return .unknown
    }
}
