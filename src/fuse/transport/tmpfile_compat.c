// SPDX-License-Identifier: MIT
/*
 * FUSE_TMPFILE (Linux 6.1, protocol 7.37) through a libfuse that answers
 * it ENOSYS (before 3.17.1, which has the tmpfile operation; the kernel
 * would then give every O_TMPFILE open EOPNOTSUPP, for good).
 *
 * The request is laid out as FUSE_CREATE's (struct fuse_create_in, then
 * a name, "/" for an unnamed file) and wants the same reply (an entry and
 * an open), so it is handed to libfuse as a FUSE_CREATE; the kernel pairs
 * the reply with its request by the unique id alone. The create handler
 * tells the two apart by the open flags: O_TMPFILE (with its O_DIRECTORY)
 * is refused by open(2) together with O_CREAT, so no true FUSE_CREATE
 * ever carries it. The requests must pass through the daemon's own reads
 * of /dev/fuse for that (devio.h), which are then always on.
 */
#include "tmpfile_compat.h"
#include "config.h"

#define TMPFILE_FUSE_CREATE 35
#define TMPFILE_FUSE_TMPFILE 51

bool shmfs_tmpfile_compat_wanted(void)
{
#ifdef SHMFS_HAVE_FUSE_TMPFILE
	return false;
#else
	return true;
#endif
}

void shmfs_tmpfile_compat_request(struct shmfs_fuse_in_header *in)
{
#ifndef SHMFS_HAVE_FUSE_TMPFILE
	if (in->opcode == TMPFILE_FUSE_TMPFILE)
		in->opcode = TMPFILE_FUSE_CREATE;
#endif
}
