// SPDX-License-Identifier: MIT
/*
 * The custom I/O hooks on /dev/fuse. See devio.h.
 *
 * Layouts are from the kernel's include/uapi/linux/fuse.h (7.40+); the
 * system's copy of that header may be older than the running kernel.
 */
#include "devio.h"
#include "busypoll.h"
#include "fuse_abi.h"
#include "tmpfile_compat.h"
#include "config.h"
#include "uring.h"

#ifndef SHMFS_HAVE_FUSE_PASSTHROUGH
#include "passthrough_compat.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define DEVIO_FUSE_INIT 26
#define DEVIO_INIT_EXT (1u << 30)
#define DEVIO_WRITEBACK_CACHE (1u << 16)
#define DEVIO_PASSTHROUGH_FLAGS2 (1u << (37 - 32))
#define DEVIO_OVER_IO_URING_FLAGS2 (1u << (41 - 32))
#define DEVIO_FOPEN_PASSTHROUGH (1u << 7)

struct devio_init_in {
	uint32_t major, minor, max_readahead, flags, flags2;
};

struct devio_init_out {
	uint32_t major, minor, max_readahead, flags;
	uint16_t max_background, congestion_threshold;
	uint32_t max_write, time_gran;
	uint16_t max_pages, map_alignment;
	uint32_t flags2, max_stack_depth;
};

struct devio_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

_Static_assert(offsetof(struct devio_init_out, flags2) == 32, "init_out layout");
_Static_assert(offsetof(struct devio_init_out, max_stack_depth) == 36, "init_out layout");
_Static_assert(sizeof(struct devio_open_out) == 16, "open_out layout");

/* One session per daemon: the hooks find their state here. */
static struct shmfs_passthrough *devio_pt;
static bool devio_attached;
static uint64_t devio_init_unique;

static ssize_t devio_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = shmfs_busypoll_enabled() ? shmfs_busypoll_read(fd, buf, len)
					     : read(fd, buf, len);
	const struct shmfs_fuse_in_header *in = buf;

	if (n >= (ssize_t)sizeof(*in))
		shmfs_tmpfile_compat_request(buf);
	if (n >= (ssize_t)(sizeof(*in) + sizeof(struct devio_init_in)) &&
	    in->opcode == DEVIO_FUSE_INIT) {
		const struct devio_init_in *arg = (const void *)(in + 1);
		bool ext = arg->flags & DEVIO_INIT_EXT;

		devio_init_unique = in->unique;
		devio_pt->kernel_offers = ext && (arg->flags2 & DEVIO_PASSTHROUGH_FLAGS2);
		shmfs_uring_note_offer(ext && (arg->flags2 & DEVIO_OVER_IO_URING_FLAGS2));
	}
	return n;
}

static void complete_init(struct iovec *iov, int count)
{
	struct devio_init_out *out;

	if (count < 2 || iov[1].iov_len < sizeof(*out))
		return;
	out = iov[1].iov_base;
#ifndef SHMFS_HAVE_FUSE_PASSTHROUGH
	if (devio_pt->active) {
		out->flags |= DEVIO_INIT_EXT;
		out->flags &= ~DEVIO_WRITEBACK_CACHE;
		out->flags2 |= DEVIO_PASSTHROUGH_FLAGS2;
		out->max_stack_depth = 1;
	}
#endif
	if (shmfs_uring_wanted()) {
		out->flags |= DEVIO_INIT_EXT;
		out->flags2 |= DEVIO_OVER_IO_URING_FLAGS2;
	}
}

#ifndef SHMFS_HAVE_FUSE_PASSTHROUGH
static void complete_open(struct iovec *iov, int count, int backing_id)
{
	struct iovec *last = &iov[count - 1];
	struct devio_open_out *out;

	if (count < 2 || last->iov_len < sizeof(*out))
		return;
	out = (void *)((char *)last->iov_base + last->iov_len - sizeof(*out));
	out->open_flags |= DEVIO_FOPEN_PASSTHROUGH;
	out->backing_id = backing_id;
}
#endif

static ssize_t devio_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	const struct shmfs_fuse_out_header *out = iov[0].iov_base;
	bool init = false;
	ssize_t res;
#ifndef SHMFS_HAVE_FUSE_PASSTHROUGH
	int pending = shmfs_passthrough_compat_take_pending();

	if (pending) {
		if (out->error == 0)
			complete_open(iov, count, pending);
	} else
#endif
	if (devio_init_unique && out->unique == devio_init_unique) {
		devio_init_unique = 0;
		init = out->error == 0;
		if (init)
			complete_init(iov, count);
	}
	if (shmfs_uring_reply(iov, count, &res))
		return res;
	res = writev(fd, iov, count);
	if (init && res >= 0 && shmfs_uring_wanted()) {
		const struct devio_init_out *arg = iov[1].iov_base;
		bool full = count >= 2 && iov[1].iov_len >= sizeof(*arg);

		/* The kernel has applied the reply: the ring may register now. */
		shmfs_uring_start(full ? arg->max_write : 0, full ? arg->max_pages : 0);
	}
	return res;
}

static ssize_t devio_splice_send(int fdin, off_t *offin, int fdout, off_t *offout,
				 size_t len, unsigned int flags, void *userdata)
{
	return splice(fdin, offin, fdout, offout, len, flags);
}

static const struct fuse_custom_io devio_io = {
	.read = devio_read,
	.writev = devio_writev,
	.splice_send = devio_splice_send,
};

int shmfs_devio_attach(struct shmfs_passthrough *pt, struct fuse_session *se)
{
	devio_pt = pt;
	if (devio_attached)
		return 0;
	devio_attached = true;
	/* The same descriptor: libfuse closes it once, at session destroy. */
	return fuse_session_custom_io(se, &devio_io, fuse_session_fd(se));
}
