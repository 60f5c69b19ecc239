// The GNU extensions of posix_spawn that Swift's Glibc module leaves out (they need _GNU_SOURCE).
#ifndef VM_CSPAWN_H
#define VM_CSPAWN_H

#include <spawn.h>

/// POSIX_SPAWN_SETSID: the child starts a session of its own (glibc 2.26).
short vm_spawn_flag_setsid(void);

/// posix_spawn_file_actions_addchdir_np: the child changes to `path` before exec (glibc 2.29).
int vm_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// posix_spawn_file_actions_addclosefrom_np: the child closes every descriptor >= `from` (glibc 2.34).
int vm_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from);

#endif
