/* SPDX-License-Identifier: MIT */
/*
 * The queue's shared format and its per-process object, shared by
 * queue.c (the ring: open, send, receive) and queue_lock.c (the side
 * locks that dead owners cannot keep, and the waits between the sides).
 * Every shared word may hold anything another process wrote: each user
 * checks what it loads.
 */
#ifndef SHMFS_LIB_QUEUE_H
#define SHMFS_LIB_QUEUE_H

#include "segment.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SHMFS_QUEUE_MAGIC 0x514d4853u /* "SHMQ" in little-endian order */
#define SHMFS_QUEUE_VERSION 1
#define SHMFS_QUEUE_LOCK_WAITERS 0x80000000u

/* One side of the queue, on a cache line of its own. */
struct queue_side {
	_Atomic uint64_t pos;	      /* TAIL or HEAD; stored by the owner */
	_Atomic uint64_t inflight;    /* pos | 1 while a message is open */
	_Atomic uint32_t lock;	      /* owner tid | LOCK_WAITERS; 0 free */
	_Atomic uint32_t owner_start; /* owner's start time; 0 unknown */
	_Atomic uint32_t waiting;     /* this side's blocked processes */
	_Atomic uint32_t wake;	      /* futex: bumped when pos moved */
	_Atomic uint64_t want;	      /* a waiter waits for the other's
					 * pos to reach this (| 1: woken) */
	_Atomic uint32_t cpu;	      /* the owner's CPU + 1; 0 unknown */
	uint32_t reserved0;
	uint64_t reserved[2];
};

/* The shared header; its offsets are part of the format. */
struct queue_shared {
	_Atomic uint32_t magic;
	uint16_t version;
	uint16_t reserved0;
	uint32_t header_size; /* bytes before the ring */
	uint32_t reserved1;
	uint64_t capacity;     /* bytes in the ring */
	_Atomic uint64_t lost; /* messages dropped by dead owners */
	uint64_t reserved2[4];
	struct queue_side prod; /* offset 64 */
	struct queue_side cons; /* offset 128 */
};

_Static_assert(sizeof(struct queue_side) == 64, "queue side size");
_Static_assert(offsetof(struct queue_shared, prod) == 64, "prod offset");
_Static_assert(offsetof(struct queue_shared, cons) == 128, "cons offset");
_Static_assert(sizeof(struct queue_shared) <= SHMFS_QUEUE_HEADER_SIZE,
	       "queue header fits its page");

/* What this process knows of one side it acts on; only the thread holding
 * that side's lock touches it. */
struct queue_hand {
	uint64_t open_pos, open_len; /* the open reservation or read */
	uint64_t seen;		     /* the other side's position as last
					 * loaded: an under-estimate, since
					 * positions only grow */
};

struct shmfs_queue {
	struct shmfs_segment *seg;
	struct queue_shared *sh;
	unsigned char *ring; /* the ring, then the ring again */
	void *map;
	size_t map_len;
	uint64_t capacity;	    /* our own copy: the shared one is not trusted */
	_Atomic uint64_t lost_seen; /* LOST as this object last said */
	struct queue_hand prod, cons;
};

/*
 * Take SIDE's lock for this thread by DEADLINE (ns). *recovered tells
 * whether it was taken over from a dead owner. Returns 0, -ETIMEDOUT,
 * -EDEADLK (this thread holds it), or -EINTR.
 */
int shmfs_queue_side_lock(struct queue_side *side, long long deadline, bool *recovered);
void shmfs_queue_side_unlock(struct queue_side *side);
/* Does the calling thread hold SIDE's lock? */
bool shmfs_queue_side_mine(struct queue_side *side);

/*
 * Block until OTHER's position reaches WANT (spinning a little first; when
 * it must sleep, until SLEEP_WANT >= WANT), or DEADLINE. Only the holder of
 * MINE's lock waits here. Returns 0 (the caller looks again) or -EINTR.
 */
int shmfs_queue_wait(struct queue_side *mine, struct queue_side *other, uint64_t want,
		     uint64_t sleep_want, long long deadline);
/* After MINE's position moved: wake the other side if it waits for it. */
void shmfs_queue_wake(struct queue_side *mine, struct queue_side *other);

#endif
