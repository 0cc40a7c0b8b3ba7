/* SPDX-License-Identifier: MIT */
/*
 * O_TMPFILE for a libfuse without the tmpfile operation (before 3.17.1).
 * Delete this module, and its calls in devio.c and uring.c, once the
 * oldest libfuse shmfs builds against has it (see tmpfile_compat.c).
 */
#ifndef SHMFS_TMPFILE_COMPAT_H
#define SHMFS_TMPFILE_COMPAT_H

#include <stdbool.h>

#include "fuse_abi.h"

/* Must the daemon read requests itself (devio.h), for this module to see them? */
bool shmfs_tmpfile_compat_wanted(void);
/*
 * Make a FUSE_TMPFILE request, whose header is in, into the FUSE_CREATE
 * that libfuse knows; any other request is left as it is.
 */
void shmfs_tmpfile_compat_request(struct shmfs_fuse_in_header *in);

#endif
