// Glibc declares sched_setaffinity only under _GNU_SOURCE, which Swift's Glibc module does not
// set: these two wrappers make the calls visible to Swift.
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
