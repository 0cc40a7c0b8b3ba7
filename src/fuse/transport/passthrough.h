/* SPDX-License-Identifier: MIT */
/*
 * Kernel FUSE passthrough (Linux >= 6.9): each open of a segment hands the
 * kernel the backing file, so read, write, splice and mmap run on the
 * store's pages with no daemon round trip. One backing id per inode, taken
 * on its first open and given back when the kernel forgets the inode.
 *
 * Whether to ask for it, and registering backing files, are the same for
 * every libfuse (the registration is an ioctl on /dev/fuse). Asking for it
 * at INIT and naming the backing file in an open reply differ: libfuse >=
 * 3.17 has an API for both, older ones do not; passthrough_shim.h hides
 * that.
 */
#ifndef SHMFS_PASSTHROUGH_H
#define SHMFS_PASSTHROUGH_H

/* The build defines this for src/fuse/transport alone: the rest include transport.h. */
#ifndef SHMFS_TRANSPORT_INTERNAL
#error "a header private to src/fuse/transport: include transport.h"
#endif

#include <stdbool.h>
#include <fuse_lowlevel.h>

#include "transport.h"

struct shmfs_passthrough {
	enum shmfs_passthrough_mode mode;
	bool possible;	     /* not off, and the daemon may: INIT decides */
	bool active;	     /* negotiated with the kernel at INIT */
	const char *why_not; /* when not active: why, for the log */
	int devfd;	     /* the session's /dev/fuse descriptor */
};

/*
 * Before mounting: 0, or -EPERM when passthrough=on cannot be had by this
 * daemon (*why says why).
 */
int shmfs_passthrough_check(enum shmfs_passthrough_mode mode, const char **why);
/*
 * After fuse_session_mount(): get ready to negotiate at INIT. off_why, if
 * not NULL, is why the caller turned the mode off. -EPERM (see check).
 */
int shmfs_passthrough_attach(struct shmfs_passthrough *pt, int devfd,
			     enum shmfs_passthrough_mode mode, const char *off_why);
/*
 * From the init() handler: decide whether this connection uses
 * passthrough. Returns false if the mode is "on" and it cannot be had.
 */
bool shmfs_passthrough_negotiate(struct shmfs_passthrough *pt, struct fuse_conn_info *conn);
/* Register fd (open read-write) with the kernel: a backing id > 0, or -errno. */
int shmfs_passthrough_backing_open(struct shmfs_passthrough *pt, int fd);
void shmfs_passthrough_backing_close(struct shmfs_passthrough *pt, int id);
/* Make fi, which this thread replies with next, a passthrough open of backing_id. */
void shmfs_passthrough_prepare_reply(struct shmfs_passthrough *pt, struct fuse_file_info *fi,
				     int backing_id);

#endif
