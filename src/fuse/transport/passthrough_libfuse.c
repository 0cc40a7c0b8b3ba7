// SPDX-License-Identifier: MIT
/*
 * FUSE passthrough through libfuse >= 3.17's API: one of the two
 * implementations of passthrough_shim.h, and the one that stays when
 * passthrough_compat.c goes (once the oldest supported libfuse is 3.17).
 *
 * libfuse negotiates FUSE_PASSTHROUGH from FUSE_CAP_PASSTHROUGH in want,
 * and writes FOPEN_PASSTHROUGH and the backing id into an open reply from
 * fi->backing_id; registering backing files stays in passthrough.c.
 */
#include "passthrough_shim.h"

bool shmfs_passthrough_shim_needs_devio(void)
{
	return false;
}

bool shmfs_passthrough_shim_negotiate(struct fuse_conn_info *conn)
{
	/*
	 * The 32-bit capable/want rather than fuse_set_feature_flag() and
	 * want_ext: FUSE_CAP_PASSTHROUGH is bit 29, and the rest of init()
	 * sets want, which libfuse 3.17.1 and 3.17.2 refuse to combine with a
	 * changed want_ext ("both 'want' and 'want_ext' are set").
	 */
	if (!(conn->capable & FUSE_CAP_PASSTHROUGH))
		return false;
	conn->want |= FUSE_CAP_PASSTHROUGH;
	/* Backing files on tmpfs, stacked on nothing: the compat path's depth 1. */
	conn->max_backing_stack_depth = FUSE_BACKING_STACKED_UNDER;
	return true;
}

void shmfs_passthrough_shim_open_reply(struct fuse_file_info *fi, int backing_id)
{
	fi->backing_id = backing_id;
}

/* libfuse builds the INIT and open replies itself: nothing to complete. */
void shmfs_passthrough_shim_init_request(const struct fuse_init_in *in)
{
}

void shmfs_passthrough_shim_init_reply(struct fuse_init_out *out)
{
}

void shmfs_passthrough_shim_reply(struct iovec *iov, int count)
{
}
