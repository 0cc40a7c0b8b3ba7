/* SPDX-License-Identifier: MIT */
/*
 * Bounded caches of descriptors, one slot per object at most.
 *
 * A cache holds at most max descriptors open at a time, in a clock over
 * a ring of slots: one that was closed to make room is opened again when
 * it is next needed. A descriptor in use is pinned: it is never closed
 * under its borrower. Borrowing a cached one costs no system call and
 * takes no lock. Each slot may carry a tag with its descriptor, one bit
 * its owner gives it meaning (the data descriptors' cache tags those
 * that may write).
 *
 * The cache of O_PATH descriptors (shmfs_fdcache_get()) reopens an object
 * from a file handle it keeps instead of a descriptor (name_to_handle_at,
 * open_by_handle_at). That needs CAP_DAC_READ_SEARCH: without it (a
 * user's mount), or on a file system without handles, that cache is
 * unbounded, and every object keeps the descriptor it was made with as
 * long as it lives. A cache made without a directory has no handles: its
 * owners open descriptors themselves and lend them to it
 * (shmfs_fdcache_lend()), and it is always bounded.
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

/* One object's descriptor in a cache, embedded in its owner. */
struct shmfs_fdslot {
	atomic_uint_fast64_t state; /* the descriptor, its tag, a referenced bit, pins */
	uint32_t pos;		    /* place in the cache's ring; cache lock */
};

/* An object's O_PATH descriptor, last in its owner: the handle follows. */
struct shmfs_fdent {
	struct shmfs_fdslot fd;
	int handle_type;
	unsigned char handle_len; /* 0: no handle, the descriptor is kept for good */
	unsigned char handle[];
};

struct shmfs_fdcache {
	pthread_mutex_t lock;
	struct shmfs_fdslot **ring;	/* max slots, NULL where free; lock */
	uint32_t max, used, hand;	/* lock */
	int mountfd;			/* on the store's file system, for open_by_handle_at */
	bool bounded;			/* at most max descriptors */
	const char *why_unbounded;	/* static text, when not bounded */
	atomic_uint nr_open;		/* descriptors in the ring */
	atomic_uint_fast64_t nr_reopen; /* descriptors opened again after a close */
};

/* A handle as name_to_handle_at fills it in. */
struct shmfs_handle {
	unsigned int len;
	int type;
	unsigned char bytes[SHMFS_HANDLE_MAX];
};

/*
 * Set up a cache of at most max descriptors. With dirfd (an O_PATH
 * descriptor of a directory, not taken) it keeps O_PATH descriptors of
 * objects on that file system, and is unbounded when their handles
 * cannot be reopened there; with dirfd -1 its owners lend it the
 * descriptors. 0 or -errno.
 */
int shmfs_fdcache_init(struct shmfs_fdcache *c, int dirfd, uint32_t max);
void shmfs_fdcache_release(struct shmfs_fdcache *c);

/* An empty slot, before anyone else can reach it. */
void shmfs_fdslot_init(struct shmfs_fdslot *s);
/*
 * Borrow s's descriptor until shmfs_fdcache_put(), if it has one open,
 * and, when tagged, only one with the tag; *tag says whether it has it.
 * No system call, no lock. The descriptor, or -1.
 */
int shmfs_fdcache_borrow(struct shmfs_fdslot *s, bool tagged, bool *tag);
/*
 * Cache fd (taken; *tag its tag) as s's descriptor and borrow it. When s
 * got one meanwhile that is as good (tagged, or fd is not), that one is
 * borrowed and fd closed; a tagged fd replaces an untagged one that
 * nobody borrows. Returns the descriptor to use, *tag set to its tag:
 * fd itself, uncached (closed when given back), when every slot is
 * pinned or s's descriptor is borrowed.
 */
int shmfs_fdcache_lend(struct shmfs_fdcache *c, struct shmfs_fdslot *s, int fd, bool *tag);
/* A new descriptor of s's object (taken, tagged if tag): kept if s has none open, else closed. */
void shmfs_fdcache_offer(struct shmfs_fdcache *c, struct shmfs_fdslot *s, int fd, bool tag);
void shmfs_fdcache_put(struct shmfs_fdcache *c, struct shmfs_fdslot *s, int fd);
/* Close s's descriptor for good; nobody may borrow it any more. */
void shmfs_fdslot_release(struct shmfs_fdcache *c, struct shmfs_fdslot *s);
/*
 * Close up to n cached descriptors nobody uses, to make room after
 * EMFILE or ENFILE. Returns how many were closed.
 */
unsigned int shmfs_fdcache_shrink(struct shmfs_fdcache *c, unsigned int n);

/*
 * The handle of the object open as fd into h; false when the cache is
 * unbounded or the object has none (it then keeps its descriptor).
 */
bool shmfs_fdcache_handle(struct shmfs_fdcache *c, int fd, struct shmfs_handle *h);
/*
 * Open the object of handle h again (O_PATH); it must still be (dev,
 * ino). A new descriptor, not cached, or -errno: -ESTALE when the object
 * is gone from the store.
 */
int shmfs_fdcache_open_handle(struct shmfs_fdcache *c, const struct shmfs_handle *h, dev_t dev,
			      ino_t ino);
/*
 * Set e up, before anyone else can reach it, for the object open as fd
 * (O_PATH). Its handle fields are set, handle_len 0 when it has none:
 * then e keeps fd for good, and true is returned. Otherwise e starts with
 * no descriptor, and fd is the caller's to offer or close.
 */
bool shmfs_fdcache_ent_init(struct shmfs_fdent *e, int fd);
/*
 * Borrow e's descriptor until shmfs_fdcache_put(), reopening it from the
 * handle if it was closed; the object reopened must be (dev, ino). The
 * descriptor, or -errno: -ESTALE when the object is gone from the store.
 */
int shmfs_fdcache_get(struct shmfs_fdcache *c, struct shmfs_fdent *e, dev_t dev, ino_t ino);

#endif
