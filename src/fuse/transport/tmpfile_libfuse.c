// SPDX-License-Identifier: MIT
/*
 * O_TMPFILE with libfuse >= 3.17.1, whose tmpfile operation the daemon
 * has: nothing to do. The implementation of tmpfile_compat.h that the
 * build picks when SHMFS_HAVE_FUSE_TMPFILE; it goes with the header.
 */
#include "tmpfile_compat.h"
#include "transport.h"

bool shmfs_tmpfile_compat_wanted(void)
{
	return false;
}

void shmfs_tmpfile_compat_request(struct fuse_in_header *in)
{
}

void shmfs_transport_ops_tmpfile(struct fuse_lowlevel_ops *ops, shmfs_tmpfile_handler *fn)
{
	ops->tmpfile = fn;
}
