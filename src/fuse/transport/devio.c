// SPDX-License-Identifier: MIT
/*
 * The custom I/O on /dev/fuse. See devio.h.
 *
 * The INIT exchange is recognised by its opcode, and its reply by the
 * unique of the request: libfuse answers INIT before any other request
 * can come, so one remembered unique suffices.
 */
#include "devio.h"

#include <fcntl.h>
#include <unistd.h>

/* One session per daemon: the hooks find their state here. */
static const struct shmfs_devio_hooks *devio_hooks;
static bool devio_attached;
static uint64_t devio_init_unique;

static ssize_t devio_read(int fd, void *buf, size_t len, void *userdata)
{
	const struct shmfs_devio_hooks *h = devio_hooks;
	ssize_t n = h->read ? h->read(fd, buf, len) : read(fd, buf, len);
	struct fuse_in_header *in = buf;

	if (n >= (ssize_t)sizeof(*in) && h->request)
		h->request(in);
	if (n >= (ssize_t)(sizeof(*in) + sizeof(struct fuse_init_in)) && in->opcode == FUSE_INIT) {
		devio_init_unique = in->unique;
		if (h->init_request)
			h->init_request((const struct fuse_init_in *)(in + 1));
	}
	return n;
}

/* The INIT reply's argument, when it is all there (else NULL). */
static struct fuse_init_out *init_out(struct iovec *iov, int count)
{
	if (count < 2 || iov[1].iov_len < sizeof(struct fuse_init_out))
		return NULL;
	return iov[1].iov_base;
}

static ssize_t devio_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	const struct shmfs_devio_hooks *h = devio_hooks;
	const struct fuse_out_header *out = iov[0].iov_base;
	struct fuse_init_out *init = NULL;
	bool init_ok = false;
	ssize_t res;

	if (devio_init_unique && out->unique == devio_init_unique) {
		devio_init_unique = 0;
		init_ok = out->error == 0;
		init = init_ok ? init_out(iov, count) : NULL;
		if (init && h->init_reply)
			h->init_reply(init);
	} else if (h->reply) {
		h->reply(iov, count);
	}
	if (h->divert && h->divert(iov, count, &res))
		return res;
	res = writev(fd, iov, count);
	if (init_ok && res >= 0 && h->init_applied)
		h->init_applied(init);
	return res;
}

static ssize_t devio_splice_send(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
				 unsigned int flags, void *userdata)
{
	return splice(fdin, offin, fdout, offout, len, flags);
}

static const struct fuse_custom_io devio_io = {
	.read = devio_read,
	.writev = devio_writev,
	.splice_send = devio_splice_send,
};

int shmfs_devio_attach(struct fuse_session *se, const struct shmfs_devio_hooks *hooks)
{
	devio_hooks = hooks;
	if (devio_attached)
		return 0;
	devio_attached = true;
	/* The same descriptor: libfuse closes it once, at session destroy. */
	return fuse_session_custom_io(se, &devio_io, fuse_session_fd(se));
}
