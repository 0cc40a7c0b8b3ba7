// SPDX-License-Identifier: MIT
/*
 * The mailbox: the latest value of something, in a segment. One publisher
 * at a time, any number of readers in any processes, no locks on the data
 * path, and the publisher never waits for a reader.
 *
 * The segment holds SLOTS copies of the message slot (three), each guarded
 * by its own sequence counter, the way the kernel's seqcount_t guards data:
 * message number n goes to slot n % SLOTS, and LATEST, in the header, names
 * the newest whole one.
 *
 *   publisher of message n               reader
 *   slot.seq = 2n - 1   (relaxed)        n = LATEST          (acquire)
 *   release fence                        s1 = slot(n).seq    (acquire)
 *   length, bytes       (plain memcpy)   s1 == 2n, or look again
 *   slot.seq = 2n       (release)        copy the slot       (plain memcpy)
 *   LATEST = n          (release)        acquire fence
 *                                        whole iff slot(n).seq is still s1
 *
 * Why each fence is there:
 *   - the publisher's release fence keeps the slot stores from becoming
 *     visible before the odd counter: a reader that saw any new byte then
 *     also sees the counter odd (or newer) when it loads it again;
 *   - the release stores of the even counter and of LATEST publish every
 *     slot store before them, and the reader's acquire loads pair with
 *     them: a reader that saw slot(n).seq == 2n, unchanged after its copy,
 *     copied only bytes of message n;
 *   - the reader's acquire fence keeps its slot loads from moving after
 *     the second load of the counter, so a publish into the same slot that
 *     overlapped the copy always shows as a changed counter.
 * The copies are plain memcpy() calls, so they run at memory speed. The
 * slot lives in a shared mapping that other processes write and the
 * compiler cannot see into; the fences above are compiler barriers as
 * well as CPU ones, and a copy made while the counter moved is thrown away
 * unread, so the race on the bytes is the benign one every seqlock has.
 *
 * Why three slots: with one, a publisher that publishes again while a
 * reader copies spoils that copy, and a publisher that publishes without
 * pause starves every reader of large messages. Here a reader's copy of
 * message n is spoilt only if the publisher starts message n + 3 before it
 * ends, that is, finishes two whole publishes during one copy. A publisher
 * that died half-way leaves its slot's counter odd, but LATEST still names
 * the message before, so readers go on reading that one; the next publish
 * writes the same slot again and repairs it. No checksum: the counter
 * already says whether a copy is whole.
 *
 * Formats: version 1 had an FNV-1a checksum of every message; version 2
 * had one slot; version 3 is this. Each refuses the others' mailboxes
 * (-EPROTONOSUPPORT here and in version 2, -EPROTO in version 1).
 *
 * Waiting: a reader spins a little on LATEST (wait.c; not when CPU says
 * the publisher last ran on the reader's own CPU), then sleeps on
 * FUTEX, a 32-bit word set to the low half of LATEST after each publish,
 * which the publisher then wakes. The publisher cannot tell whether anyone
 * sleeps: readers may hold the segment read-only, so they cannot count
 * themselves in it, and every publish costs one FUTEX_WAKE.
 *
 * The header is set up once, under an exclusive flock() of the segment,
 * by the first opener that finds it zeroed; the magic is written last.
 * Every shared word may hold anything: lengths and slot numbers are
 * checked against our own copy of the capacity and slot count.
 */
#include "segment.h"
#include "wait.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAILBOX_MAGIC 0x424d4853u /* "SHMB" in little-endian order */
#define MAILBOX_VERSION 3
#define MAILBOX_SLOTS 3
#define MAILBOX_SLOTS_MAX 16
#define SLOT_HEADER 64
/* A reader that could not get one whole copy for this long gives up. */
#define MAILBOX_STALL_NS 1000000000LL

