/* SPDX-License-Identifier: MIT */
/*
 * FUSE over io_uring (Linux 6.14+, fuse.enable_uring=Y): the kernel hands
 * each request to a queue of the CPU that made it, and a daemon thread
 * pinned to that CPU takes it from an io_uring and commits the reply with
 * the next fetch, so a round trip needs no cross-CPU wakeup.
 *
 * libfuse 3.14 knows nothing of it; the custom I/O hooks (devio.c) let the
 * INIT exchange through here, and replies written by a ring thread for the
 * request it is serving come here instead of going to /dev/fuse. Requests
 * are handed to libfuse with fuse_session_process_buf(), laid out as a read
 * of /dev/fuse would have delivered them. FORGET, INTERRUPT and
 * notifications keep using /dev/fuse and libfuse's loop.
 *
 * The order of events:
 *   attach()     before the loop starts;
 *   negotiate()  from init(): set up one io_uring per possible CPU, each
 *                in its own pinned thread, so that the INIT reply asks for
 *                io_uring only once nothing can fail but registration
 *                (whose failure the kernel answers by dropping io_uring);
 *   start()      from the write hook once the kernel has the INIT reply:
 *                register the entries; reports the mount ready;
 *   stop()       after the loop: release the threads.
 */
#ifndef SHMFS_URING_H
#define SHMFS_URING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "options.h"

struct shmfs_fs;

void shmfs_uring_attach(struct shmfs_fs *fs, enum shmfs_uring_mode mode);
/* From the read hook: does the kernel's INIT offer FUSE_OVER_IO_URING? */
void shmfs_uring_note_offer(bool offered);
/*
 * From init(), after the data path is chosen: decide, and set up the rings
 * if it is yes ("auto" only with passthrough, where the ring is faster;
 * in the cached path it was measured slower). false when the
 * mode is "on" and io_uring cannot be had; *why says why not (also for
 * "auto" falling back).
 */
bool shmfs_uring_negotiate(const char **why);
/* Whether the INIT reply asks for io_uring (and start() reports ready). */
bool shmfs_uring_wanted(void);
/* The kernel has applied the INIT reply with these limits: register. */
void shmfs_uring_start(uint32_t max_write, uint16_t max_pages);
/*
 * From the write hook: if iov is the reply to the request this thread took
 * from its ring, put it in the ring entry (it is sent with the next fetch),
 * set *res, and return true.
 */
bool shmfs_uring_reply(const struct iovec *iov, int count, ssize_t *res);
void shmfs_uring_stop(void);

/* For status: in use, its queues, and requests served through them. */
bool shmfs_uring_active(void);
unsigned int shmfs_uring_queues(void);
uint64_t shmfs_uring_requests(void);
/* Requests served by each queue, comma-separated in queue order, into buf. */
size_t shmfs_uring_queue_requests(char *buf, size_t len);

/*
 * Before mounting with uring=on: 0, or -errno with *why set when this
 * kernel cannot offer it.
 */
int shmfs_uring_precheck(const char **why);

#endif
