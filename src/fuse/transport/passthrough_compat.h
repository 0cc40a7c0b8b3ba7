/* SPDX-License-Identifier: MIT */
/*
 * The FUSE passthrough ABI for libfuse < 3.17, which knows nothing of it.
 * Delete this file and passthrough_compat.c once the oldest supported
 * libfuse is 3.17 (Debian 13 ships 3.17; Debian 12 ships 3.14).
 */
#ifndef SHMFS_PASSTHROUGH_COMPAT_H
#define SHMFS_PASSTHROUGH_COMPAT_H

#include "devio.h"
#include "passthrough.h"

int shmfs_passthrough_compat_attach(struct shmfs_passthrough *pt, struct fuse_session *se);
void shmfs_passthrough_compat_prepare(int backing_id);
/* The backing id that this thread's next open reply carries (0: none); clears it. */
int shmfs_passthrough_compat_take_pending(void);
int shmfs_passthrough_compat_backing_open(int devfd, int fd);
void shmfs_passthrough_compat_backing_close(int devfd, int id);

#endif
