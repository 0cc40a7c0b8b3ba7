// SPDX-License-Identifier: MIT
/*
 * FUSE passthrough for libfuse < 3.17, which knows nothing of it: one of
 * the two implementations of passthrough_shim.h.
 *
 * Delete this file once the oldest supported libfuse is 3.17 (Debian 13
 * ships 3.17, Debian 12 ships 3.14): passthrough_libfuse.c is then the
 * only implementation, and the custom I/O is needed for io_uring and busy
 * polling alone.
 *
 * libfuse 3.14 lets a file system read requests and write replies itself
 * (fuse_session_custom_io, see devio.h). Through those hooks:
 *
 *  - the kernel's INIT request is looked at, to learn whether it offers
 *    FUSE_PASSTHROUGH; the INIT reply is completed with FUSE_PASSTHROUGH
 *    and max_stack_depth when negotiate() said yes;
 *  - an OPEN or CREATE reply that the sending thread marked with
 *    open_reply() gets FOPEN_PASSTHROUGH and the backing id. libfuse
 *    writes a reply from the thread that called fuse_reply_*(), so a
 *    thread-local mark cannot reach another reply.
 */
#include "passthrough_shim.h"

#include <string.h>

/*
 * Backing files on tmpfs stack nothing: depth 1 is the FUSE file over
 * them (and leaves room for another file system to stack over this one).
 */
#define COMPAT_STACK_DEPTH 1

static bool compat_offered; /* in the INIT request */
static bool compat_wanted;  /* in the INIT reply */
static __thread int compat_pending_id;

bool shmfs_passthrough_shim_needs_devio(void)
{
	return true;
}

void shmfs_passthrough_shim_init_request(const struct fuse_init_in *in)
{
	compat_offered = shmfs_fuse_init_in_flags(in) & FUSE_PASSTHROUGH;
}

bool shmfs_passthrough_shim_negotiate(struct fuse_conn_info *conn)
{
	compat_wanted = compat_offered;
	return compat_wanted;
}

void shmfs_passthrough_shim_init_reply(struct fuse_init_out *out)
{
	if (!compat_wanted)
		return;
	out->flags &= ~FUSE_WRITEBACK_CACHE;
	shmfs_fuse_init_out_want(out, FUSE_PASSTHROUGH);
	shmfs_fuse_init_out_stack_depth(out, COMPAT_STACK_DEPTH);
}

void shmfs_passthrough_shim_open_reply(struct fuse_file_info *fi, int backing_id)
{
	compat_pending_id = backing_id;
}

void shmfs_passthrough_shim_reply(struct iovec *iov, int count)
{
	const struct fuse_out_header *hdr = iov[0].iov_base;
	struct iovec *last = &iov[count - 1];
	struct fuse_open_out out;
	int id = compat_pending_id;

	if (!id)
		return;
	compat_pending_id = 0;
	/* fuse_open_out ends the reply, after the entry for a create. */
	if (hdr->error || count < 2 || last->iov_len < sizeof(out))
		return;
	memcpy(&out, (char *)last->iov_base + last->iov_len - sizeof(out), sizeof(out));
	out.open_flags |= FOPEN_PASSTHROUGH;
	shmfs_fuse_open_out_backing(&out, id);
	memcpy((char *)last->iov_base + last->iov_len - sizeof(out), &out, sizeof(out));
}
