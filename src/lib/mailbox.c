// SPDX-License-Identifier: MIT
/*
 * The mailbox: one message slot in a segment, one publisher, any number of
 * readers in any processes, no locks on the data path.
 *
 * The slot is guarded by a seqlock. The publisher makes the 64-bit sequence
 * counter odd, writes length, bytes and checksum, then makes it even again
 * (release). A reader loads the counter (acquire), copies, issues an
 * acquire fence and loads the counter again: if it is unchanged and even,
 * no publish overlapped the copy and the copy is whole; otherwise it tries
 * again. The slot is read and written with relaxed atomic word accesses,
 * so the concurrent copy is no data race. The publisher's fence between
 * making the counter odd and writing the bytes is what lets a reader that
 * saw new bytes also see the odd counter (C11 fence-fence synchronisation).
 *
 * Waiting uses a futex on a 32-bit word of the shared header, set to the low
 * half of the counter after each publish. The page is shared between
 * processes, so the futex calls are not FUTEX_PRIVATE_FLAG ones.
 *
 * The header is set up once, under an exclusive flock() of the segment,
 * by the first opener that finds it zeroed; the magic is written last.
 */
#include "segment.h"

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
#define MAILBOX_VERSION 1
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
	_Atomic uint64_t checksum;	/* shmfs_checksum() of them */
	_Atomic uint32_t futex;		/* low 32 bits of seq, after publish */
	uint32_t reserved0;
	uint64_t reserved[2];
	_Atomic uint64_t slot[];	/* the message, capacity bytes */
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

/* Copy the slot's first LEN bytes out, one relaxed word at a time. */
static void slot_load(void *dst, const _Atomic uint64_t *slot, size_t len)
{
	unsigned char *d = dst;
	size_t words = len / 8, i;
	uint64_t w;

	for (i = 0; i < words; i++) {
		w = atomic_load_explicit(&slot[i], memory_order_relaxed);
		memcpy(d + 8 * i, &w, 8);
	}
	if (len % 8) {
		w = atomic_load_explicit(&slot[words], memory_order_relaxed);
		memcpy(d + 8 * words, &w, len % 8);
	}
}

static void slot_store(_Atomic uint64_t *slot, const void *src, size_t len)
{
	const unsigned char *s = src;
	size_t words = len / 8, i;
	uint64_t w;

	for (i = 0; i < words; i++) {
		memcpy(&w, s + 8 * i, 8);
		atomic_store_explicit(&slot[i], w, memory_order_relaxed);
	}
	if (len % 8) {
		w = 0;
		memcpy(&w, s + 8 * words, len % 8);
		atomic_store_explicit(&slot[words], w, memory_order_relaxed);
	}
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
		    MAILBOX_MAGIC ||
	    sh->version != MAILBOX_VERSION ||
	    sh->header_size != SHMFS_MAILBOX_HEADER_SIZE ||
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
	uint64_t sum, odd;

	if (mb->seg->flags & SHMFS_RDONLY)
		return -EBADF;
	if (len > mb->capacity)
		return -EMSGSIZE;
	sum = shmfs_checksum(buf, len);
	/* Odd already means a publisher died half-way: carry on from it. */
	odd = atomic_load_explicit(&sh->seq, memory_order_relaxed) | 1;
	atomic_store_explicit(&sh->seq, odd, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&sh->length, len, memory_order_relaxed);
	slot_store(sh->slot, buf, len);
	atomic_store_explicit(&sh->checksum, sum, memory_order_relaxed);
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

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A publish is in progress (counter ODD): wait a little. Gives -EAGAIN
 * once the same publish has been unfinished for too long. */
static int read_stalled(uint64_t odd, uint64_t *stall_seq, long long *since,
			unsigned int *spins)
{
	if (odd != *stall_seq) {
		*stall_seq = odd;
		*since = now_ns();
		*spins = 0;
	}
	if (++*spins % 64 == 0 && now_ns() - *since > MAILBOX_STALL_NS)
		return -EAGAIN;
	sched_yield();
	return 0;
}

int shmfs_mailbox_read(struct shmfs_mailbox *mb, void *buf, size_t cap,
		       size_t *lenp, uint64_t *seqp)
{
	struct mailbox_shared *sh = mb->sh;
	uint64_t s1, s2, len, sum, stall_seq = 0;
	long long since = 0;
	unsigned int spins = 0;
	int err;

	for (;;) {
		s1 = atomic_load_explicit(&sh->seq, memory_order_acquire);
		if (s1 == 0)
			return -ENOMSG;
		if (s1 & 1) {
			err = read_stalled(s1, &stall_seq, &since, &spins);
			if (err)
				return err;
			continue;
		}
		len = atomic_load_explicit(&sh->length, memory_order_relaxed);
		sum = atomic_load_explicit(&sh->checksum, memory_order_relaxed);
		if (len <= cap && len <= mb->capacity)
			slot_load(buf, sh->slot, (size_t)len);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&sh->seq, memory_order_relaxed);
		if (s1 == s2)
			break;
	}
	if (len > mb->capacity)
		return -EBADMSG;
	if (lenp)
		*lenp = (size_t)len;
	if (seqp)
		*seqp = s1 / 2;
	if (len > cap)
		return -EMSGSIZE;
	if (shmfs_checksum(buf, (size_t)len) != sum)
		return -EBADMSG;
	return 0;
}

int shmfs_mailbox_wait(struct shmfs_mailbox *mb, uint64_t last_seq,
		       int timeout_ms)
{
	struct mailbox_shared *sh = mb->sh;
	struct timespec deadline;
	uint32_t word;

	if (timeout_ms > 0) {
		long long end = now_ns() + timeout_ms * 1000000LL;

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
