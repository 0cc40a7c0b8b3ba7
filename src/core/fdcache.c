// SPDX-License-Identifier: MIT
/*
 * The descriptor cache: a clock over a ring of max slots.
 *
 * An entry's state word holds its descriptor plus one (0: none open), a
 * referenced bit and a pin count. Borrowing is one compare-and-swap that
 * adds a pin and sets the referenced bit, and only while a descriptor is
 * there; giving back drops the pin. The clock hand, under the cache lock,
 * passes over pinned entries, clears the bit of referenced ones, and
 * closes the first descriptor that is neither, taking it away with a
 * compare-and-swap from an unpinned state: a borrower that pins it first
 * makes that fail, so no descriptor is ever closed while borrowed.
 *
 * When every slot is pinned a reopened descriptor is lent without being
 * cached, and closed when it is given back.
 */
#include "fdcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FD_MASK 0xffffffffULL
#define REF (1ULL << 32)
#define PIN (1ULL << 33)
#define NO_SLOT UINT32_MAX
#define MIN_SLOTS 16

union handle_buf {
	struct file_handle fh;
	char space[sizeof(struct file_handle) + SHMFS_HANDLE_MAX];
};

static int state_fd(uint_fast64_t s)
{
	return (int)(s & FD_MASK) - 1;
}

/* Whether handles of objects under dirfd can be reopened: else why not. */
static const char *probe(struct shmfs_fdcache *c, int dirfd)
{
	union handle_buf h = { .fh.handle_bytes = SHMFS_HANDLE_MAX };
	int mnt_id, fd;

	c->mountfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->mountfd < 0)
		return "the store's root cannot be opened";
	if (name_to_handle_at(dirfd, "", &h.fh, &mnt_id, AT_EMPTY_PATH))
		return "the store's file system has no file handles";
	fd = open_by_handle_at(c->mountfd, &h.fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == EPERM ? "the daemon lacks CAP_DAC_READ_SEARCH"
				      : "the store's file handles cannot be reopened";
	close(fd);
	return NULL;
}

int shmfs_fdcache_init(struct shmfs_fdcache *c, int dirfd, uint32_t max)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->why_unbounded = probe(c, dirfd);
	if (c->why_unbounded) {
		if (c->mountfd >= 0)
			close(c->mountfd);
		c->mountfd = -1;
		return 0;
	}
	c->max = max > MIN_SLOTS ? max : MIN_SLOTS;
	c->ring = calloc(c->max, sizeof(*c->ring));
	if (!c->ring) {
		close(c->mountfd);
		return -ENOMEM;
	}
	c->bounded = true;
	return 0;
}

void shmfs_fdcache_release(struct shmfs_fdcache *c)
{
	if (c->mountfd >= 0)
		close(c->mountfd);
	free(c->ring);
	c->ring = NULL;
	pthread_mutex_destroy(&c->lock);
}

bool shmfs_fdcache_handle(struct shmfs_fdcache *c, int fd, struct shmfs_handle *h)
{
	union handle_buf b = { .fh.handle_bytes = SHMFS_HANDLE_MAX };
	int mnt_id;

	if (!c->bounded || name_to_handle_at(fd, "", &b.fh, &mnt_id, AT_EMPTY_PATH) ||
	    b.fh.handle_bytes > SHMFS_HANDLE_MAX)
		return false;
	h->len = b.fh.handle_bytes;
	h->type = b.fh.handle_type;
	memcpy(h->bytes, b.fh.f_handle, h->len);
	return true;
}

/*
 * Take e's descriptor away if nobody borrows it. Cache lock held; 1 if
 * it was taken (its descriptor in *fd), 0 if it stays.
 */
static int evict(struct shmfs_fdcache *c, struct shmfs_fdent *e, int *fd)
{
	uint_fast64_t s = atomic_load_explicit(&e->state, memory_order_relaxed);

	if (s >= PIN)
		return 0;
	if (s & REF) {
		atomic_fetch_and_explicit(&e->state, ~REF, memory_order_relaxed);
		return 0;
	}
	if (!atomic_compare_exchange_strong_explicit(&e->state, &s, 0, memory_order_relaxed,
						     memory_order_relaxed))
		return 0;
	*fd = state_fd(s);
	e->slot = NO_SLOT;
	atomic_fetch_sub_explicit(&c->nr_open, 1, memory_order_relaxed);
	return 1;
}

/* A free slot, closing a descriptor to make one if need be (in *victim). Lock held. */
static uint32_t take_slot(struct shmfs_fdcache *c, int *victim)
{
	if (c->used < c->max)
		return c->used++;
	for (uint32_t n = 0; n < 2 * c->max; n++) {
		uint32_t i = c->hand;
		struct shmfs_fdent *e = c->ring[i];

		c->hand = i + 1 == c->max ? 0 : i + 1;
		if (!e || evict(c, e, victim))
			return i;
	}
	return NO_SLOT;
}

/*
 * Cache fd (taken) as e's descriptor, pinned for the caller if pin. The
 * descriptor to use, which is another one when e got one meanwhile; or
 * fd itself, not cached, when every slot is pinned; or -1 (and fd closed)
 * when not pinned and there is no room.
 */
