// SPDX-License-Identifier: MIT
/*
 * The queue: a bounded ring of variable-size messages in one segment. Every
 * message is delivered once, in the order producers committed it; any
 * number of producers and consumers in any processes. This file owns the
 * ring; queue_lock.c the side locks and the waits between the sides.
 *
 * Layout: a header of one page (SHMFS_QUEUE_HEADER_SIZE on 4 KiB pages),
 * then the ring, a whole number of pages. The ring is mapped twice, back to
 * back, so that a message that runs past its end continues in the second
 * mapping: every message is contiguous in memory, which is what lets a
 * producer write one in place (reserve/commit) and a consumer read it in
 * place (read/release). A message is an 8-byte record header (its length)
 * and its bytes, padded to 8.
 *
 * Two byte positions that only grow say where things are: TAIL, the end of
 * the last committed message, and HEAD, the start of the oldest one not yet
 * consumed; each is stored only by its side and loaded with acquire by the
 * other, so a consumer that sees TAIL sees the bytes before it, and a
 * producer that sees HEAD knows the consumer is done with the bytes before
 * it. Each side keeps the other's position as it last loaded it and loads
 * it again only when that one does not suffice (positions only grow, so an
 * old value is a safe under-estimate): a producer with room left, or a
 * consumer with messages left, does not touch the line the other side
 * writes.
 *
 * Dead owners (queue_lock.c takes their locks over): the side's INFLIGHT
 * word says whether the dead owner was in the middle of a message. A
 * producer's uncommitted reservation lies past TAIL and is simply dropped;
 * a consumer's zero-copy read is skipped. Either way the LOST counter
 * grows, and each consumer's next receive says so (-EOWNERDEAD) before it
 * goes on. A message is never delivered torn. A consumer killed during a
 * copying receive loses nothing: HEAD had not moved, so the next consumer
 * receives that message whole.
 *
 * A producer short of room waits for half the ring to be free once it has
 * to sleep, so a full queue costs one wake-up per half ring, not one per
 * message; a consumer waits for any message.
 *
 * Every shared word may be written by a hostile process with write access:
 * positions and lengths are checked against our own copy of the capacity
 * before any byte is touched, so nothing is read or written outside the
 * mappings, and no loop depends on a shared value to end. Nonsense gives
 * -EBADMSG. (A process that shrinks the segment file makes our mappings
 * fault, as for any shared mapping; that is outside what the queue checks.)
 */
#include "queue.h"
#include "wait.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define QUEUE_MAGIC SHMFS_QUEUE_MAGIC
#define QUEUE_VERSION SHMFS_QUEUE_VERSION
#define RECORD_HEADER 8
/* The largest ring accepted from a header: a bound, not a limit of use. */
#define QUEUE_CAPACITY_MAX (1ull << 40)

static uint64_t record_size(uint64_t len)
{
	return RECORD_HEADER + ((len + 7) & ~7ull);
}

static unsigned char *ring_at(const struct shmfs_queue *q, uint64_t pos)
{
	return q->ring + pos % q->capacity;
}

/* Are HEAD and TAIL positions of a ring of our capacity? */
static bool positions_ok(const struct shmfs_queue *q, uint64_t head, uint64_t tail)
{
	return !((head | tail) & 7) && tail - head <= q->capacity;
}

/* The length of the message at HEAD, checked against the bytes in use. */
static int record_length(const struct shmfs_queue *q, uint64_t head, uint64_t tail, uint64_t *lenp)
{
	_Atomic uint32_t *hdr = (_Atomic uint32_t *)(void *)ring_at(q, head);
	uint64_t len = atomic_load_explicit(hdr, memory_order_relaxed);

	if (record_size(len) > tail - head)
		return -EBADMSG;
	*lenp = len;
	return 0;
}

/* ---------------------------------------------------------- lifecycle */

