// Starting programs as daemons, in C because the children, which share the caller's memory until
// they exec, may only make async-signal-safe calls (the caller is a multi-threaded Swift process).
#ifndef VM_CSPAWN_H
#define VM_CSPAWN_H

#include <sys/types.h>

/// Starts `path` with `argv` and `envp` (both NULL-terminated) as a daemon, the way QEMU's own
/// `-daemonize` and libvirt start one, minus the launcher that waits for it:
/// - a grandchild in a session of its own that does not lead it, so that opening a terminal
///   (a host serial port given to the guest) never makes it the controlling terminal;
/// - working directory `/`, standard input from `/dev/null`, standard output and error appended
///   to `log_path` (created with mode 0600), no other descriptor of the caller's except `keep_fd`
///   (or -1), which stays open under the same number (a listening socket the daemon serves);
/// - default signal dispositions and an empty signal mask.
/// The daemon is not the caller's child: init collects its exit status.
/// None of these processes copies the caller's memory: each runs in it, on a stack of its own,
/// until it execs (`clone` with `CLONE_VM | CLONE_VFORK`, as `posix_spawn` does).
/// Returns 0 and stores the daemon's pid, or returns an errno value: opening the log, starting a
/// process, or the `execve` itself failed (then nothing runs).
int vm_spawn_daemon(const char *path, char *const argv[], char *const envp[], const char *log_path, int keep_fd,
                    pid_t *daemon_pid);

/// Starts QEMU and its supervisor as two daemons of one session (see `vm_spawn_daemon`), the
/// supervisor being QEMU's parent so that it collects QEMU's exit status:
/// the session's leader starts the supervisor's process and exits; that process starts QEMU's
/// (which execs `qemu_path`) and then execs `supervisor_path` itself, so both programs start at
/// the same time and neither leads the session. `supervisor_argv[pid_slot]` is replaced by QEMU's
/// pid in decimal. `keep_fd` (or -1) stays open in the supervisor under the same number (a tap
/// device it hands to QEMU); QEMU gets none of the caller's descriptors.
/// Returns 0 and stores both pids, or an errno value; when the supervisor's exec fails after
/// QEMU started, QEMU is killed, so that nothing runs unsupervised.
int vm_spawn_supervised(const char *qemu_path, char *const qemu_argv[], const char *qemu_log,
                        const char *supervisor_path, char *const supervisor_argv[], int pid_slot,
                        const char *supervisor_log, int keep_fd, char *const envp[],
                        pid_t *qemu_pid, pid_t *supervisor_pid);

/// `pidfd_open(2)`: a descriptor that becomes readable when process `pid` ends (it need not be
/// the caller's child), or -1 with errno set.
int vm_pidfd_open(pid_t pid);

/// Starts `path` with `argv` and `envp` (both NULL-terminated) as the caller's child, with
/// `posix_spawn` (so it is safe in a multi-threaded caller): standard input, output and error
/// from `stdin_fd`, `stdout_fd` and `stderr_fd`, no other descriptor of the caller's, default
/// signal dispositions and an empty signal mask; in `directory` (the caller's when NULL); in a
/// process group of its own when `new_group` is non-zero. Returns 0 and stores the child's pid, or
/// an errno value (then nothing runs).
int vm_spawn_child(const char *path, char *const argv[], char *const envp[], const char *directory,
                   int stdin_fd, int stdout_fd, int stderr_fd, int new_group, pid_t *child_pid);

/// `pipe2(fds, O_CLOEXEC)`: a pipe whose two ends no program started later inherits.
/// Returns 0, or an errno value.
int vm_pipe_cloexec(int fds[2]);

#endif
