// SPDX-License-Identifier: MIT
/*
 * FUSE_TMPFILE (Linux 6.1, protocol 7.37) through a libfuse that answers
 * it ENOSYS (before 3.17.1, which has the tmpfile operation; the kernel
 * would then give every O_TMPFILE open EOPNOTSUPP, for good). One of the
 * two implementations of tmpfile_compat.h; delete it once the oldest
 * supported libfuse is 3.17.1.
 *
 * The request is laid out as FUSE_CREATE's (struct fuse_create_in, then
 * a name, "/" for an unnamed file) and wants the same reply (an entry and
 * an open), so it is handed to libfuse as a FUSE_CREATE; the kernel pairs
 * the reply with its request by the unique id alone. The create handler
 * tells the two apart by the open flags: O_TMPFILE (with its O_DIRECTORY)
 * is refused by open(2) together with O_CREAT, so no true FUSE_CREATE
 * ever carries it. The requests must pass through the daemon's own reads
 * of /dev/fuse for that (devio.h), which are then always on, and through
 * the io_uring queues' hand-over (uring.h).
 */
#include "tmpfile_compat.h"
#include "transport.h"

bool shmfs_tmpfile_compat_wanted(void)
{
	return true;
}

void shmfs_tmpfile_compat_request(struct fuse_in_header *in)
{
	if (in->opcode == FUSE_TMPFILE)
		in->opcode = FUSE_CREATE;
}

void shmfs_transport_ops_tmpfile(struct fuse_lowlevel_ops *ops, shmfs_tmpfile_handler *fn)
{
	/* No such operation: FUSE_TMPFILE reaches ops->create (see above). */
	(void)ops;
	(void)fn;
}
