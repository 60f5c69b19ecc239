#ifndef CAFFINITY_H
#define CAFFINITY_H

#include <stddef.h>
#include <sys/types.h>

/// sched_setaffinity(2) for thread `tid` with a mask of `size` bytes; 0 or errno.
int vm_set_affinity(pid_t tid, size_t size, const unsigned char *mask);
/// sched_getaffinity(2) for thread `tid` into a mask of `size` bytes; 0 or errno.
int vm_get_affinity(pid_t tid, size_t size, unsigned char *mask);

#endif
