#define _GNU_SOURCE
#include "CSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

/// What the intermediate child and the daemon tell the caller through the report pipe.
struct report {
    int32_t pid;    /// the daemon's pid (from the intermediate child), 0 otherwise
    int32_t error;  /// an errno value when a step failed, 0 otherwise
};

static void send_report(int fd, pid_t pid, int error) {
    struct report message = { .pid = pid, .error = error };
    ssize_t written;
    do { written = write(fd, &message, sizeof message); } while (written < 0 && errno == EINTR);
}

/// In the daemon, before exec: only async-signal-safe calls.
static void become_daemon(int devnull, int log, int report_fd) {
    struct sigaction default_action = { .sa_handler = SIG_DFL };
    for (int signal_number = 1; signal_number < NSIG; signal_number++) {
        sigaction(signal_number, &default_action, NULL);  // fails harmlessly for SIGKILL, SIGSTOP
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (chdir("/") != 0 || dup2(devnull, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0) {
        send_report(report_fd, 0, errno);
        _exit(127);
    }
    // Every other descriptor goes, except the report pipe, which closes itself on exec.
    if (report_fd > 3) close_range(3, (unsigned) report_fd - 1, 0);
    close_range((unsigned) report_fd + 1, ~0U, 0);
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

int vm_spawn_daemon(const char *path, char *const argv[], char *const envp[], const char *log_path, pid_t *daemon_pid) {
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
    int devnull = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
    int log = devnull < 0 ? -1 : above_stdio(open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    int error = (devnull < 0 || log < 0) ? errno : 0;
    pid_t middle = error ? -1 : fork();
    if (!error && middle < 0) error = errno;
    if (middle == 0) {
        close(pipe_ends[0]);
        if (setsid() < 0) {
            send_report(pipe_ends[1], 0, errno);
            _exit(1);
        }
        pid_t daemon = fork();
        if (daemon != 0) {
            send_report(pipe_ends[1], daemon > 0 ? daemon : 0, daemon > 0 ? 0 : errno);
            _exit(daemon > 0 ? 0 : 1);
        }
        become_daemon(devnull, log, pipe_ends[1]);
        execve(path, argv, envp);
        send_report(pipe_ends[1], 0, errno);
        _exit(127);
    }
    close(pipe_ends[1]);
    if (devnull >= 0) close(devnull);
    if (log >= 0) close(log);
    if (middle > 0) {
        int status;
        while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {}
        // Reports arrive until the daemon's exec closes the pipe's last writer.
        pid_t started = 0;
        struct report message;
        ssize_t got;
        while ((got = read(pipe_ends[0], &message, sizeof message)) != 0) {
            if (got < 0) {
                if (errno == EINTR) continue;
                break;
            }
            if (got != sizeof message) break;
            if (message.pid > 0) started = message.pid;
            if (message.error != 0 && error == 0) error = message.error;
        }
        if (error == 0 && started <= 0) error = ECHILD;
        if (error == 0) *daemon_pid = started;
    }
    close(pipe_ends[0]);
    return error;
}
