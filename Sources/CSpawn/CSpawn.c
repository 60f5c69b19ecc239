#define _GNU_SOURCE
#include "CSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/// Who a report is about.
enum role { ROLE_NONE = 0, ROLE_DAEMON = 1, ROLE_CHILD = 2 };

/// What the children tell the caller through the report pipe.
struct report {
    int32_t role;   /// whose pid `pid` is
    int32_t pid;    /// a started process's pid, 0 otherwise
    int32_t error;  /// an errno value when a step failed, 0 otherwise
};

static void send_report(int fd, int32_t role, pid_t pid, int error) {
    struct report message = { .role = role, .pid = pid, .error = error };
    ssize_t written;
    do { written = write(fd, &message, sizeof message); } while (written < 0 && errno == EINTR);
}

/// Closes every descriptor from 3 up except `a` and `b` (either may be -1).
static void close_others(int a, int b) {
    int low = a < b ? a : b, high = a < b ? b : a;
    unsigned next = 3;
    int keep[2] = { low, high };
    for (int i = 0; i < 2; i++) {
        if (keep[i] < (int) next) continue;
        if ((unsigned) keep[i] > next) close_range(next, (unsigned) keep[i] - 1, 0);
        next = (unsigned) keep[i] + 1;
    }
    close_range(next, ~0U, 0);
}