/* The shared header; its offsets are part of the format. */
struct mailbox_shared {
	_Atomic uint32_t magic;
	uint16_t version;
	uint16_t header_size; /* SHMFS_MAILBOX_HEADER_SIZE */
	uint64_t capacity;    /* message bytes per slot, a multiple
					 * of 64 */
	uint32_t slots;
	uint32_t reserved0;
	_Atomic uint64_t latest; /* the newest whole message; 0: none */
	_Atomic uint32_t futex;	 /* low 32 bits of latest */
	_Atomic uint32_t cpu;	 /* the publisher's CPU + 1; 0 unknown */
	uint64_t reserved[3];
};

/* A slot: its counter and length on a line of their own, then the bytes. */
struct mailbox_slot {
	_Atomic uint64_t seq; /* 2n: message n whole; 2n - 1: being
					 * written */
	_Atomic uint64_t length;
	uint64_t reserved[6];
	unsigned char data[];
};

_Static_assert(sizeof(struct mailbox_shared) == SHMFS_MAILBOX_HEADER_SIZE,
	       "mailbox header size is part of the format");
_Static_assert(offsetof(struct mailbox_shared, latest) == 24, "latest offset");
_Static_assert(offsetof(struct mailbox_shared, futex) == 32, "futex offset");
_Static_assert(sizeof(struct mailbox_slot) == SLOT_HEADER, "slot header");

struct shmfs_mailbox {
	struct shmfs_segment *seg;
	struct mailbox_shared *sh;
	size_t map_len;
	/* Our own copies: the shared ones are not trusted. */
	size_t capacity;
	uint32_t slots;
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

static struct mailbox_slot *slot_of(const struct shmfs_mailbox *mb, uint64_t n)
{
	unsigned char *base = (unsigned char *)mb->sh + SHMFS_MAILBOX_HEADER_SIZE;

	return (struct mailbox_slot *)(void *)(base +
					       (n % mb->slots) * (SLOT_HEADER + mb->capacity));
}

/* The segment size for SLOTS slots of CAPACITY bytes (a multiple of 64). */
static uint64_t mailbox_size(uint64_t capacity, uint32_t slots)
{
	return SHMFS_MAILBOX_HEADER_SIZE + slots * (SLOT_HEADER + capacity);
}

/* Set up a zeroed header in a segment of SIZE bytes. */
static void header_init(struct mailbox_shared *sh, uint64_t size)
{
	uint64_t per = (size - SHMFS_MAILBOX_HEADER_SIZE) / MAILBOX_SLOTS;

	sh->version = MAILBOX_VERSION;
	sh->header_size = SHMFS_MAILBOX_HEADER_SIZE;
	sh->slots = MAILBOX_SLOTS;
	sh->capacity = (per & ~63ull) - SLOT_HEADER;
	atomic_store_explicit(&sh->magic, MAILBOX_MAGIC, memory_order_release);
}

static int header_check(const struct mailbox_shared *sh, uint64_t seg_size)
{
	if (atomic_load_explicit(&sh->magic, memory_order_acquire) != MAILBOX_MAGIC)
		return -EPROTO;
	if (sh->version != MAILBOX_VERSION)
		return -EPROTONOSUPPORT;
	if (sh->header_size != SHMFS_MAILBOX_HEADER_SIZE || sh->capacity % 64 || sh->slots < 2 ||
	    sh->slots > MAILBOX_SLOTS_MAX || sh->capacity > seg_size ||
	    mailbox_size(sh->capacity, sh->slots) > seg_size)
		return -EPROTO;
	return 0;
}

/* Map the segment and make sure it holds a mailbox, setting it up if it is
 * new and we may. Runs under the segment's flock(). */
static int mailbox_attach(struct shmfs_mailbox *mb, uint64_t want, bool may_init)
{
	int prot = (mb->seg->flags & SHMFS_RDONLY) ? PROT_READ : PROT_READ | PROT_WRITE;
	uint64_t size;
	int err;

	err = shmfs_segment_size(mb->seg, &size);
	if (err)
		return err;
	if (size == 0)
		return -EAGAIN;
	if (size < mailbox_size(64, MAILBOX_SLOTS) || size > SIZE_MAX)
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
		header_init(mb->sh, size);
	}
	err = header_check(mb->sh, size);
	if (err)
		return err;
	if (mb->sh->capacity < want)
		return -EFBIG;
	mb->capacity = (size_t)mb->sh->capacity;
	mb->slots = mb->sh->slots;
	return 0;
}

