#ifndef CAFFINITY_H
#define CAFFINITY_H

#include <stddef.h>
#include <sys/types.h>

/// sched_setaffinity(2) for thread `tid` with a mask of `size` bytes; 0 or errno.
int vm_set_affinity(pid_t tid, size_t size, const unsigned char *mask);
/// sched_getaffinity(2) for thread `tid` into a mask of `size` bytes; 0 or errno.
int vm_get_affinity(pid_t tid, size_t size, unsigned char *mask);
/// sched_setscheduler(2): thread `tid` to SCHED_FIFO at `priority` (1-99); 0 or errno.
int vm_set_fifo(pid_t tid, int priority);
/// Whether thread `tid` runs with SCHED_FIFO (sched_getscheduler(2)): 1 or 0, or -errno.
int vm_is_fifo(pid_t tid);

#endif
