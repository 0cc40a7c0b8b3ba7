// SPDX-License-Identifier: MIT
/*
 * The descriptor caches: a clock over a ring of max slots.
 *
 * A slot's state word holds its descriptor plus one (0: none open), the
 * owner's tag, a referenced bit and a pin count. Borrowing is one
 * compare-and-swap that adds a pin and sets the referenced bit, and only
 * while a descriptor is there; giving back drops the pin. The clock hand,
 * under the cache lock, passes over pinned slots, clears the bit of
 * referenced ones, and closes the first descriptor that is neither,
 * taking it away with a compare-and-swap from an unpinned state: a
 * borrower that pins it first makes that fail, so no descriptor is ever
 * closed while borrowed. Only the cache lock's holder puts a descriptor
 * into a slot or takes one out.
 *
 * When every slot is pinned a new descriptor is lent without being
 * cached, and closed when it is given back: so a cache never holds more
 * than max descriptors, plus those its borrowers hold at the moment.
 */
#include "fdcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FD_MASK 0x7fffffffULL
#define TAG (1ULL << 31)
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
	c->mountfd = -1;
	if (dirfd >= 0)
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
		if (c->mountfd >= 0)
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

void shmfs_fdslot_init(struct shmfs_fdslot *s)
{
	s->pos = NO_SLOT;
	atomic_init(&s->state, 0);
}

/*
 * Take s's descriptor away if nobody borrows it. Cache lock held; 1 if
 * it was taken (its descriptor in *fd), 0 if it stays.
 */
static int evict(struct shmfs_fdcache *c, struct shmfs_fdslot *s, int *fd)
{
	uint_fast64_t st = atomic_load_explicit(&s->state, memory_order_relaxed);

	if (st >= PIN)
		return 0;
	if (st & REF) {
		atomic_fetch_and_explicit(&s->state, ~REF, memory_order_relaxed);
		return 0;
	}
	if (!atomic_compare_exchange_strong_explicit(&s->state, &st, 0, memory_order_relaxed,
						     memory_order_relaxed))
		return 0;
	*fd = state_fd(st);
	s->pos = NO_SLOT;
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
		struct shmfs_fdslot *s = c->ring[i];

		c->hand = i + 1 == c->max ? 0 : i + 1;
		if (!s || evict(c, s, victim))
			return i;
	}
	return NO_SLOT;
}

/*
 * s has a descriptor (state st) and fd (tagged: tag) was made for it,
 * lock held: pin the one to use. Returns it, or -1 to lend fd uncached;
 * *old is a descriptor replaced, for the caller to close.
 */
static int pin_better(struct shmfs_fdslot *s, uint_fast64_t st, int fd, bool *tag, int *old)
{
	uint_fast64_t want = (uint_fast64_t)(fd + 1) | TAG | PIN | REF;

	if ((st & TAG) || !*tag) {
		/* Only a borrower changes it now, never the clock: pin it as one. */
		atomic_fetch_add_explicit(&s->state, PIN, memory_order_acquire);
		*tag = st & TAG;
		return state_fd(st);
	}
	/* A tagged one is better: it takes the place of one nobody borrows. */
	while (st < PIN) {
		if (atomic_compare_exchange_weak_explicit(
			    &s->state, &st, want, memory_order_acq_rel, memory_order_relaxed)) {
			*old = state_fd(st);
			return fd;
		}
	}
	return -1;
}

/*
 * Cache fd (taken; *tag its tag) as s's descriptor, borrowed by the
 * caller if pin. The descriptor to use (see shmfs_fdcache_lend()); when
 * not pinned, -1, with fd closed unless it was cached.
 */
