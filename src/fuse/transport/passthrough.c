// SPDX-License-Identifier: MIT
/*
 * Choosing the data path at INIT, and the backing ids of passthrough
 * opens. See passthrough.h.
 */
#include "passthrough.h"
#include "caps.h"
#include "fuse_abi.h"
#include "passthrough_shim.h"

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>

/* Why the daemon may not register backing files; NULL if it may. */
static const char *passthrough_refused(void)
{
	if (!shmfs_caps_sys_admin())
		return "the daemon lacks CAP_SYS_ADMIN";
	if (!shmfs_caps_in_initial_userns())
		return "the daemon's CAP_SYS_ADMIN is in a user namespace, and passthrough needs "
		       "it in the initial one";
	return NULL;
}

int shmfs_passthrough_check(enum shmfs_passthrough_mode mode, const char **why)
{
	const char *refused = mode == SHMFS_PASSTHROUGH_ON ? passthrough_refused() : NULL;

	if (!refused)
		return 0;
	*why = refused;
	return -EPERM;
}

int shmfs_passthrough_attach(struct shmfs_passthrough *pt, int devfd,
			     enum shmfs_passthrough_mode mode, const char *off_why)
{
	const char *refused;

	pt->mode = mode;
	pt->possible = false;
	pt->active = false;
	pt->devfd = devfd;
	pt->why_not = off_why ? off_why : "disabled by passthrough=off";
	if (mode == SHMFS_PASSTHROUGH_OFF)
		return 0;
	refused = passthrough_refused();
	pt->possible = !refused;
	pt->why_not = refused ? refused : "the kernel does not offer FUSE passthrough";
	return refused && mode == SHMFS_PASSTHROUGH_ON ? -EPERM : 0;
}

bool shmfs_passthrough_negotiate(struct shmfs_passthrough *pt, struct fuse_conn_info *conn)
{
	if (pt->mode != SHMFS_PASSTHROUGH_OFF && pt->possible)
		pt->active = shmfs_passthrough_shim_negotiate(conn);
	/* The kernel refuses passthrough with the writeback cache. */
	if (pt->active)
		conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	return pt->active || pt->mode != SHMFS_PASSTHROUGH_ON;
}

/*
 * The ioctls themselves rather than libfuse >= 3.17's wrappers: those
 * lose the errno, and fuse_passthrough_close() wants a request, which a
 * release from the daemon's own threads does not have.
 */
int shmfs_passthrough_backing_open(struct shmfs_passthrough *pt, int fd)
{
	struct fuse_backing_map map = { .fd = fd };
	int id = ioctl(pt->devfd, FUSE_DEV_IOC_BACKING_OPEN, &map);

	if (id < 0)
		return -errno;
	return id > 0 ? id : -EIO;
}

void shmfs_passthrough_backing_close(struct shmfs_passthrough *pt, int id)
{
	uint32_t arg = (uint32_t)id;

	ioctl(pt->devfd, FUSE_DEV_IOC_BACKING_CLOSE, &arg);
}

void shmfs_passthrough_prepare_reply(struct shmfs_passthrough *pt, struct fuse_file_info *fi,
				     int backing_id)
{
	fi->keep_cache = 0;
	fi->direct_io = 0;
	shmfs_passthrough_shim_open_reply(fi, backing_id);
}
