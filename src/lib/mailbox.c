// SPDX-License-Identifier: MIT
/*
 * The mailbox: one message slot in a segment, one publisher, any number of
 * readers in any processes, no locks on the data path.
 *
 * The slot is guarded by a seqlock, the way the kernel's seqcount_t is:
 *
 *   publisher                          reader
 *   seq = odd         (relaxed)        s1 = seq          (acquire)
 *   release fence                      copy the slot     (plain memcpy)
 *   length, bytes     (plain memcpy)   acquire fence
 *   seq = odd + 1     (release)        s2 = seq          (relaxed)
 *                                      whole iff s1 == s2 and s1 even
 *
 * Why each fence is there:
 *   - the publisher's release fence keeps the slot stores from becoming
 *     visible before the odd counter: a reader that saw any new byte then
 *     also sees the counter odd (or newer) when it loads it again;
 *   - the release store of the even counter publishes every slot store
 *     before it, and the reader's acquire load of s1 pairs with it: a
 *     reader that saw s1 even and unchanged copied only bytes of that
 *     publish;
 *   - the reader's acquire fence keeps its slot loads from moving after
 *     the second load of the counter, so a publish that overlapped the copy
 *     always shows as s2 != s1.
 * The copies are plain memcpy() calls, so they run at memory speed. The
 * slot lives in a shared mapping that other processes write and the
 * compiler cannot see into; the fences above are compiler barriers as
 * well as CPU ones, and a copy made while the counter moved is thrown away
 * unread, so the race on the bytes is the benign one every seqlock has.
 *
 * No checksum: the counter already says whether a copy is whole, and a
 * publisher that died half-way leaves the counter odd, which readers
 * report after a second (the next publish repairs the slot). Format
 * version 1 had an FNV-1a checksum of every message, computed byte by
 * byte on both sides; version 2 dropped it, and each version refuses the
 * other's mailboxes (-EPROTONOSUPPORT here, -EPROTO in version 1).
 *
 * Waiting uses a futex on a 32-bit word of the shared header, set to the low
 * half of the counter after each publish. The page is shared between
 * processes, so the futex calls are not FUTEX_PRIVATE_FLAG ones.
 *
 * The header is set up once, under an exclusive flock() of the segment,
 * by the first opener that finds it zeroed; the magic is written last.
 */
#include "segment.h"
#include "clock.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAILBOX_MAGIC 0x424d4853u	/* "SHMB" in little-endian order */
#define MAILBOX_VERSION 2
/* A publish left half-done this long means its publisher died. */
#define MAILBOX_STALL_NS 1000000000LL

/* The shared layout; its offsets are part of the format. */
struct mailbox_shared {
	_Atomic uint32_t magic;
	uint16_t version;
	uint16_t header_size;
	uint64_t capacity;
	_Atomic uint64_t seq;		/* seqlock: odd while publishing */
	_Atomic uint64_t length;	/* bytes in the slot */
	uint64_t reserved1;		/* version 1: a checksum */
	_Atomic uint32_t futex;		/* low 32 bits of seq, after publish */
	uint32_t reserved0;
	uint64_t reserved[2];
	unsigned char slot[];		/* the message, capacity bytes */
};

_Static_assert(sizeof(struct mailbox_shared) == SHMFS_MAILBOX_HEADER_SIZE,
	       "mailbox header size is part of the format");
_Static_assert(offsetof(struct mailbox_shared, seq) == 16, "seq offset");
_Static_assert(offsetof(struct mailbox_shared, futex) == 40, "futex offset");

struct shmfs_mailbox {
	struct shmfs_segment *seg;
	struct mailbox_shared *sh;
	size_t map_len;
	size_t capacity;	/* our own copy: the shared one is not trusted */
};

