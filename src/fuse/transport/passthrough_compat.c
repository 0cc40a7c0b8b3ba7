// SPDX-License-Identifier: MIT
/*
 * FUSE passthrough for libfuse < 3.17.
 *
 * Delete this file once the oldest supported libfuse is 3.17, whose
 * fuse_passthrough_open() and FUSE_CAP_PASSTHROUGH do all of this.
 *
 * libfuse 3.14 lets a file system read requests and write replies itself
 * (fuse_session_custom_io, see devio.c). Through those hooks:
 *
 *  - the kernel's INIT request is looked at, to learn whether it offers
 *    FUSE_PASSTHROUGH; the INIT reply is completed with FUSE_PASSTHROUGH
 *    and max_stack_depth when shmfs_passthrough_negotiate() said yes;
 *  - an OPEN or CREATE reply that the sending thread marked with
 *    shmfs_passthrough_compat_prepare() gets FOPEN_PASSTHROUGH and the
 *    backing id. libfuse writes a reply from the thread that called
 *    fuse_reply_*(), so a thread-local mark cannot reach another reply.
 *
 * Layouts are from the kernel's include/uapi/linux/fuse.h (7.40+).
 */
#include "passthrough_compat.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct compat_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define COMPAT_DEV_IOC_BACKING_OPEN _IOW(229, 1, struct compat_backing_map)
#define COMPAT_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

static __thread int compat_pending_id;

int shmfs_passthrough_compat_attach(struct shmfs_passthrough *pt, struct fuse_session *se)
{
	return shmfs_devio_attach(pt, se);
}

void shmfs_passthrough_compat_prepare(int backing_id)
{
	compat_pending_id = backing_id;
}

int shmfs_passthrough_compat_take_pending(void)
{
	int id = compat_pending_id;

	compat_pending_id = 0;
	return id;
}

int shmfs_passthrough_compat_backing_open(int devfd, int fd)
{
	struct compat_backing_map map = { .fd = fd };
	int id = ioctl(devfd, COMPAT_DEV_IOC_BACKING_OPEN, &map);

	return id < 0 ? -errno : id;
}

void shmfs_passthrough_compat_backing_close(int devfd, int id)
{
	uint32_t arg = (uint32_t)id;

	ioctl(devfd, COMPAT_DEV_IOC_BACKING_CLOSE, &arg);
}