/// In a daemon, before exec: only async-signal-safe calls.
static void become_daemon(int devnull, int log, int report_fd, int keep_fd, int32_t role) {
    struct sigaction default_action = { .sa_handler = SIG_DFL };
    for (int signal_number = 1; signal_number < NSIG; signal_number++) {
        sigaction(signal_number, &default_action, NULL);  // fails harmlessly for SIGKILL, SIGSTOP
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (chdir("/") != 0 || dup2(devnull, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0) {
        send_report(report_fd, role, 0, errno);
        _exit(127);
    }
    // Every other descriptor goes, except the report pipe (which closes itself on exec) and `keep_fd`.
    close_others(report_fd, keep_fd);
}

/// `fd` moved above the standard descriptors (when the caller runs with one of them closed, a new
/// descriptor can be 0, 1 or 2, which the daemon's redirections would overwrite).
static int above_stdio(int fd) {
    if (fd < 0 || fd > 2) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int saved = errno;
    close(fd);
    errno = saved;
    return moved;
}

/// Writes `value` in decimal into `buffer` (at least 12 bytes); async-signal-safe.
static void format_pid(char *buffer, pid_t value) {
    char digits[12];
    int count = 0;
    do { digits[count++] = (char) ('0' + value % 10); value /= 10; } while (value > 0 && count < 11);
    for (int i = 0; i < count; i++) buffer[i] = digits[count - 1 - i];
    buffer[count] = '\0';
}

/// The daemon program, and optionally a child it starts before its own exec.
struct program {
    const char *path;
    char *const *argv;
    const char *log_path;
};

/// Each process of the chain runs on a stack of its own in the caller's memory.
enum { STACK_SIZE = 64 * 1024 };

/// What the processes of one start share: they run in the caller's memory (`CLONE_VM`), each on
/// its own stack, while the process that started it waits (`CLONE_VFORK`) until it execs or exits,
/// so the whole chain costs no copy of the caller's address space (a large Swift process: three
/// forks of it took about 2 ms before QEMU could exec).
struct chain {
    const struct program *daemon, *child;
    char **daemon_argv;      /// the daemon's argument array, a copy whose `pid_slot` the daemon fills
    int pid_slot, keep_fd, report_fd, devnull, daemon_log, child_log;
    char *const *envp;
    char *stacks;            /// STACK_SIZE each for the leader, the daemon's process and the child's
    char pid_text[12];
};

/// Starts `entry` in a new process that shares this memory, on the stack that ends at `stack_top`;
/// returns once it has exec'd or exited.
static pid_t start_sharing_memory(int (*entry)(void *), char *stack_top, struct chain *chain) {
    return clone(entry, stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, chain);
}

/// The child program's process (QEMU's): a daemon that execs at once.
static int run_child(void *argument) {
    struct chain *chain = argument;
    become_daemon(chain->devnull, chain->child_log, chain->report_fd, -1, ROLE_CHILD);
    execve(chain->child->path, chain->child->argv, chain->envp);
    send_report(chain->report_fd, ROLE_CHILD, 0, errno);
    _exit(127);
}

/// The daemon's process: starts the child first (when there is one), then execs the daemon.
static int run_daemon(void *argument) {
    struct chain *chain = argument;
    if (chain->child) {
        pid_t started = start_sharing_memory(run_child, chain->stacks + 3 * STACK_SIZE, chain);
        send_report(chain->report_fd, ROLE_CHILD, started > 0 ? started : 0, started > 0 ? 0 : errno);
        if (started < 0) _exit(1);
        format_pid(chain->pid_text, started);
        chain->daemon_argv[chain->pid_slot] = chain->pid_text;
    }
    if (chain->keep_fd >= 0) fcntl(chain->keep_fd, F_SETFD, 0);
    become_daemon(chain->devnull, chain->daemon_log, chain->report_fd, chain->keep_fd, ROLE_DAEMON);
    execve(chain->daemon->path, chain->daemon_argv, chain->envp);
    send_report(chain->report_fd, ROLE_DAEMON, 0, errno);
    _exit(127);
}

/// The session's leader: a new session, the daemon's process in it, then gone, so that init (or
/// the caller's subreaper) becomes the daemon's parent.
static int run_leader(void *argument) {
    struct chain *chain = argument;
    if (setsid() < 0) {
        send_report(chain->report_fd, ROLE_DAEMON, 0, errno);
        _exit(1);
    }
    pid_t started = start_sharing_memory(run_daemon, chain->stacks + 2 * STACK_SIZE, chain);
    send_report(chain->report_fd, ROLE_DAEMON, started > 0 ? started : 0, started > 0 ? 0 : errno);
    _exit(started > 0 ? 0 : 1);
}

/// A copy of `argv` (NULL-terminated) that the daemon may change, or NULL.
static char **copy_arguments(char *const argv[]) {
    size_t count = 0;
    while (argv[count]) count++;
    char **copy = malloc((count + 1) * sizeof *copy);
    if (copy) memcpy(copy, argv, (count + 1) * sizeof *copy);
    return copy;
}

/// The shared start: `daemon` runs in a new session it does not lead; when `child` is given, the
/// daemon's process starts it first and puts its pid into the daemon's `argv[pid_slot]`.
static int spawn(const struct program *daemon, const struct program *child, int pid_slot, int keep_fd,
                 char *const envp[], pid_t *daemon_pid, pid_t *child_pid) {
    if (keep_fd >= 0 && keep_fd <= 2) return EBADF;
    int pipe_ends[2];
    if (pipe2(pipe_ends, O_CLOEXEC) != 0) return errno;
    pipe_ends[0] = above_stdio(pipe_ends[0]);
    pipe_ends[1] = above_stdio(pipe_ends[1]);
    if (pipe_ends[0] < 0 || pipe_ends[1] < 0) {
        int saved = errno;
        if (pipe_ends[0] >= 0) close(pipe_ends[0]);
        if (pipe_ends[1] >= 0) close(pipe_ends[1]);
        return saved;
    }
    struct chain chain = { .daemon = daemon, .child = child, .pid_slot = pid_slot, .keep_fd = keep_fd,
                           .report_fd = pipe_ends[1], .envp = envp, .devnull = -1, .daemon_log = -1, .child_log = -1 };
    chain.devnull = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (chain.devnull >= 0) chain.daemon_log = above_stdio(open(daemon->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (child && chain.daemon_log >= 0) chain.child_log = above_stdio(open(child->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    int error = (chain.devnull < 0 || chain.daemon_log < 0 || (child && chain.child_log < 0)) ? errno : 0;
    if (!error && !(chain.daemon_argv = copy_arguments(daemon->argv))) error = ENOMEM;
    void *stacks = MAP_FAILED;
    if (!error) {
        stacks = mmap(NULL, 3 * STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stacks == MAP_FAILED) error = errno;
        chain.stacks = stacks;
    }
    pid_t leader = -1;
    if (!error) {
        // No handler of the caller's may run in a process that shares its memory: every signal
        // stays blocked until each process has reset the dispositions (become_daemon).
        sigset_t all, saved_mask;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved_mask);
        leader = start_sharing_memory(run_leader, chain.stacks + STACK_SIZE, &chain);
        if (leader < 0) error = errno;
        pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
    }
    close(pipe_ends[1]);
    if (chain.devnull >= 0) close(chain.devnull);
    if (chain.daemon_log >= 0) close(chain.daemon_log);
    if (chain.child_log >= 0) close(chain.child_log);
    if (leader > 0) {
        int status;
        while (waitpid(leader, &status, 0) < 0 && errno == EINTR) {}
        // Reports arrive until the last exec closes the pipe's last writer.
        pid_t started[3] = { 0, 0, 0 };
        struct report message;
        ssize_t got;
        while ((got = read(pipe_ends[0], &message, sizeof message)) != 0) {
            if (got < 0) {
                if (errno == EINTR) continue;
                break;
            }
            if (got != sizeof message || message.role < ROLE_DAEMON || message.role > ROLE_CHILD) break;
            if (message.pid > 0) started[message.role] = message.pid;
            if (message.error != 0 && error == 0) error = message.error;
        }
        if (error == 0 && (started[ROLE_DAEMON] <= 0 || (child && started[ROLE_CHILD] <= 0))) error = ECHILD;
        if (error == 0) {
            *daemon_pid = started[ROLE_DAEMON];
            if (child_pid) *child_pid = started[ROLE_CHILD];
        } else if (started[ROLE_CHILD] > 0) {
            kill(started[ROLE_CHILD], SIGKILL);
        }
    }
    if (stacks != MAP_FAILED) munmap(stacks, 3 * STACK_SIZE);
    free(chain.daemon_argv);
    close(pipe_ends[0]);
    return error;
}

int vm_spawn_daemon(const char *path, char *const argv[], char *const envp[], const char *log_path, int keep_fd,
                    pid_t *daemon_pid) {
    struct program daemon = { .path = path, .argv = argv, .log_path = log_path };
    return spawn(&daemon, NULL, -1, keep_fd, envp, daemon_pid, NULL);
}

int vm_spawn_supervised(const char *qemu_path, char *const qemu_argv[], const char *qemu_log,
                        const char *supervisor_path, char *const supervisor_argv[], int pid_slot,
                        const char *supervisor_log, int keep_fd, char *const envp[],
                        pid_t *qemu_pid, pid_t *supervisor_pid) {
    struct program supervisor = { .path = supervisor_path, .argv = supervisor_argv, .log_path = supervisor_log };
    struct program qemu = { .path = qemu_path, .argv = qemu_argv, .log_path = qemu_log };
    return spawn(&supervisor, &qemu, pid_slot, keep_fd, envp, supervisor_pid, qemu_pid);
}

int vm_pidfd_open(pid_t pid) {
    return (int) syscall(SYS_pidfd_open, pid, 0);
}

int vm_spawn_child(const char *path, char *const argv[], char *const envp[], const char *directory,
                   int stdin_fd, int stdout_fd, int stderr_fd, int new_group, pid_t *child_pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int error = posix_spawn_file_actions_init(&actions);
    if (error != 0) return error;
    error = posix_spawnattr_init(&attributes);
    if (error != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return error;
    }
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (new_group ? POSIX_SPAWN_SETPGROUP : 0);
    int sources[3] = { stdin_fd, stdout_fd, stderr_fd };
    for (int target = 0; target < 3 && error == 0; target++) {
        error = posix_spawn_file_actions_adddup2(&actions, sources[target], target);
    }
    if (error == 0) error = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (error == 0 && directory != NULL) error = posix_spawn_file_actions_addchdir_np(&actions, directory);
    if (error == 0) error = posix_spawnattr_setsigdefault(&attributes, &all);
    if (error == 0) error = posix_spawnattr_setsigmask(&attributes, &none);
    if (error == 0) error = posix_spawnattr_setpgroup(&attributes, 0);
    if (error == 0) error = posix_spawnattr_setflags(&attributes, flags);
    if (error == 0) error = posix_spawn(child_pid, path, &actions, &attributes, argv, envp);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return error;
}

int vm_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno;
}
