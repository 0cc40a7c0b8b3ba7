// SPDX-License-Identifier: MIT
/*
 * shmfs-msgbench's "latest-bound": the latest-value pattern with nothing
 * of the mailbox's own, to show what the machine allows it. Three slots
 * in an anonymous shared mapping (inherited across the fork, not a
 * segment), a counter of the newest whole message, plain memcpy() in and
 * out, and a receiver that spins; no futex, no per-slot counter, no
 * checks of a hostile writer.
 *
 * Message n goes to slot n % 3 and is published by storing n into LATEST.
 * The publisher starts writing slot n % 3 again only after it stored
 * LATEST = n + 2, so a copy of message n is whole if LATEST, loaded again
 * after the copy, is at most n + 1.
 */
#include "msgbench.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#define BOUND_SLOTS 3

struct bound {
	_Atomic uint64_t latest[2]; /* per direction; 0: nothing yet */
	unsigned char pad[48];
	unsigned char data[];
};

static size_t slot_span(size_t size)
{
	return (size + 63) & ~(size_t)63;
}

static size_t bound_len(size_t size)
{
	return sizeof(struct bound) + 2 * BOUND_SLOTS * slot_span(size);
}

static unsigned char *slot_of(struct chan *c, int dir, uint64_t n)
{
	struct bound *b = c->peer;

	return b->data + ((size_t)dir * BOUND_SLOTS + n % BOUND_SLOTS) * slot_span(c->size);
}

static int bound_setup(struct chan *c)
{
	void *p = mmap(NULL, bound_len(c->size), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	c->peer = p;
	c->mb_seen[0] = c->mb_seen[1] = 0;
	return 0;
}

/* Message numbers start at 0; LATEST holds number + 1. */
static int bound_send(struct chan *c, int dir, uint64_t n)
{
	struct bound *b = c->peer;
	uint64_t next = atomic_load_explicit(&b->latest[dir], memory_order_relaxed) + 1;
	unsigned char *slot = slot_of(c, dir, next);

	shmfs_msgbench_stamp(c->buf, c->size, n);
	memcpy(slot, c->buf, c->size);
	atomic_store_explicit(&b->latest[dir], next, memory_order_release);
	return 0;
}

static int bound_recv(struct chan *c, int dir, uint64_t *n)
{
	struct bound *b = c->peer;
	unsigned int spins = 0;
	uint64_t m;

	for (;;) {
		m = atomic_load_explicit(&b->latest[dir], memory_order_acquire);
		if (m <= c->mb_seen[dir]) {
			if (++spins % 256 == 0)
				sched_yield(); /* the publisher may share our CPU */
			continue;
		}
		memcpy(c->buf, slot_of(c, dir, m), c->size);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&b->latest[dir], memory_order_relaxed) <= m + 1)
			break;
	}
	c->mb_seen[dir] = m;
	return shmfs_msgbench_unstamp(c->buf, c->size, n);
}

static void bound_teardown(struct chan *c)
{
	munmap(c->peer, bound_len(c->size));
}

const struct transport shmfs_msgbench_latest_bound = {
	"latest-bound", bound_setup, bound_send, bound_recv, bound_teardown, true,
};
