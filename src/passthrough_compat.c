// SPDX-License-Identifier: MIT
/*
 * FUSE passthrough for libfuse < 3.17.
 *
 * Delete this file once the oldest supported libfuse is 3.17, whose
 * fuse_passthrough_open() and FUSE_CAP_PASSTHROUGH do all of this.
 *
 * libfuse 3.14 lets a file system read requests and write replies itself
 * (fuse_session_custom_io). Both hooks here are plain read(2)/writev(2) on
 * /dev/fuse, with two exceptions:
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
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define COMPAT_FUSE_INIT 26
#define COMPAT_INIT_EXT (1u << 30)
#define COMPAT_WRITEBACK_CACHE (1u << 16)
#define COMPAT_PASSTHROUGH_FLAGS2 (1u << (37 - 32))
#define COMPAT_FOPEN_PASSTHROUGH (1u << 7)

struct compat_in_header {
	uint32_t len;
	uint32_t opcode;
	uint64_t unique;
	uint64_t nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen;
	uint16_t padding;
};

struct compat_init_in {
	uint32_t major, minor, max_readahead, flags, flags2;
};

struct compat_out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};

struct compat_init_out {
	uint32_t major, minor, max_readahead, flags;
	uint16_t max_background, congestion_threshold;
	uint32_t max_write, time_gran;
	uint16_t max_pages, map_alignment;
	uint32_t flags2, max_stack_depth;
};

struct compat_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

struct compat_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define COMPAT_DEV_IOC_BACKING_OPEN _IOW(229, 1, struct compat_backing_map)
#define COMPAT_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

_Static_assert(offsetof(struct compat_init_out, flags2) == 32, "init_out layout");
_Static_assert(offsetof(struct compat_init_out, max_stack_depth) == 36, "init_out layout");
_Static_assert(sizeof(struct compat_open_out) == 16, "open_out layout");

/* One session per daemon: the hooks find their state here. */
static struct shmfs_passthrough *compat_pt;
static __thread int compat_pending_id;

static ssize_t compat_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);
	const struct compat_in_header *in = buf;

	if (n >= (ssize_t)(sizeof(*in) + sizeof(struct compat_init_in)) &&
	    in->opcode == COMPAT_FUSE_INIT) {
		const struct compat_init_in *arg = (const void *)(in + 1);

		compat_pt->init_unique = in->unique;
		compat_pt->kernel_offers = (arg->flags & COMPAT_INIT_EXT) &&
					   (arg->flags2 & COMPAT_PASSTHROUGH_FLAGS2);
	}
	return n;
}

static void complete_init(struct iovec *iov, int count)
{
	struct compat_init_out *out;

	if (count < 2 || iov[1].iov_len < sizeof(*out))
		return;
	out = iov[1].iov_base;
	out->flags |= COMPAT_INIT_EXT;
	out->flags &= ~COMPAT_WRITEBACK_CACHE;
	out->flags2 |= COMPAT_PASSTHROUGH_FLAGS2;
	out->max_stack_depth = 1;
}

static void complete_open(struct iovec *iov, int count, int backing_id)
{
	struct iovec *last = &iov[count - 1];
	struct compat_open_out *out;

	if (count < 2 || last->iov_len < sizeof(*out))
		return;
	out = (void *)((char *)last->iov_base + last->iov_len - sizeof(*out));
	out->open_flags |= COMPAT_FOPEN_PASSTHROUGH;
	out->backing_id = backing_id;
}

static ssize_t compat_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	const struct compat_out_header *out = iov[0].iov_base;
	int pending = compat_pending_id;

	if (pending) {
		compat_pending_id = 0;
		if (out->error == 0)
			complete_open(iov, count, pending);
	} else if (compat_pt->active && out->unique == compat_pt->init_unique &&
		   out->error == 0) {
		complete_init(iov, count);
		compat_pt->init_unique = 0;
	}
	return writev(fd, iov, count);
}

static ssize_t compat_splice_send(int fdin, off_t *offin, int fdout, off_t *offout,
				  size_t len, unsigned int flags, void *userdata)
{
	return splice(fdin, offin, fdout, offout, len, flags);
}

static const struct fuse_custom_io compat_io = {
	.read = compat_read,
	.writev = compat_writev,
	.splice_send = compat_splice_send,
};

int shmfs_passthrough_compat_attach(struct shmfs_passthrough *pt, struct fuse_session *se)
{
	compat_pt = pt;
	/* The same descriptor: libfuse closes it once, at session destroy. */
	return fuse_session_custom_io(se, &compat_io, fuse_session_fd(se));
}

void shmfs_passthrough_compat_prepare(int backing_id)
{
	compat_pending_id = backing_id;
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
