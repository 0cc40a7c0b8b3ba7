/* SPDX-License-Identifier: MIT */
/*
 * Busy polling of /dev/fuse (-o busy_poll=USEC), the daemon's side of the
 * trade the kernel's net.core.busy_poll makes for sockets: CPU time for
 * the latency of small requests.
 *
 * A request that finds a daemon thread asleep costs a wakeup, and on a
 * virtual machine whose idle CPUs halt, waking another CPU goes through
 * the host: tens of microseconds, more than all the rest of an open.
 * With busy polling one daemon thread at a time, the reader, takes the
 * requests: after each one it polls /dev/fuse for up to USEC microseconds
 * before it sleeps in read(2), and it serves the short requests itself,
 * so a stream of them (open, release, lookup, getattr, create, unlink)
 * never waits for a wakeup on the daemon's side. The other threads sleep
 * on a condition variable, not on /dev/fuse (the kernel would wake one of
 * them for every request): the reader hands over to one of them before it
 * serves a request that may take long (large reads and writes, readdir,
 * truncation, forgets that free memory, the status ioctl), and before it
 * waits for a lock that another request holds, so those do not hold up
 * the rest.
 *
 * A request served by the reader must not wait for another request to
 * this mount (nothing in the handlers does: the transient reaper, which
 * scans mappings, has a thread of its own).
 */
#ifndef SHMFS_BUSYPOLL_H
#define SHMFS_BUSYPOLL_H

/* The build defines this for src/fuse/transport alone: the rest include transport.h. */
#ifndef SHMFS_TRANSPORT_INTERNAL
#error "a header private to src/fuse/transport: include transport.h"
#endif

#include <stdbool.h>
#include <sys/types.h>

/* Turn busy polling on for the session's /dev/fuse reads (before serving). */
void shmfs_busypoll_enable(unsigned int usec);
bool shmfs_busypoll_enabled(void);
/* The read hook's work when enabled: as read(2) on fd. */
ssize_t shmfs_busypoll_read(int fd, void *buf, size_t len);
/*
 * This thread is about to wait (for a lock another request holds): if it
 * is the reader, hand the role to another thread first.
 */
void shmfs_busypoll_yield(void);
/* The polling time in effect, microseconds (0: off). */
unsigned int shmfs_busypoll_us(void);

#endif
