/* SPDX-License-Identifier: MIT */
/*
 * The queues of FUSE over io_uring (uring.h has the protocol and the order
 * of events): one thread per possible CPU, pinned to it, with an io_uring
 * of its own, whose entries it registers with the kernel and through
 * which it then takes requests, hands each to libfuse, and commits the
 * reply with the next fetch.
 */
#ifndef SHMFS_URING_QUEUE_H
#define SHMFS_URING_QUEUE_H

/* The build defines this for src/fuse/transport alone: the rest include transport.h. */
#ifndef SHMFS_TRANSPORT_INTERNAL
#error "a header private to src/fuse/transport: include transport.h"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <fuse_lowlevel.h>

#include "fuse_abi.h"

/*
 * Start the threads and make their rings, registering nothing yet: 0, or
 * -errno with no thread left. request (or NULL) sees each request's header
 * first, and may change it, as devio.h's hook of that name.
 */
int shmfs_uring_queues_setup(struct fuse_session *se, void (*request)(struct fuse_in_header *));
/*
 * The kernel has the INIT reply: register every queue's entries with
 * payload buffers of payload_len bytes and start serving. 0, or the
 * -errno of the first queue that failed (the kernel then drops io_uring:
 * /dev/fuse serves every request).
 */
int shmfs_uring_queues_register(size_t payload_len);
/* Stop and join the threads (set up or not). */
void shmfs_uring_queues_stop(void);

/*
 * From the write hook: if iov is the reply to the request this thread took
 * from its ring, put it in the ring entry (it is sent with the next fetch),
 * set *res, and return true.
 */
bool shmfs_uring_queues_reply(const struct iovec *iov, int count, ssize_t *res);

/* Serving queues (0 before registering, or after stop). */
unsigned int shmfs_uring_queues_count(void);
/* Requests served through the rings; and per queue, comma-separated, into buf. */
uint64_t shmfs_uring_queues_requests(void);
void shmfs_uring_queues_each(char *buf, size_t len);

#endif
