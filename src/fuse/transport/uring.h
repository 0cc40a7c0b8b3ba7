/* SPDX-License-Identifier: MIT */
/*
 * FUSE over io_uring (Linux 6.14+, fuse.enable_uring=Y): the kernel hands
 * each request to a queue of the CPU that made it, and a daemon thread
 * pinned to that CPU takes it from an io_uring and commits the reply with
 * the next fetch, so a round trip needs no cross-CPU wakeup.
 *
 * libfuse >= 3.18 does the same job (-o io_uring). This code, uring.c and
 * uring_queue.c, can go once the oldest supported libfuse is 3.18 and its
 * rings have been measured to serve shmfs as well (Debian 13 ships 3.17).
 *
 * libfuse 3.14 knows nothing of it; the custom I/O hooks (devio.h) let the
 * INIT exchange through here, and replies written by a ring thread for the
 * request it is serving come here instead of going to /dev/fuse. Requests
 * are handed to libfuse with fuse_session_process_buf(), laid out as a read
 * of /dev/fuse would have delivered them. FORGET, INTERRUPT and
 * notifications keep using /dev/fuse and libfuse's loop.
 *
 * The order of events:
 *   attach()        before the loop starts;
 *   init_request()  the kernel's INIT: does it offer io_uring?
 *   negotiate()     from init(): set up one io_uring per possible CPU, each
 *                   in its own pinned thread, so that the INIT reply asks
 *                   for io_uring only once nothing can fail but
 *                   registration (whose failure the kernel answers by
 *                   dropping io_uring);
 *   init_reply()    asks for it in the INIT reply;
 *   start()         once the kernel has the INIT reply: register the
 *                   entries; reports the mount ready;
 *   stop()          after the loop: release the threads.
 */
#ifndef SHMFS_URING_H
#define SHMFS_URING_H

/* The build defines this for src/fuse/transport alone: the rest include transport.h. */
#ifndef SHMFS_TRANSPORT_INTERNAL
#error "a header private to src/fuse/transport: include transport.h"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <fuse_lowlevel.h>

#include "fuse_abi.h"
#include "transport.h"

/* request: see shmfs_uring_queues_setup(). */
void shmfs_uring_attach(struct fuse_session *se, const struct shmfs_transport_config *cfg,
			void (*request)(struct fuse_in_header *in));
/*
 * Before mounting with uring=on: 0, or -errno with *why set when this
 * kernel cannot offer it.
 */
int shmfs_uring_precheck(const char **why);
void shmfs_uring_init_request(const struct fuse_init_in *in);
/*
 * From init(), after the data path is chosen (passthrough: whether it is
 * passthrough): decide, and set up the rings if it is yes ("auto" only
 * with passthrough, where the ring is faster; in the cached path it was
 * measured slower). false when the mode is "on" and io_uring cannot be
 * had; *why says why not (also for "auto" falling back).
 */
bool shmfs_uring_negotiate(bool passthrough, const char **why);
/* Whether the INIT reply asks for io_uring (and start() reports ready). */
bool shmfs_uring_wanted(void);
void shmfs_uring_init_reply(struct fuse_init_out *out);
/* The kernel has applied the INIT reply out (NULL: unknown limits): register. */
void shmfs_uring_start(const struct fuse_init_out *out);
/* See shmfs_uring_queues_reply(). */
bool shmfs_uring_reply(const struct iovec *iov, int count, ssize_t *res);
void shmfs_uring_stop(void);
/* For status: the uring* "key=value\n" lines, as snprintf. */
int shmfs_uring_status(char *buf, size_t len);

#endif
