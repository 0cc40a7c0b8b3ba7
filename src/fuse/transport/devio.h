/* SPDX-License-Identifier: MIT */
/*
 * libfuse's custom I/O hooks on /dev/fuse (fuse_session_custom_io): plain
 * read(2) and writev(2), except for the INIT exchange, which passthrough
 * (libfuse < 3.17) and io_uring complete, and the replies that a ring
 * thread writes, which go back through its io_uring (uring.h).
 */
#ifndef SHMFS_DEVIO_H
#define SHMFS_DEVIO_H

#include <fuse_lowlevel.h>

#include "passthrough.h"

/* Install the hooks on se once (later calls do nothing): 0 or -errno. */
int shmfs_devio_attach(struct shmfs_passthrough *pt, struct fuse_session *se);

#endif
