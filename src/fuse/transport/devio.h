/* SPDX-License-Identifier: MIT */
/*
 * libfuse's custom I/O on /dev/fuse (fuse_session_custom_io, libfuse
 * 3.13+): requests are read and replies written here rather than inside
 * libfuse, so that the transports can look at and complete the messages
 * that libfuse 3.14 cannot build (passthrough's INIT and open replies, the
 * io_uring flag in INIT), send a reply another way (io_uring), or read
 * requests another way (busy polling). What they want is given as hooks;
 * this file knows none of them.
 */
#ifndef SHMFS_DEVIO_H
#define SHMFS_DEVIO_H

/* The build defines this for src/fuse/transport alone: the rest include transport.h. */
#ifndef SHMFS_TRANSPORT_INTERNAL
#error "a header private to src/fuse/transport: include transport.h"
#endif

#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <fuse_lowlevel.h>

#include "fuse_abi.h"

/* Every hook runs in the thread that reads or writes; any may be NULL. */
struct shmfs_devio_hooks {
	/* Read one request from fd, as read(2) does (NULL: read(2)). */
	ssize_t (*read)(int fd, void *buf, size_t len);
	/* A request has been read: it may be changed in place before libfuse sees it. */
	void (*request)(struct fuse_in_header *in);
	/* The kernel's INIT request has been read. */
	void (*init_request)(const struct fuse_init_in *in);
	/* The successful INIT reply is about to go: complete it. */
	void (*init_reply)(struct fuse_init_out *out);
	/* ...and the kernel has applied it (out NULL: a reply too short to read). */
	void (*init_applied)(const struct fuse_init_out *out);
	/* Any other reply (iov[0] its fuse_out_header) is about to go: complete it. */
	void (*reply)(struct iovec *iov, int count);
	/* Take a reply to send it another way: true, with *res as writev's. */
	bool (*divert)(const struct iovec *iov, int count, ssize_t *res);
};

/*
 * Install the custom I/O on se, with hooks (which must stay valid). The
 * first call installs; later ones only change the hooks. 0 or -errno.
 */
int shmfs_devio_attach(struct fuse_session *se, const struct shmfs_devio_hooks *hooks);

#endif