static int install(struct shmfs_fdcache *c, struct shmfs_fdslot *s, int fd, bool *tag, bool pin)
{
	uint_fast64_t st;
	int victim = -1, ret = fd;
	uint32_t slot;

	pthread_mutex_lock(&c->lock);
	st = atomic_load_explicit(&s->state, memory_order_relaxed);
	if (st & FD_MASK) {
		ret = pin ? pin_better(s, st, fd, tag, &victim) : -1;
		pthread_mutex_unlock(&c->lock);
		if (victim >= 0)
			close(victim);
		if (ret != fd && (ret >= 0 || !pin))
			close(fd);
		return ret < 0 && pin ? fd : ret;
	}
	slot = take_slot(c, &victim);
	if (slot != NO_SLOT) {
		c->ring[slot] = s;
		s->pos = slot;
		atomic_fetch_add_explicit(&c->nr_open, 1, memory_order_relaxed);
		atomic_store_explicit(&s->state,
				      (uint_fast64_t)(fd + 1) | (*tag ? TAG : 0) |
					      (pin ? PIN | REF : 0),
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

int shmfs_fdcache_borrow(struct shmfs_fdslot *s, bool tagged, bool *tag)
{
	uint_fast64_t st = atomic_load_explicit(&s->state, memory_order_relaxed);

	while ((st & FD_MASK) && (!tagged || (st & TAG))) {
		if (atomic_compare_exchange_weak_explicit(&s->state, &st, (st + PIN) | REF,
							  memory_order_acquire,
							  memory_order_relaxed)) {
			*tag = st & TAG;
			return state_fd(st);
		}
	}
	return -1;
}

int shmfs_fdcache_lend(struct shmfs_fdcache *c, struct shmfs_fdslot *s, int fd, bool *tag)
{
	return install(c, s, fd, tag, true);
}

void shmfs_fdcache_offer(struct shmfs_fdcache *c, struct shmfs_fdslot *s, int fd, bool tag)
{
	if (atomic_load_explicit(&s->state, memory_order_relaxed) & FD_MASK)
		close(fd);
	else
		install(c, s, fd, &tag, false);
}

void shmfs_fdcache_put(struct shmfs_fdcache *c, struct shmfs_fdslot *s, int fd)
{
	uint_fast64_t st = atomic_load_explicit(&s->state, memory_order_relaxed);

	/* A pinned descriptor stays s's own; any other was lent uncached. */
	if (state_fd(st) == fd && st >= PIN)
		atomic_fetch_sub_explicit(&s->state, PIN, memory_order_release);
	else
		close(fd);
}

void shmfs_fdslot_release(struct shmfs_fdcache *c, struct shmfs_fdslot *s)
{
	uint_fast64_t st;

	pthread_mutex_lock(&c->lock);
	if (s->pos != NO_SLOT) {
		c->ring[s->pos] = NULL;
		s->pos = NO_SLOT;
		atomic_fetch_sub_explicit(&c->nr_open, 1, memory_order_relaxed);
	}
	st = atomic_exchange_explicit(&s->state, 0, memory_order_relaxed);
	pthread_mutex_unlock(&c->lock);
	if (st & FD_MASK)
		close(state_fd(st));
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
		struct shmfs_fdslot *s = c->ring[c->hand];

		if (s && evict(c, s, &fds[got])) {
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

bool shmfs_fdcache_handle(struct shmfs_fdcache *c, int fd, struct shmfs_handle *h)
{
	union handle_buf b = { .fh.handle_bytes = SHMFS_HANDLE_MAX };
	int mnt_id;

	if (!c->bounded || c->mountfd < 0 ||
	    name_to_handle_at(fd, "", &b.fh, &mnt_id, AT_EMPTY_PATH) ||
	    b.fh.handle_bytes > SHMFS_HANDLE_MAX)
		return false;
	h->len = b.fh.handle_bytes;
	h->type = b.fh.handle_type;
	memcpy(h->bytes, b.fh.f_handle, h->len);
	return true;
}

int shmfs_fdcache_open_handle(struct shmfs_fdcache *c, const struct shmfs_handle *h, dev_t dev,
			      ino_t ino)
{
	union handle_buf b = { .fh.handle_bytes = h->len, .fh.handle_type = h->type };
	struct stat sb;
	int fd;

	if (!h->len || h->len > SHMFS_HANDLE_MAX || c->mountfd < 0)
		return -EBADF;
	memcpy(b.fh.f_handle, h->bytes, h->len);
	fd = open_by_handle_at(c->mountfd, &b.fh, O_PATH | O_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && shmfs_fdcache_shrink(c, 64))
		fd = open_by_handle_at(c->mountfd, &b.fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) || sb.st_dev != dev || sb.st_ino != ino) {
		close(fd);
		return -ESTALE; /* another object now has the handle's number */
	}
	return fd;
}

bool shmfs_fdcache_ent_init(struct shmfs_fdent *e, int fd)
{
	e->fd.pos = NO_SLOT;
	atomic_init(&e->fd.state, e->handle_len ? 0 : (uint_fast64_t)(fd + 1));
	return !e->handle_len;
}

int shmfs_fdcache_get(struct shmfs_fdcache *c, struct shmfs_fdent *e, dev_t dev, ino_t ino)
{
	struct shmfs_handle h;
	bool tag = false;
	int fd = shmfs_fdcache_borrow(&e->fd, false, &tag);

	if (fd >= 0)
		return fd;
	if (!e->handle_len)
		return -EBADF; /* kept for good: only after its release */
	h.len = e->handle_len;
	h.type = e->handle_type;
	memcpy(h.bytes, e->handle, h.len);
	fd = shmfs_fdcache_open_handle(c, &h, dev, ino);
	if (fd < 0)
		return fd;
	atomic_fetch_add_explicit(&c->nr_reopen, 1, memory_order_relaxed);
	return install(c, &e->fd, fd, &tag, true);
}
