/* SPDX-License-Identifier: MIT */
/* Capabilities, as the kernel will judge them. */
#ifndef SHMFS_CAPS_H
#define SHMFS_CAPS_H

#include <stdbool.h>
#include <sys/types.h>

/* CAP_SYS_ADMIN in the effective set: mounting a tmpfs, FUSE passthrough. */
bool shmfs_caps_sys_admin(void);
/*
 * Whether process pid (0: this one) has capability cap in its effective
 * set; false when it cannot be told (the process is gone).
 */
bool shmfs_caps_has(pid_t pid, int cap);
/*
 * Whether process pid lives in this process's user namespace, where its
 * capabilities mean what they say for this daemon's files.
 */
bool shmfs_caps_in_my_userns(pid_t pid);
/*
 * Whether this process lives in the machine's initial user namespace.
 * FUSE passthrough needs CAP_SYS_ADMIN there: a user namespace's root may
 * mount FUSE and tmpfs, but the kernel refuses its
 * FUSE_DEV_IOC_BACKING_OPEN.
 */
bool shmfs_caps_in_initial_userns(void);

#endif
