/* SPDX-License-Identifier: MIT */
/*
 * Kernel FUSE passthrough (Linux >= 6.9): each open of a segment hands the
 * kernel the backing file, so read, write, splice and mmap run on the
 * store's pages with no daemon round trip. One backing id per inode, taken
 * on its first open and given back when the kernel forgets the inode.
 *
 * The negotiation is hidden here: libfuse >= 3.17 has an API for it; for
 * older libfuse, passthrough_compat.c completes the INIT and open replies
 * through libfuse's custom I/O hook.
 */
#ifndef SHMFS_PASSTHROUGH_H
#define SHMFS_PASSTHROUGH_H

#include <stdbool.h>
#include <stdint.h>
#include <fuse_lowlevel.h>

#include "options.h"

struct shmfs_passthrough {
	enum shmfs_passthrough_mode mode;
	bool active;		/* negotiated with the kernel at INIT */
	const char *why_not;	/* when not active: why, for the log */
	int devfd;		/* the session's /dev/fuse descriptor */
	/* Seen in the kernel's INIT request (compat path only). */
	bool kernel_offers;
	uint64_t init_unique;
};

/* After fuse_session_mount(): get ready to negotiate at INIT. */
int shmfs_passthrough_attach(struct shmfs_passthrough *pt, struct fuse_session *se,
			     enum shmfs_passthrough_mode mode);
/*
 * From the init() handler: decide whether this connection uses
 * passthrough. Returns false if the mode is "on" and it cannot be had.
 */
bool shmfs_passthrough_negotiate(struct shmfs_passthrough *pt,
				 struct fuse_conn_info *conn);
/* Register fd (open read-write) with the kernel: a backing id > 0, or -errno. */
int shmfs_passthrough_backing_open(struct shmfs_passthrough *pt, fuse_req_t req, int fd);
void shmfs_passthrough_backing_close(struct shmfs_passthrough *pt, int id);
/*
 * Mark the open reply that this thread sends next (fuse_reply_open or
 * fuse_reply_create with fi) as a passthrough open of backing_id.
 */
void shmfs_passthrough_prepare_reply(struct shmfs_passthrough *pt,
				     struct fuse_file_info *fi, int backing_id);

#endif