uint64_t shmfs_checksum(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static long futex(_Atomic uint32_t *word, int op, uint32_t val,
		  const struct timespec *abs_timeout)
{
	return syscall(SYS_futex, word, op, val, abs_timeout, NULL,
		       FUTEX_BITSET_MATCH_ANY);
}

/* Set up a zeroed header for a slot of CAPACITY bytes. */
static void header_init(struct mailbox_shared *sh, uint64_t capacity)
{
	sh->version = MAILBOX_VERSION;
	sh->header_size = SHMFS_MAILBOX_HEADER_SIZE;
	sh->capacity = capacity;
	atomic_store_explicit(&sh->magic, MAILBOX_MAGIC, memory_order_release);
}

static int header_check(const struct mailbox_shared *sh, uint64_t seg_size)
{
	if (atomic_load_explicit(&sh->magic, memory_order_acquire) !=
	    MAILBOX_MAGIC)
		return -EPROTO;
	if (sh->version != MAILBOX_VERSION)
		return -EPROTONOSUPPORT;
	if (sh->header_size != SHMFS_MAILBOX_HEADER_SIZE ||
	    sh->capacity % 8 ||
	    sh->capacity > seg_size - SHMFS_MAILBOX_HEADER_SIZE)
		return -EPROTO;
	return 0;
}

/* Map the segment and make sure it holds a mailbox, setting it up if it is
 * new and we may. Runs under the segment's flock(). */
static int mailbox_attach(struct shmfs_mailbox *mb, uint64_t want, bool may_init)
{
	int prot = (mb->seg->flags & SHMFS_RDONLY) ?
		PROT_READ : PROT_READ | PROT_WRITE;
	uint64_t size;
	int err;

	err = shmfs_segment_size(mb->seg, &size);
	if (err)
		return err;
	if (size == 0)
		return -EAGAIN;
	if (size < SHMFS_MAILBOX_HEADER_SIZE + 8 || size > SIZE_MAX)
		return -EPROTO;
	mb->map_len = (size_t)size;
	mb->sh = mmap(NULL, mb->map_len, prot, MAP_SHARED, mb->seg->fd, 0);
	if (mb->sh == MAP_FAILED) {
		mb->sh = NULL;
		return -errno;
	}
	if (atomic_load_explicit(&mb->sh->magic, memory_order_acquire) == 0) {
		if (!may_init)
			return -EAGAIN;
		header_init(mb->sh, (size - SHMFS_MAILBOX_HEADER_SIZE) & ~7ull);
	}
	err = header_check(mb->sh, size);
	if (err)
		return err;
	if (mb->sh->capacity < want)
		return -EFBIG;
	mb->capacity = (size_t)mb->sh->capacity;
	return 0;
}

int shmfs_mailbox_open(const char *name, size_t capacity, int flags,
		       struct shmfs_mailbox **mbp)
{
	bool may_init = capacity && !(flags & SHMFS_RDONLY);
	uint64_t size = 0;
	struct shmfs_mailbox *mb;
	int err;

	if (capacity) {
		if (capacity > SIZE_MAX - SHMFS_MAILBOX_HEADER_SIZE - 7)
			return -EFBIG;
		size = SHMFS_MAILBOX_HEADER_SIZE + ((capacity + 7) & ~(size_t)7);
	}
	mb = calloc(1, sizeof(*mb));
	if (!mb)
		return -ENOMEM;
	err = shmfs_segment_open(name, (flags & SHMFS_RDONLY) ? 0 : size, flags,
				 &mb->seg);
	if (err)
		goto out_free;
	err = shmfs_segment_lock(mb->seg, may_init ? SHMFS_LOCK_EXCLUSIVE :
				 SHMFS_LOCK_SHARED, false);
	if (err)
		goto out_close;
	err = mailbox_attach(mb, capacity, may_init);
	shmfs_segment_unlock(mb->seg);
	if (err)
		goto out_close;
	*mbp = mb;
	return 0;

out_close:
	if (mb->sh)
		munmap(mb->sh, mb->map_len);
	shmfs_segment_close(mb->seg);
out_free:
	free(mb);
	return err;
}

void shmfs_mailbox_close(struct shmfs_mailbox *mb)
{
	if (!mb)
		return;
	munmap(mb->sh, mb->map_len);
	shmfs_segment_close(mb->seg);
	free(mb);
}

size_t shmfs_mailbox_capacity(const struct shmfs_mailbox *mb)
{
	return mb->capacity;
}

struct shmfs_segment *shmfs_mailbox_segment(const struct shmfs_mailbox *mb)
{
	return mb->seg;
}

int shmfs_mailbox_publish(struct shmfs_mailbox *mb, const void *buf,
			  size_t len, uint64_t *seqp)
{
	struct mailbox_shared *sh = mb->sh;
	uint64_t odd;

	if (mb->seg->flags & SHMFS_RDONLY)
		return -EBADF;
	if (len > mb->capacity)
		return -EMSGSIZE;
	/* Odd already means a publisher died half-way: carry on from it. */
	odd = atomic_load_explicit(&sh->seq, memory_order_relaxed) | 1;
	atomic_store_explicit(&sh->seq, odd, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&sh->length, len, memory_order_relaxed);
	memcpy(sh->slot, buf, len);
	atomic_store_explicit(&sh->seq, odd + 1, memory_order_release);

	atomic_store_explicit(&sh->futex, (uint32_t)(odd + 1),
			      memory_order_seq_cst);
	futex(&sh->futex, FUTEX_WAKE, INT_MAX, NULL);
	if (seqp)
		*seqp = (odd + 1) / 2;
	return 0;
}

uint64_t shmfs_mailbox_seq(const struct shmfs_mailbox *mb)
{
	/* An odd counter 2k+1 means k messages are complete. */
	return atomic_load_explicit(&mb->sh->seq, memory_order_acquire) / 2;
}

/* A publish is in progress (counter ODD): wait a little. Gives -EAGAIN
 * once the same publish has been unfinished for too long. */
static int read_stalled(uint64_t odd, uint64_t *stall_seq, long long *since,
			unsigned int *spins)
{
	if (odd != *stall_seq) {
		*stall_seq = odd;
		*since = shmfs_now_ns();
		*spins = 0;
	}
	if (++*spins % 64 == 0 && shmfs_now_ns() - *since > MAILBOX_STALL_NS)
		return -EAGAIN;
	sched_yield();
	return 0;
}

/* Wait for an even counter and load the length that goes with it. */
static int read_start(struct shmfs_mailbox *mb, uint64_t *s1p, uint64_t *lenp)
{
	struct mailbox_shared *sh = mb->sh;
	uint64_t s1, stall_seq = 0;
	long long since = 0;
	unsigned int spins = 0;
	int err;

	for (;;) {
		s1 = atomic_load_explicit(&sh->seq, memory_order_acquire);
		if (s1 == 0)
			return -ENOMSG;
		if (!(s1 & 1))
			break;
		err = read_stalled(s1, &stall_seq, &since, &spins);
		if (err)
			return err;
	}
	*s1p = s1;
	*lenp = atomic_load_explicit(&sh->length, memory_order_relaxed);
	return 0;
}

/* Did the counter stay at S1 since read_start()? */
static bool read_unchanged(const struct mailbox_shared *sh, uint64_t s1)
{
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&sh->seq, memory_order_relaxed) == s1;
}

