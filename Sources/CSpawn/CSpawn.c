#define _GNU_SOURCE
#include "CSpawn.h"

short vm_spawn_flag_setsid(void) { return POSIX_SPAWN_SETSID; }

int vm_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int vm_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
