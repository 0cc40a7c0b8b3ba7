// SPDX-License-Identifier: MIT
/*
 * Choosing the data path at INIT, and the backing ids of passthrough
 * opens. See passthrough.h.
 */
#include "passthrough.h"
#include "caps.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>

#ifndef SHMFS_HAVE_FUSE_PASSTHROUGH
#include "passthrough_compat.h"
#endif

int shmfs_passthrough_attach(struct shmfs_passthrough *pt, struct fuse_session *se,
			     enum shmfs_passthrough_mode mode)
{
	pt->mode = mode;
	pt->active = false;
	pt->devfd = fuse_session_fd(se);
	pt->why_not = "disabled by passthrough=off";
	if (mode == SHMFS_PASSTHROUGH_OFF)
		return 0;
	pt->why_not = "the daemon lacks CAP_SYS_ADMIN";
	if (!shmfs_caps_sys_admin())
		return mode == SHMFS_PASSTHROUGH_ON ? -EPERM : 0;
#ifdef SHMFS_HAVE_FUSE_PASSTHROUGH
	return 0;
#else
	return shmfs_passthrough_compat_attach(pt, se);
#endif
}

bool shmfs_passthrough_negotiate(struct shmfs_passthrough *pt, struct fuse_conn_info *conn)
{
	if (pt->mode != SHMFS_PASSTHROUGH_OFF && shmfs_caps_sys_admin()) {
#ifdef SHMFS_HAVE_FUSE_PASSTHROUGH
		if (fuse_set_feature_flag(conn, FUSE_CAP_PASSTHROUGH)) {
			conn->max_backing_stack_depth = 1;
			pt->active = true;
		}
#else
		pt->active = pt->kernel_offers;
#endif
		if (!pt->active)
			pt->why_not = "the kernel does not offer FUSE passthrough";
	}
	if (pt->active)
		conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	return pt->active || pt->mode != SHMFS_PASSTHROUGH_ON;
}

int shmfs_passthrough_backing_open(struct shmfs_passthrough *pt, fuse_req_t req, int fd)
{
#ifdef SHMFS_HAVE_FUSE_PASSTHROUGH
	int id = fuse_passthrough_open(req, fd);

	return id > 0 ? id : -EIO;
#else
	return shmfs_passthrough_compat_backing_open(pt->devfd, fd);
#endif
}

void shmfs_passthrough_backing_close(struct shmfs_passthrough *pt, int id)
{
#ifdef SHMFS_HAVE_FUSE_PASSTHROUGH
	/* fuse_passthrough_close() wants a request; ids also go outside one. */
	uint32_t arg = (uint32_t)id;

	ioctl(pt->devfd, FUSE_DEV_IOC_BACKING_CLOSE, &arg);
#else
	shmfs_passthrough_compat_backing_close(pt->devfd, id);
#endif
}

void shmfs_passthrough_prepare_reply(struct shmfs_passthrough *pt,
				     struct fuse_file_info *fi, int backing_id)
{
	fi->keep_cache = 0;
	fi->direct_io = 0;
#ifdef SHMFS_HAVE_FUSE_PASSTHROUGH
	fi->backing_id = backing_id;
#else
	shmfs_passthrough_compat_prepare(backing_id);
#endif
}