static void header_init(struct queue_shared *sh, uint64_t capacity, uint32_t header_size)
{
	sh->version = QUEUE_VERSION;
	sh->header_size = header_size;
	sh->capacity = capacity;
	atomic_store_explicit(&sh->magic, QUEUE_MAGIC, memory_order_release);
}

static int header_check(const struct queue_shared *sh, uint64_t seg_size, uint64_t page)
{
	if (atomic_load_explicit(&sh->magic, memory_order_acquire) != QUEUE_MAGIC)
		return -EPROTO;
	if (sh->version != QUEUE_VERSION)
		return -EPROTONOSUPPORT;
	if (sh->header_size < sizeof(*sh) || sh->header_size % page || sh->header_size > seg_size ||
	    !sh->capacity || sh->capacity % page || sh->capacity > QUEUE_CAPACITY_MAX ||
	    sh->capacity > seg_size - sh->header_size)
		return -EPROTO;
	return 0;
}

/* Map the header and the ring twice over, the second copy right after the
 * first. */
static int queue_map(struct shmfs_queue *q, uint64_t header_size, int prot)
{
	size_t ring = (size_t)q->capacity;
	unsigned char *base;
	int fd = q->seg->fd;

	q->map_len = (size_t)header_size + 2 * ring;
	base = mmap(NULL, q->map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	q->map = base;
	if (mmap(base, (size_t)header_size + ring, prot, MAP_SHARED | MAP_FIXED, fd, 0) ==
		    MAP_FAILED ||
	    mmap(base + header_size + ring, ring, prot, MAP_SHARED | MAP_FIXED, fd,
		 (off_t)header_size) == MAP_FAILED)
		return -errno;
	q->sh = (struct queue_shared *)(void *)base;
	q->ring = base + header_size;
	return 0;
}

/* Make sure the segment holds a queue, setting it up if it is new and we
 * may, then map it. Runs under the segment's flock(). */
static int queue_attach(struct shmfs_queue *q, uint64_t want, bool may_init)
{
	uint64_t size, page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct queue_shared *sh;
	int prot = (q->seg->flags & SHMFS_RDONLY) ? PROT_READ : PROT_READ | PROT_WRITE;
	int err;

	err = shmfs_segment_size(q->seg, &size);
	if (err)
		return err;
	if (size == 0)
		return -EAGAIN;
	if (size < 2 * page || size > SIZE_MAX / 4)
		return -EPROTO;
	sh = mmap(NULL, (size_t)page, prot, MAP_SHARED, q->seg->fd, 0);
	if (sh == MAP_FAILED)
		return -errno;
	if (atomic_load_explicit(&sh->magic, memory_order_acquire) == 0) {
		if (!may_init)
			err = -EAGAIN;
		else
			header_init(sh, (size - page) / page * page, (uint32_t)page);
	}
	if (!err)
		err = header_check(sh, size, page);
	if (!err && sh->capacity < want)
		err = -EFBIG;
	if (!err) {
		q->capacity = sh->capacity;
		err = queue_map(q, sh->header_size, prot);
	}
	munmap(sh, (size_t)page);
	if (!err)
		atomic_store(&q->lost_seen, atomic_load(&q->sh->lost));
	return err;
}

int shmfs_queue_open(const char *name, size_t capacity, int flags, struct shmfs_queue **qp)
{
	bool may_init = capacity && !(flags & SHMFS_RDONLY);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), size = 0;
	struct shmfs_queue *q;
	int err;

	if (capacity) {
		if (capacity > QUEUE_CAPACITY_MAX)
			return -EFBIG;
		capacity = (size_t)((capacity + page - 1) / page * page);
		size = page + capacity;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	err = shmfs_segment_open(name, (flags & SHMFS_RDONLY) ? 0 : size, flags, &q->seg);
	if (err)
		goto out_free;
	err = shmfs_segment_lock(q->seg, may_init ? SHMFS_LOCK_EXCLUSIVE : SHMFS_LOCK_SHARED,
				 false);
	if (err)
		goto out_close;
	err = queue_attach(q, capacity, may_init);
	shmfs_segment_unlock(q->seg);
	if (err)
		goto out_close;
	*qp = q;
	return 0;

out_close:
	if (q->map)
		munmap(q->map, q->map_len);
	shmfs_segment_close(q->seg);
out_free:
	free(q);
	return err;
}

void shmfs_queue_close(struct shmfs_queue *q)
{
	if (!q)
		return;
	munmap(q->map, q->map_len);
	shmfs_segment_close(q->seg);
	free(q);
}

size_t shmfs_queue_capacity(const struct shmfs_queue *q)
{
	return (size_t)q->capacity;
}

size_t shmfs_queue_max_message(const struct shmfs_queue *q)
{
	return (size_t)q->capacity - RECORD_HEADER;
}

struct shmfs_segment *shmfs_queue_segment(const struct shmfs_queue *q)
{
	return q->seg;
}

uint64_t shmfs_queue_lost(const struct shmfs_queue *q)
{
	return atomic_load(&q->sh->lost);
}

/* ----------------------------------------------------------- producers */

/* Lock the producer side, dropping what a dead producer left open. */
static int producer_lock(struct shmfs_queue *q, long long deadline, bool nowait)
{
	struct queue_side *p = &q->sh->prod;
	bool recovered;
	int err;

	err = shmfs_queue_side_lock(p, deadline, &recovered);
	if (err == -ETIMEDOUT && nowait)
		err = -EAGAIN;
	if (err || !recovered)
		return err;
	/* INFLIGHT is TAIL | 1 from reserve to commit; commit moves TAIL
	 * first, so a match means the reservation never became a message. */
	if (atomic_load(&p->inflight) == (atomic_load(&p->pos) | 1))
		atomic_fetch_add(&q->sh->lost, 1);
	atomic_store(&p->inflight, 0);
	return 0;
}

/*
 * The HEAD a producer short of room sleeps for: room for NEED bytes, and
 * half the ring free, so that a full queue wakes its producer once per
 * half ring rather than once per message.
 */
static uint64_t space_wanted(const struct shmfs_queue *q, uint64_t head, uint64_t tail,
			     uint64_t need)
{
	uint64_t want = tail + need - q->capacity, half = head + q->capacity / 2;

	if (want < half)
		want = half;
	return want < tail ? want : tail;
}

/*
 * Wait until the ring is ready for one side: for a producer, NEED bytes
 * free; for a consumer (NEED 0), a message. The other side's position is
 * loaded only when the one remembered does not do. The caller holds the
 * side's lock. Returns 0 with HEAD and TAIL, or a negative errno.
 */
static int ring_ready(struct shmfs_queue *q, uint64_t need, int timeout_ms, long long deadline,
		      uint64_t *headp, uint64_t *tailp)
{
	bool producer = need, fresh = false;
	struct queue_side *mine = producer ? &q->sh->prod : &q->sh->cons;
	struct queue_side *other = producer ? &q->sh->cons : &q->sh->prod;
	struct queue_hand *hand = producer ? &q->prod : &q->cons;
	uint64_t own, head, tail;
	int err;

	for (;;) {
		own = atomic_load_explicit(&mine->pos, memory_order_relaxed);
		head = producer ? hand->seen : own;
		tail = producer ? own : hand->seen;
		if (positions_ok(q, head, tail) &&
		    (producer ? q->capacity - (tail - head) >= need : head != tail))
			break;
		if (!fresh) { /* what we knew of the other side does not do */
			hand->seen = atomic_load_explicit(&other->pos, memory_order_acquire);
			fresh = true;
			continue;
		}
		if (!positions_ok(q, head, tail))
			return -EBADMSG;
		err = timeout_ms == 0 ? -EAGAIN : shmfs_now_ns() >= deadline ? -ETIMEDOUT : 0;
		if (!err && producer)
			err = shmfs_queue_wait(mine, other, tail + need - q->capacity,
					       space_wanted(q, head, tail, need), deadline);
		else if (!err)
			err = shmfs_queue_wait(mine, other, tail + RECORD_HEADER,
					       tail + RECORD_HEADER, deadline);
		if (err)
			return err;
		fresh = false;
	}
	*headp = head;
	*tailp = tail;
	return 0;
}

int shmfs_queue_reserve(struct shmfs_queue *q, size_t len, void **bufp, int timeout_ms)
{
	long long deadline = shmfs_deadline(timeout_ms);
	uint64_t head, tail;
	int err;

	if (q->seg->flags & SHMFS_RDONLY)
		return -EBADF;
	if (len > q->capacity - RECORD_HEADER)
		return -EMSGSIZE;
	err = producer_lock(q, deadline, timeout_ms == 0);
	if (err)
		return err;
	err = ring_ready(q, record_size(len), timeout_ms, deadline, &head, &tail);
	if (err) {
		shmfs_queue_side_unlock(&q->sh->prod);
		return err;
	}
	atomic_store_explicit(&q->sh->prod.inflight, tail | 1, memory_order_relaxed);
	q->prod.open_pos = tail;
	q->prod.open_len = len;
	*bufp = ring_at(q, tail) + RECORD_HEADER;
	return 0;
}

/* Is there an open reservation (or zero-copy read) of this thread on
 * SIDE, the one H describes? */
static bool open_mine(struct queue_side *side, const struct queue_hand *h)
{
	return shmfs_queue_side_mine(side) &&
	       atomic_load_explicit(&side->inflight, memory_order_relaxed) == (h->open_pos | 1);
}

int shmfs_queue_commit(struct shmfs_queue *q, size_t len)
{
	struct queue_side *p = &q->sh->prod;
	_Atomic uint32_t *hdr;

	if (!open_mine(p, &q->prod))
		return -EINVAL;
	if (len > q->prod.open_len)
		return -EMSGSIZE;
	hdr = (_Atomic uint32_t *)(void *)ring_at(q, q->prod.open_pos);
	atomic_store_explicit(hdr, (uint32_t)len, memory_order_relaxed);
	atomic_store_explicit(&p->pos, q->prod.open_pos + record_size(len), memory_order_release);
	atomic_store_explicit(&p->inflight, 0, memory_order_relaxed);
	shmfs_queue_wake(p, &q->sh->cons);
	shmfs_queue_side_unlock(p);
	return 0;
}

int shmfs_queue_cancel(struct shmfs_queue *q)
{
	struct queue_side *p = &q->sh->prod;

	if (!open_mine(p, &q->prod))
		return -EINVAL;
	atomic_store(&p->inflight, 0);
	shmfs_queue_side_unlock(p);
	return 0;
}

int shmfs_queue_send(struct shmfs_queue *q, const void *buf, size_t len, int timeout_ms)
{
	void *slot;
	int err = shmfs_queue_reserve(q, len, &slot, timeout_ms);

	if (err)
		return err;
	memcpy(slot, buf, len);
	return shmfs_queue_commit(q, len);
}

/* ----------------------------------------------------------- consumers */

/* Lock the consumer side; skip a message a dead consumer was reading. */
static int consumer_lock(struct shmfs_queue *q, long long deadline, bool nowait)
{
	struct queue_side *c = &q->sh->cons;
	uint64_t head, tail, len = 0;
	bool recovered;
	int err;

	err = shmfs_queue_side_lock(c, deadline, &recovered);
	if (err == -ETIMEDOUT && nowait)
		err = -EAGAIN;
	if (err || !recovered)
		return err;
	/* INFLIGHT is HEAD | 1 from read to release; release moves HEAD
	 * first. A match: the dead consumer had the message in hand. */
	if (atomic_load(&c->inflight) == (atomic_load(&c->pos) | 1)) {
		head = atomic_load_explicit(&c->pos, memory_order_relaxed);
		tail = atomic_load_explicit(&q->sh->prod.pos, memory_order_acquire);
		err = positions_ok(q, head, tail) ? 0 : -EBADMSG;
		if (!err && head != tail)
			err = record_length(q, head, tail, &len);
		if (err) {
			shmfs_queue_side_unlock(c);
			return err;
		}
		if (head != tail)
			atomic_store_explicit(&c->pos, head + record_size(len),
					      memory_order_release);
		atomic_fetch_add(&q->sh->lost, 1);
		shmfs_queue_wake(c, &q->sh->prod);
	}
	atomic_store(&c->inflight, 0);
	return 0;
}

/* Has a dead process lost messages since this object last said so? */
static bool consumer_losses(struct shmfs_queue *q)
{
	uint64_t lost = atomic_load_explicit(&q->sh->lost, memory_order_relaxed);

	/* Only the consumer lock's holder gets here: no race on lost_seen. */
	if (lost == atomic_load_explicit(&q->lost_seen, memory_order_relaxed))
		return false;
	atomic_store_explicit(&q->lost_seen, lost, memory_order_relaxed);
	return true;
}

/*
 * Lock the consumer side and find the oldest message: its position and
 * length. Reports losses first (-EOWNERDEAD, unlocked). On success the
 * lock is held.
 */
static int consumer_next(struct shmfs_queue *q, int timeout_ms, uint64_t *posp, uint64_t *lenp)
{
	long long deadline = shmfs_deadline(timeout_ms);
	uint64_t tail;
	int err;

	if (q->seg->flags & SHMFS_RDONLY)
		return -EBADF;
	err = consumer_lock(q, deadline, timeout_ms == 0);
	if (err)
		return err;
	err = consumer_losses(q) ? -EOWNERDEAD
				 : ring_ready(q, 0, timeout_ms, deadline, posp, &tail);
	if (!err)
		err = record_length(q, *posp, tail, lenp);
	if (err)
		shmfs_queue_side_unlock(&q->sh->cons);
	return err;
}

/* Consume the message at POS of length LEN and unlock. */
static void consumer_advance(struct shmfs_queue *q, uint64_t pos, uint64_t len)
{
	struct queue_side *c = &q->sh->cons;

	atomic_store_explicit(&c->pos, pos + record_size(len), memory_order_release);
	atomic_store_explicit(&c->inflight, 0, memory_order_relaxed);
	shmfs_queue_wake(c, &q->sh->prod);
	shmfs_queue_side_unlock(c);
}

int shmfs_queue_recv(struct shmfs_queue *q, void *buf, size_t cap, size_t *lenp, int timeout_ms)
{
	uint64_t pos, len;
	int err;

	err = consumer_next(q, timeout_ms, &pos, &len);
	if (err)
		return err;
	if (lenp)
		*lenp = (size_t)len;
	if (len > cap) {
		shmfs_queue_side_unlock(&q->sh->cons);
		return -EMSGSIZE;
	}
	memcpy(buf, ring_at(q, pos) + RECORD_HEADER, (size_t)len);
	consumer_advance(q, pos, len);
	return 0;
}

int shmfs_queue_read(struct shmfs_queue *q, const void **datap, size_t *lenp, int timeout_ms)
{
	uint64_t pos, len;
	int err;

	err = consumer_next(q, timeout_ms, &pos, &len);
	if (err)
		return err;
	atomic_store_explicit(&q->sh->cons.inflight, pos | 1, memory_order_relaxed);
	q->cons.open_pos = pos;
	q->cons.open_len = len;
	*datap = ring_at(q, pos) + RECORD_HEADER;
	*lenp = (size_t)len;
	return 0;
}

int shmfs_queue_release(struct shmfs_queue *q)
{
	if (!open_mine(&q->sh->cons, &q->cons))
		return -EINVAL;
	consumer_advance(q, q->cons.open_pos, q->cons.open_len);
	return 0;
}