int shmfs_mailbox_open(const char *name, size_t capacity, int flags, struct shmfs_mailbox **mbp)
{
	bool may_init = capacity && !(flags & SHMFS_RDONLY);
	uint64_t size = 0;
	struct shmfs_mailbox *mb;
	int err;

	if (capacity) {
		if (capacity >
		    (SIZE_MAX - SHMFS_MAILBOX_HEADER_SIZE) / MAILBOX_SLOTS - SLOT_HEADER - 63)
			return -EFBIG;
		size = mailbox_size((capacity + 63) & ~(uint64_t)63, MAILBOX_SLOTS);
	}
	mb = calloc(1, sizeof(*mb));
	if (!mb)
		return -ENOMEM;
	err = shmfs_segment_open(name, (flags & SHMFS_RDONLY) ? 0 : size, flags, &mb->seg);
	if (err)
		goto out_free;
	err = shmfs_segment_lock(mb->seg, may_init ? SHMFS_LOCK_EXCLUSIVE : SHMFS_LOCK_SHARED,
				 false);
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

int shmfs_mailbox_publish(struct shmfs_mailbox *mb, const void *buf, size_t len, uint64_t *seqp)
{
	struct mailbox_shared *sh = mb->sh;
	struct mailbox_slot *slot;
	uint64_t n;

	if (mb->seg->flags & SHMFS_RDONLY)
		return -EBADF;
	if (len > mb->capacity)
		return -EMSGSIZE;
	n = atomic_load_explicit(&sh->latest, memory_order_relaxed) + 1;
	if (n == 0 || n > UINT64_MAX / 2)
		return -EBADMSG; /* no publisher counted this far */
	slot = slot_of(mb, n);
	atomic_store_explicit(&slot->seq, 2 * n - 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&slot->length, len, memory_order_relaxed);
	memcpy(slot->data, buf, len);
	atomic_store_explicit(&slot->seq, 2 * n, memory_order_release);
	atomic_store_explicit(&sh->cpu, shmfs_cpu_mark(), memory_order_relaxed);
	atomic_store_explicit(&sh->latest, n, memory_order_release);

	atomic_store_explicit(&sh->futex, (uint32_t)n, memory_order_seq_cst);
	shmfs_futex_wake(&sh->futex, INT_MAX);
	if (seqp)
		*seqp = n;
	return 0;
}

uint64_t shmfs_mailbox_seq(const struct shmfs_mailbox *mb)
{
	return atomic_load_explicit(&mb->sh->latest, memory_order_acquire);
}

/* A read that keeps failing: -EAGAIN once it has failed for too long. */
static int read_stalled(long long *since, unsigned int *tries)
{
	if (!*tries)
		*since = shmfs_now_ns();
	if (++*tries % 64 == 0 && shmfs_now_ns() - *since > MAILBOX_STALL_NS)
		return -EAGAIN;
	return 0;
}

/* Find the newest whole message: its number, slot and length. */
static int read_start(struct shmfs_mailbox *mb, uint64_t *np, struct mailbox_slot **slotp,
		      uint64_t *lenp)
{
	long long since = 0;
	unsigned int tries = 0;
	uint64_t n, s;
	int err;

	for (;;) {
		n = atomic_load_explicit(&mb->sh->latest, memory_order_acquire);
		if (n == 0)
			return -ENOMSG;
		if (n > UINT64_MAX / 2)
			return -EBADMSG;
		*slotp = slot_of(mb, n);
		s = atomic_load_explicit(&(*slotp)->seq, memory_order_acquire);
		if (s == 2 * n)
			break;
		/* LATEST is stored after its slot's counter: an older
		 * counter means someone broke the protocol. A newer one: the
		 * publisher came round to the slot again, look again. */
		if (s < 2 * n)
			return -EBADMSG;
		err = read_stalled(&since, &tries);
		if (err)
			return err;
	}
	*np = n;
	*lenp = atomic_load_explicit(&(*slotp)->length, memory_order_relaxed);
	return 0;
}

/* Did the counter of message N's SLOT stay as it was since read_start()? */
static bool read_unchanged(const struct mailbox_slot *slot, uint64_t n)
{
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&slot->seq, memory_order_relaxed) == 2 * n;
}