static int install(struct shmfs_fdcache *c, struct shmfs_fdent *e, int fd, bool pin)
{
	uint_fast64_t s;
	int victim = -1, ret = fd;
	uint32_t slot;

	pthread_mutex_lock(&c->lock);
	s = atomic_load_explicit(&e->state, memory_order_relaxed);
	if (s & FD_MASK) {
		/* Only a borrower changes it now, never the clock: pin it as one. */
		if (pin)
			atomic_fetch_add_explicit(&e->state, PIN, memory_order_acquire);
		pthread_mutex_unlock(&c->lock);
		close(fd);
		return pin ? state_fd(s) : -1;
	}
	slot = take_slot(c, &victim);
	if (slot != NO_SLOT) {
		c->ring[slot] = e;
		e->slot = slot;
		atomic_fetch_add_explicit(&c->nr_open, 1, memory_order_relaxed);
		atomic_store_explicit(&e->state, (uint_fast64_t)(fd + 1) | (pin ? PIN | REF : 0),
				      memory_order_release);
	} else if (!pin) {
		close(fd);
		ret = -1;
	}
	pthread_mutex_unlock(&c->lock);
	if (victim >= 0)
		close(victim);
	return ret;
}

bool shmfs_fdcache_ent_init(struct shmfs_fdent *e, int fd)
{
	e->slot = NO_SLOT;
	atomic_init(&e->state, e->handle_len ? 0 : (uint_fast64_t)(fd + 1));
	return !e->handle_len;
}

void shmfs_fdcache_offer(struct shmfs_fdcache *c, struct shmfs_fdent *e, int fd)
{
	if (atomic_load_explicit(&e->state, memory_order_relaxed) & FD_MASK)
		close(fd);
	else
		install(c, e, fd, false);
}

/* Open e's object again from its handle; it must still be (dev, ino). */
static int reopen(struct shmfs_fdcache *c, struct shmfs_fdent *e, dev_t dev, ino_t ino)
{
	union handle_buf h = { .fh.handle_bytes = e->handle_len, .fh.handle_type = e->handle_type };
	struct stat sb;
	int fd;

	if (!e->handle_len)
		return -EBADF; /* kept for good: only after its release */
	memcpy(h.fh.f_handle, e->handle, e->handle_len);
	fd = open_by_handle_at(c->mountfd, &h.fh, O_PATH | O_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && shmfs_fdcache_shrink(c, 64))
		fd = open_by_handle_at(c->mountfd, &h.fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) || sb.st_dev != dev || sb.st_ino != ino) {
		close(fd);
		return -ESTALE; /* another object now has the handle's number */
	}
	atomic_fetch_add_explicit(&c->nr_reopen, 1, memory_order_relaxed);
	return install(c, e, fd, true);
}

int shmfs_fdcache_get(struct shmfs_fdcache *c, struct shmfs_fdent *e, dev_t dev, ino_t ino)
{
	uint_fast64_t s = atomic_load_explicit(&e->state, memory_order_relaxed);

	while (s & FD_MASK) {
		if (atomic_compare_exchange_weak_explicit(&e->state, &s, (s + PIN) | REF,
							  memory_order_acquire,
							  memory_order_relaxed))
			return state_fd(s);
	}
	return reopen(c, e, dev, ino);
}

void shmfs_fdcache_put(struct shmfs_fdcache *c, struct shmfs_fdent *e, int fd)
{
	uint_fast64_t s = atomic_load_explicit(&e->state, memory_order_relaxed);

	/* A pinned descriptor stays e's own; any other was lent uncached. */
	if (state_fd(s) == fd && s >= PIN)
		atomic_fetch_sub_explicit(&e->state, PIN, memory_order_release);
	else
		close(fd);
}

void shmfs_fdcache_ent_release(struct shmfs_fdcache *c, struct shmfs_fdent *e)
{
	uint_fast64_t s;

	if (e->handle_len) {
		pthread_mutex_lock(&c->lock);
		if (e->slot != NO_SLOT) {
			c->ring[e->slot] = NULL;
			e->slot = NO_SLOT;
			atomic_fetch_sub_explicit(&c->nr_open, 1, memory_order_relaxed);
		}
		pthread_mutex_unlock(&c->lock);
	}
	s = atomic_exchange_explicit(&e->state, 0, memory_order_relaxed);
	if (s & FD_MASK)
		close(state_fd(s));
}

unsigned int shmfs_fdcache_shrink(struct shmfs_fdcache *c, unsigned int n)
{
	int fds[64];
	unsigned int got = 0;

	if (!c->bounded)
		return 0;
	if (n > 64)
		n = 64;
	pthread_mutex_lock(&c->lock);
	for (uint32_t i = 0; i < 2 * c->used && got < n; i++) {
		struct shmfs_fdent *e = c->ring[c->hand];

		if (e && evict(c, e, &fds[got])) {
			c->ring[c->hand] = NULL;
			got++;
		}
		c->hand = c->hand + 1 >= c->used ? 0 : c->hand + 1;
	}
	pthread_mutex_unlock(&c->lock);
	for (unsigned int i = 0; i < got; i++)
		close(fds[i]);
	return got;
}
