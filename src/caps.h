/* SPDX-License-Identifier: MIT */
/* Capabilities of this process, as the kernel will judge them. */
#ifndef SHMFS_CAPS_H
#define SHMFS_CAPS_H

#include <stdbool.h>

/* CAP_SYS_ADMIN in the effective set: mounting a tmpfs, FUSE passthrough. */
bool shmfs_caps_sys_admin(void);

#endif
