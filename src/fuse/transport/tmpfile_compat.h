/* SPDX-License-Identifier: MIT */
/*
 * O_TMPFILE for a libfuse without the tmpfile operation (before 3.17.1).
 * Two implementations, of which the build compiles one (CMake's probe
 * SHMFS_HAVE_FUSE_TMPFILE): tmpfile_compat.c for an older libfuse,
 * tmpfile_libfuse.c (nothing to do) for one that has it. Delete this
 * header and both once the oldest libfuse shmfs builds against has it.
 */
#ifndef SHMFS_TMPFILE_COMPAT_H
#define SHMFS_TMPFILE_COMPAT_H

/* The build defines this for src/fuse/transport alone: the rest include transport.h. */
#ifndef SHMFS_TRANSPORT_INTERNAL
#error "a header private to src/fuse/transport: include transport.h"
#endif

#include <stdbool.h>

#include "fuse_abi.h"

/* Must the daemon read requests itself (devio.h), for this module to see them? */
bool shmfs_tmpfile_compat_wanted(void);
/*
 * Make a FUSE_TMPFILE request, whose header is in, into the FUSE_CREATE
 * that libfuse knows; any other request is left as it is.
 */
void shmfs_tmpfile_compat_request(struct fuse_in_header *in);

#endif