int shmfs_mailbox_read(struct shmfs_mailbox *mb, void *buf, size_t cap, size_t *lenp,
		       uint64_t *seqp)
{
	struct mailbox_slot *slot;
	long long since = 0;
	unsigned int tries = 0;
	uint64_t n, len;
	int err;

	for (;;) {
		err = read_start(mb, &n, &slot, &len);
		if (err)
			return err;
		/* The length is checked against our own copy of the
		 * capacity: a hostile one never makes us copy past the slot. */
		if (len <= cap && len <= mb->capacity)
			memcpy(buf, slot->data, (size_t)len);
		if (read_unchanged(slot, n))
			break;
		err = read_stalled(&since, &tries);
		if (err)
			return err;
	}
	if (len > mb->capacity)
		return -EBADMSG;
	if (lenp)
		*lenp = (size_t)len;
	if (seqp)
		*seqp = n;
	return len > cap ? -EMSGSIZE : 0;
}

int shmfs_mailbox_read_begin(struct shmfs_mailbox *mb, const void **datap, size_t *lenp,
			     struct shmfs_mailbox_token *tok)
{
	struct mailbox_slot *slot;
	long long since = 0;
	unsigned int tries = 0;
	uint64_t n, len;
	int err;

	for (;;) {
		err = read_start(mb, &n, &slot, &len);
		if (err)
			return err;
		if (len <= mb->capacity)
			break;
		/* A wrong length that stays is the protocol broken; one that
		 * changed was a publish going on. */
		if (read_unchanged(slot, n))
			return -EBADMSG;
		err = read_stalled(&since, &tries);
		if (err)
			return err;
	}
	*datap = slot->data;
	*lenp = (size_t)len;
	tok->counter = 2 * n;
	tok->seq = n;
	return 0;
}

int shmfs_mailbox_read_validate(struct shmfs_mailbox *mb, const struct shmfs_mailbox_token *tok)
{
	if (tok->seq == 0 || tok->seq > UINT64_MAX / 2 || tok->counter != 2 * tok->seq)
		return -ESTALE;
	return read_unchanged(slot_of(mb, tok->seq), tok->seq) ? 0 : -ESTALE;
}

int shmfs_mailbox_wait(struct shmfs_mailbox *mb, uint64_t last_seq, int timeout_ms)
{
	struct mailbox_shared *sh = mb->sh;
	long long deadline = shmfs_deadline(timeout_ms);
	uint32_t word;
	int err = 0;

	if (shmfs_mailbox_seq(mb) > last_seq)
		return 0;
	if (timeout_ms == 0)
		return -ETIMEDOUT;
	if (last_seq < UINT64_MAX &&
	    shmfs_spin_worth(atomic_load_explicit(&sh->cpu, memory_order_relaxed)) &&
	    shmfs_spin_until(&sh->latest, last_seq + 1, deadline))
		return 0;
	while (!err) {
		/* Load the word before the check: a publish after the check
		 * changes it, so FUTEX_WAIT then returns at once. */
		word = atomic_load_explicit(&sh->futex, memory_order_seq_cst);
		if (shmfs_mailbox_seq(mb) <= last_seq)
			err = shmfs_futex_wait(&sh->futex, word, deadline);
		if (shmfs_mailbox_seq(mb) > last_seq)
			return 0;
		if (shmfs_now_ns() >= deadline)
			return -ETIMEDOUT;
	}
	return err;
}
