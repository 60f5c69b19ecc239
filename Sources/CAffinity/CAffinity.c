// Glibc declares sched_setaffinity only under _GNU_SOURCE, which Swift's Glibc module does not
// set: these wrappers make the scheduling calls CPU pinning needs visible to Swift.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include "CAffinity.h"

int vm_set_affinity(pid_t tid, size_t size, const unsigned char *mask) {
    return sched_setaffinity(tid, size, (const cpu_set_t *)mask) == 0 ? 0 : errno;
}

int vm_get_affinity(pid_t tid, size_t size, unsigned char *mask) {
    return sched_getaffinity(tid, size, (cpu_set_t *)mask) == 0 ? 0 : errno;
}

int vm_set_fifo(pid_t tid, int priority) {
    struct sched_param parameter = { .sched_priority = priority };
    return sched_setscheduler(tid, SCHED_FIFO, &parameter) == 0 ? 0 : errno;
}

int vm_is_fifo(pid_t tid) {
    int policy = sched_getscheduler(tid);
    return policy >= 0 ? policy == SCHED_FIFO : -errno;
}