int shmfs_mailbox_read(struct shmfs_mailbox *mb, void *buf, size_t cap,
		       size_t *lenp, uint64_t *seqp)
{
	uint64_t s1, len;
	int err;

	do {
		err = read_start(mb, &s1, &len);
		if (err)
			return err;
		/* The length is checked against our own copy of the
		 * capacity: a hostile one never makes us copy past the slot. */
		if (len <= cap && len <= mb->capacity)
			memcpy(buf, mb->sh->slot, (size_t)len);
	} while (!read_unchanged(mb->sh, s1));
	if (len > mb->capacity)
		return -EBADMSG;
	if (lenp)
		*lenp = (size_t)len;
	if (seqp)
		*seqp = s1 / 2;
	return len > cap ? -EMSGSIZE : 0;
}

int shmfs_mailbox_read_begin(struct shmfs_mailbox *mb, const void **datap,
			     size_t *lenp, struct shmfs_mailbox_token *tok)
{
	uint64_t s1, len;
	int err;

	do {
		err = read_start(mb, &s1, &len);
		if (err)
			return err;
	} while (len > mb->capacity && !read_unchanged(mb->sh, s1));
	if (len > mb->capacity)
		return -EBADMSG;
	*datap = mb->sh->slot;
	*lenp = (size_t)len;
	tok->counter = s1;
	tok->seq = s1 / 2;
	return 0;
}

int shmfs_mailbox_read_validate(struct shmfs_mailbox *mb,
				const struct shmfs_mailbox_token *tok)
{
	return read_unchanged(mb->sh, tok->counter) ? 0 : -ESTALE;
}

int shmfs_mailbox_wait(struct shmfs_mailbox *mb, uint64_t last_seq,
		       int timeout_ms)
{
	struct mailbox_shared *sh = mb->sh;
	struct timespec deadline;
	uint32_t word;

	if (timeout_ms > 0) {
		long long end = shmfs_now_ns() + timeout_ms * 1000000LL;

		deadline.tv_sec = (time_t)(end / 1000000000LL);
		deadline.tv_nsec = (long)(end % 1000000000LL);
	}
	for (;;) {
		/* Load the word before the check: a publish after the check
		 * changes it, so FUTEX_WAIT then returns at once. */
		word = atomic_load_explicit(&sh->futex, memory_order_seq_cst);
		if (shmfs_mailbox_seq(mb) > last_seq)
			return 0;
		if (timeout_ms == 0)
			return -ETIMEDOUT;
		if (futex(&sh->futex, FUTEX_WAIT_BITSET, word,
			  timeout_ms > 0 ? &deadline : NULL) == 0)
			continue;
		if (errno == ETIMEDOUT)
			return shmfs_mailbox_seq(mb) > last_seq ? 0 : -ETIMEDOUT;
		if (errno == EINTR)
			return -EINTR;
		if (errno != EAGAIN)
			return -errno;
	}
}
