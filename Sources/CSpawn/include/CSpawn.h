// Starting a program as a daemon, in C because the forked children may only make
// async-signal-safe calls (the parent is a multi-threaded Swift process).
#ifndef VM_CSPAWN_H
#define VM_CSPAWN_H

#include <sys/types.h>

/// Starts `path` with `argv` and `envp` (both NULL-terminated) as a daemon, the way QEMU's own
/// `-daemonize` and libvirt start one, minus the launcher that waits for it:
/// - a grandchild in a session of its own that does not lead it, so that opening a terminal
///   (a host serial port given to the guest) never makes it the controlling terminal;
/// - working directory `/`, standard input from `/dev/null`, standard output and error appended
///   to `log_path` (created with mode 0600), no other descriptor of the caller's;
/// - default signal dispositions and an empty signal mask.
/// The daemon is not the caller's child: init collects its exit status.
/// Returns 0 and stores the daemon's pid, or returns an errno value: opening the log, forking,
/// or the `execve` itself failed (then nothing runs).
int vm_spawn_daemon(const char *path, char *const argv[], char *const envp[], const char *log_path, pid_t *daemon_pid);

#endif
