/* SPDX-License-Identifier: MIT */
/*
 * A bounded cache of O_PATH descriptors, one slot per object at most.
 * Each object keeps a file handle (name_to_handle_at) instead of a
 * descriptor of its own; at most max descriptors are open at a time, and
 * one that was closed to make room is reopened from its handle
 * (open_by_handle_at) when it is next needed. A descriptor in use is
 * pinned: it is never closed under its borrower. Using a cached one costs
 * no system call and takes no lock.
 *
 * open_by_handle_at needs CAP_DAC_READ_SEARCH. Without it (a user's
 * mount), or on a file system without handles, the cache is unbounded:
 * every object keeps the descriptor it was made with, as long as it lives.
 * Nothing here knows about FUSE.
 */
#ifndef SHMFS_FDCACHE_H
#define SHMFS_FDCACHE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The longest handle kept (MAX_HANDLE_SZ); tmpfs gives 12 bytes. */
#define SHMFS_HANDLE_MAX 128

/* One object's descriptor, embedded at the end of its owner (the handle follows). */
struct shmfs_fdent {
	atomic_uint_fast64_t state; /* the descriptor, a referenced bit, pins */
	uint32_t slot;		    /* place in the cache's ring; cache lock */
	int handle_type;
	unsigned char handle_len; /* 0: no handle, the descriptor is kept for good */
	unsigned char handle[];
};

struct shmfs_fdcache {
	pthread_mutex_t lock;
	struct shmfs_fdent **ring;	/* max slots, NULL where free; lock */
	uint32_t max, used, hand;	/* lock */
	int mountfd;			/* on the store's file system, for open_by_handle_at */
	bool bounded;			/* objects have handles, at most max descriptors */
	const char *why_unbounded;	/* static text, when not bounded */
	atomic_uint nr_open;		/* descriptors in the ring */
	atomic_uint_fast64_t nr_reopen; /* descriptors reopened from a handle */
};

/* A handle as name_to_handle_at fills it in. */
struct shmfs_handle {
	unsigned int len;
	int type;
	unsigned char bytes[SHMFS_HANDLE_MAX];
};

/*
 * Set up a cache of at most max descriptors of objects on the file system
 * of dirfd (an O_PATH descriptor of a directory, not taken); it is
 * unbounded when handles cannot be reopened there. 0 or -errno.
 */
int shmfs_fdcache_init(struct shmfs_fdcache *c, int dirfd, uint32_t max);
void shmfs_fdcache_release(struct shmfs_fdcache *c);

/*
 * The handle of the object open as fd into h; false when the cache is
 * unbounded or the object has none (it then keeps its descriptor).
 */
bool shmfs_fdcache_handle(struct shmfs_fdcache *c, int fd, struct shmfs_handle *h);
/*
 * Set e up, before anyone else can reach it, for the object open as fd
 * (O_PATH). Its handle fields are set, handle_len 0 when it has none:
 * then e keeps fd for good, and true is returned. Otherwise e starts with
 * no descriptor, and fd is the caller's to offer or close.
 */
bool shmfs_fdcache_ent_init(struct shmfs_fdent *e, int fd);
/* A new descriptor of e's object (taken): kept if e has none open, else closed. */
void shmfs_fdcache_offer(struct shmfs_fdcache *c, struct shmfs_fdent *e, int fd);
/*
 * Borrow e's descriptor until shmfs_fdcache_put(), reopening it from the
 * handle if it was closed; the object reopened must be (dev, ino). The
 * descriptor, or -errno: -ESTALE when the object is gone from the store.
 */
int shmfs_fdcache_get(struct shmfs_fdcache *c, struct shmfs_fdent *e, dev_t dev, ino_t ino);
void shmfs_fdcache_put(struct shmfs_fdcache *c, struct shmfs_fdent *e, int fd);
/* Close e's descriptor for good; nobody may borrow it any more. */
void shmfs_fdcache_ent_release(struct shmfs_fdcache *c, struct shmfs_fdent *e);
/*
 * Close up to n cached descriptors nobody uses, to make room after
 * EMFILE or ENFILE. Returns how many were closed.
 */
unsigned int shmfs_fdcache_shrink(struct shmfs_fdcache *c, unsigned int n);

#endif
