/* SPDX-License-Identifier: MIT */
/*
 * What passthrough needs of libfuse, and libfuse < 3.17 does not have.
 * Two implementations, of which the build compiles one (CMake's probe
 * SHMFS_HAVE_FUSE_PASSTHROUGH, for fuse_passthrough_open()):
 *   passthrough_libfuse.c  libfuse >= 3.17: its API;
 *   passthrough_compat.c   libfuse < 3.17: the same kernel ABI, through
 *                          the custom I/O hooks (devio.h), which the
 *                          transport installs when needs_devio() says so.
 * No caller asks which one it has.
 */
#ifndef SHMFS_PASSTHROUGH_SHIM_H
#define SHMFS_PASSTHROUGH_SHIM_H

/* The build defines this for src/fuse/transport alone: the rest include transport.h. */
#ifndef SHMFS_TRANSPORT_INTERNAL
#error "a header private to src/fuse/transport: include transport.h"
#endif

#include <stdbool.h>
#include <sys/uio.h>
#include <fuse_lowlevel.h>

#include "fuse_abi.h"

/* Must libfuse's custom I/O carry the hooks below for passthrough to work? */
bool shmfs_passthrough_shim_needs_devio(void);
/* From init(): ask for passthrough if the kernel offers it; whether it was asked for. */
bool shmfs_passthrough_shim_negotiate(struct fuse_conn_info *conn);
/* The open reply this thread sends next with fi passes through to backing_id. */
void shmfs_passthrough_shim_open_reply(struct fuse_file_info *fi, int backing_id);

/* The custom I/O hooks (devio.h): what the INIT request offers... */
void shmfs_passthrough_shim_init_request(const struct fuse_init_in *in);
/* ...completing the INIT reply, and completing an open reply. */
void shmfs_passthrough_shim_init_reply(struct fuse_init_out *out);
void shmfs_passthrough_shim_reply(struct iovec *iov, int count);

#endif
