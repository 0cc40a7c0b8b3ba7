// SPDX-License-Identifier: MIT
/*
 * The queue: a bounded ring of variable-size messages in one segment. Every
 * message is delivered once, in the order producers committed it; any
 * number of producers and consumers in any processes.
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
 * it. Within a side, one owner at a time: producers take the producer lock
 * for reserve..commit, consumers the consumer lock for read..release. With
 * one producer and one consumer each lock is uncontended (an atomic
 * exchange each way) and the two sides never write the same cache line.
 *
 * Those locks are no locks a dead process can keep. A lock word holds its
 * owner's thread id; a waiter that has waited a while checks that the
 * owner still lives (kill(tid, 0), and its start time against the one the
 * owner wrote, so a reused id is not mistaken for it) and takes the lock
 * over if not. The side's INFLIGHT word then says whether the dead owner
 * was in the middle of a message: a producer's uncommitted reservation lies
 * past TAIL and is simply dropped; a consumer's zero-copy read is skipped.
 * Either way the LOST counter grows, and each consumer's next receive says
 * so (-EOWNERDEAD) before it goes on. A message is never delivered torn.
 * A consumer killed during a copying receive loses nothing: HEAD had not
 * moved, so the next consumer receives that message whole.
 *
 * Blocking: a side that must wait (empty ring, full ring) says in its
 * WANT word which position of the other side it waits for, counts itself
 * in its WAITING word and sleeps on the other side's WAKE futex word (a
 * producer short of room waits for half the ring, so a full queue costs
 * one wake-up per half ring, not one per message); the other side, after it moves its position, issues a full fence, and wakes
 * only when somebody is counted. Store-then-fence-then-load on both sides
 * means that either the waiter sees the new position or the mover sees the
 * waiter (the classic store-buffering argument), so no wake-up is lost.
 *
 * Every shared word may be written by a hostile process with write access:
 * positions and lengths are checked against our own copy of the capacity
 * before any byte is touched, so nothing is read or written outside the
 * mappings, and no loop depends on a shared value to end. Nonsense gives
 * -EBADMSG. (A process that shrinks the segment file makes our mappings
 * fault, as for any shared mapping; that is outside what the queue checks.)
 * All processes using one queue must share a PID namespace.
 */
#include "segment.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_MAGIC 0x514d4853u	/* "SHMQ" in little-endian order */
#define QUEUE_VERSION 1
#define RECORD_HEADER 8
#define LOCK_WAITERS 0x80000000u
/* How long a lock waiter sleeps between checks that the owner lives. */
#define LOCK_CHECK_NS 50000000LL
/* The largest ring accepted from a header: a bound, not a limit of use. */
#define QUEUE_CAPACITY_MAX (1ull << 40)

/* One side of the queue, on a cache line of its own. */
struct queue_side {
	_Atomic uint64_t pos;		/* TAIL or HEAD; stored by the owner */
	_Atomic uint64_t inflight;	/* pos | 1 while a message is open */
	_Atomic uint32_t lock;		/* owner tid | LOCK_WAITERS; 0 free */
	_Atomic uint32_t owner_start;	/* owner's start time; 0 unknown */
	_Atomic uint32_t waiting;	/* this side's blocked processes */
	_Atomic uint32_t wake;		/* futex: bumped when pos moved */
	_Atomic uint64_t want;		/* a waiter waits for the other's
					 * pos to reach this */
	uint64_t reserved[3];
};

/* The shared header; its offsets are part of the format. */
struct queue_shared {
	_Atomic uint32_t magic;
	uint16_t version;
	uint16_t reserved0;
	uint32_t header_size;		/* bytes before the ring */
	uint32_t reserved1;
	uint64_t capacity;		/* bytes in the ring */
	_Atomic uint64_t lost;		/* messages dropped by dead owners */
	uint64_t reserved2[4];
	struct queue_side prod;		/* offset 64 */
	struct queue_side cons;		/* offset 128 */
};

_Static_assert(sizeof(struct queue_side) == 64, "queue side size");
_Static_assert(offsetof(struct queue_shared, prod) == 64, "prod offset");
_Static_assert(offsetof(struct queue_shared, cons) == 128, "cons offset");
_Static_assert(sizeof(struct queue_shared) <= SHMFS_QUEUE_HEADER_SIZE,
	       "queue header fits its page");

struct shmfs_queue {
	struct shmfs_segment *seg;
	struct queue_shared *sh;
	unsigned char *ring;	/* the ring, then the ring again */
	void *map;
	size_t map_len;
	uint64_t capacity;	/* our own copy: the shared one is not trusted */
	_Atomic uint64_t lost_seen;
	/* The open reservation or zero-copy read; only the lock owner
	 * touches these. */
	uint64_t open_pos, open_len;
};

/* ------------------------------------------------------------- helpers */

static long futex(_Atomic uint32_t *word, int op, uint32_t val,
		  const struct timespec *abs_timeout)
{
	return syscall(SYS_futex, word, op, val, abs_timeout, NULL,
		       FUTEX_BITSET_MATCH_ANY);
}

/* A deadline TIMEOUT_MS from now in ns; LLONG_MAX for no limit (< 0). */
static long long deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? LLONG_MAX : shmfs_now_ns() + timeout_ms * 1000000LL;
}

static struct timespec ts_of(long long ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000LL),
			       (long)(ns % 1000000000LL) };

	return ts;
}

/* Sleep on WORD while it holds VAL, until DEADLINE (ns) at the latest. */
static int futex_sleep(_Atomic uint32_t *word, uint32_t val, long long deadline)
{
	struct timespec ts = ts_of(deadline);

	if (futex(word, FUTEX_WAIT_BITSET, val,
		  deadline == LLONG_MAX ? NULL : &ts) == 0)
		return 0;
	if (errno == EAGAIN || errno == ETIMEDOUT)
		return 0;	/* the caller checks again */
	return -errno;
}

static uint64_t record_size(uint64_t len)
{
	return RECORD_HEADER + ((len + 7) & ~7ull);
}

/* ------------------------------------------------------------- owners */

/* This thread's id and start time, cached; a forked child starts afresh. */
struct owner {
	uint32_t tid;
	uint32_t start;
};

static __thread struct owner self;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forget_self(void)
{
	self.tid = 0;
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, forget_self);
}

/* The low 32 bits of thread TID's start time (never 0), or 0 if unknown. */
static uint32_t thread_start(uint32_t tid)
{
	char path[64], buf[1024], *p;
	unsigned long long start;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* Field 22; the command name (field 2) may hold anything but ends
	 * at the last ')'. */
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return 0;
	return (uint32_t)start ? (uint32_t)start : 1;
}

static const struct owner *me(void)
{
	if (!self.tid) {
		pthread_once(&atfork_once, register_atfork);
		self.tid = (uint32_t)gettid();
		self.start = thread_start(self.tid);
	}
	return &self;
}

/* Is the owner TID with start time START (0: not known) surely gone? */
static bool owner_dead(uint32_t tid, uint32_t start)
{
	uint32_t now;

	if (tid > 4194304)		/* above PID_MAX_LIMIT: no thread */
		return true;
	if (kill((pid_t)tid, 0) < 0 && errno == ESRCH)
		return true;
	if (!start)
		return false;
	now = thread_start(tid);
	return now && now != start;
}

/*
 * Take SIDE's lock for this thread by DEADLINE. *recovered tells whether it
 * was taken over from a dead owner. Returns 0, -ETIMEDOUT, -EDEADLK (this
 * thread holds it), or -EINTR.
 */
static int side_lock(struct queue_side *side, long long deadline,
		     bool *recovered)
{
	const struct owner *o = me();
	uint32_t want = o->tid, cur, tid;
	long long next_check = 0, now;
	int err;

	*recovered = false;
	for (unsigned int spin = 0;; spin++) {
		cur = 0;
		if (atomic_compare_exchange_strong(&side->lock, &cur, want))
			break;
		tid = cur & ~LOCK_WAITERS;
		if (!tid) {	/* a stray waiters bit: it is free */
			if (atomic_compare_exchange_strong(&side->lock, &cur,
							   want | LOCK_WAITERS))
				break;
			continue;
		}
		if (tid == o->tid)
			return -EDEADLK;
		if (spin < 64) {
			sched_yield();
			continue;
		}
		now = shmfs_now_ns();
		if (now >= next_check) {
			if (owner_dead(tid, atomic_load(&side->owner_start)) &&
			    atomic_compare_exchange_strong(&side->lock, &cur,
					want | (cur & LOCK_WAITERS))) {
				*recovered = true;
				break;
			}
			next_check = now + LOCK_CHECK_NS;
		}
		if (now >= deadline)
			return -ETIMEDOUT;
		if (!(cur & LOCK_WAITERS) &&
		    !atomic_compare_exchange_strong(&side->lock, &cur,
						    cur | LOCK_WAITERS))
			continue;
		/* Others may sleep too: whoever gets it next wakes one. */
		want = o->tid | LOCK_WAITERS;
		err = futex_sleep(&side->lock, cur | LOCK_WAITERS,
				  next_check < deadline ? next_check : deadline);
		if (err)
			return err;
	}
	atomic_store(&side->owner_start, o->start);
	return 0;
}

static void side_unlock(struct queue_side *side)
{
	atomic_store(&side->owner_start, 0);
	if (atomic_exchange(&side->lock, 0) & LOCK_WAITERS)
		futex(&side->lock, FUTEX_WAKE, 1, NULL);
}

/* --------------------------------------------------------------- ring */

/* HEAD and TAIL as they are now, checked. Returns 0 or -EBADMSG. */
static int ring_positions(const struct shmfs_queue *q, uint64_t *headp,
			  uint64_t *tailp)
{
	uint64_t head = atomic_load_explicit(&q->sh->cons.pos,
					     memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&q->sh->prod.pos,
					     memory_order_acquire);

	if ((head | tail) & 7 || tail - head > q->capacity)
		return -EBADMSG;
	*headp = head;
	*tailp = tail;
	return 0;
}

static unsigned char *ring_at(const struct shmfs_queue *q, uint64_t pos)
{
	return q->ring + pos % q->capacity;
}

/* The length of the message at HEAD, checked against the bytes in use. */
static int record_length(const struct shmfs_queue *q, uint64_t head,
			 uint64_t tail, uint64_t *lenp)
{
	_Atomic uint32_t *hdr = (_Atomic uint32_t *)(void *)ring_at(q, head);
	uint64_t len = atomic_load_explicit(hdr, memory_order_relaxed);

	if (record_size(len) > tail - head)
		return -EBADMSG;
	*lenp = len;
	return 0;
}

/* After MINE's position moved: wake the other side if it waits for it. */
static void wake_other(struct queue_side *mine, struct queue_side *other)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&other->waiting, memory_order_relaxed) &&
	    atomic_load_explicit(&mine->pos, memory_order_relaxed) >=
	    atomic_load_explicit(&other->want, memory_order_relaxed)) {
		atomic_fetch_add(&mine->wake, 1);
		futex(&mine->wake, FUTEX_WAKE, INT_MAX, NULL);
	}
}

/*
 * Block until OTHER's position reaches WANT, or DEADLINE. Counted in
 * MINE's waiting word, so OTHER knows to wake us. Only the holder of
 * MINE's lock waits here, so one WANT word per side is enough.
 */
static int wait_other(struct queue_side *mine, struct queue_side *other,
		      uint64_t want, long long deadline)
{
	uint32_t word;
	int err = 0;

	atomic_store(&mine->want, want);
	atomic_fetch_add(&mine->waiting, 1);
	word = atomic_load(&other->wake);
	if (atomic_load(&other->pos) < want)
		err = futex_sleep(&other->wake, word, deadline);
	atomic_fetch_sub(&mine->waiting, 1);
	return err;
}

/* ---------------------------------------------------------- lifecycle */

static void header_init(struct queue_shared *sh, uint64_t capacity,
			uint32_t header_size)
{
	sh->version = QUEUE_VERSION;
	sh->header_size = header_size;
	sh->capacity = capacity;
	atomic_store_explicit(&sh->magic, QUEUE_MAGIC, memory_order_release);
}

static int header_check(const struct queue_shared *sh, uint64_t seg_size,
			uint64_t page)
{
	if (atomic_load_explicit(&sh->magic, memory_order_acquire) !=
	    QUEUE_MAGIC)
		return -EPROTO;
	if (sh->version != QUEUE_VERSION)
		return -EPROTONOSUPPORT;
	if (sh->header_size < sizeof(*sh) || sh->header_size % page ||
	    sh->header_size > seg_size || !sh->capacity ||
	    sh->capacity % page || sh->capacity > QUEUE_CAPACITY_MAX ||
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
	base = mmap(NULL, q->map_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	q->map = base;
	if (mmap(base, (size_t)header_size + ring, prot, MAP_SHARED | MAP_FIXED,
		 fd, 0) == MAP_FAILED ||
	    mmap(base + header_size + ring, ring, prot, MAP_SHARED | MAP_FIXED,
		 fd, (off_t)header_size) == MAP_FAILED)
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
	int prot = (q->seg->flags & SHMFS_RDONLY) ?
		PROT_READ : PROT_READ | PROT_WRITE;
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
			header_init(sh, (size - page) / page * page,
				    (uint32_t)page);
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

int shmfs_queue_open(const char *name, size_t capacity, int flags,
		     struct shmfs_queue **qp)
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
	err = shmfs_segment_open(name, (flags & SHMFS_RDONLY) ? 0 : size, flags,
				 &q->seg);
	if (err)
		goto out_free;
	err = shmfs_segment_lock(q->seg, may_init ? SHMFS_LOCK_EXCLUSIVE :
				 SHMFS_LOCK_SHARED, false);
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
static int producer_lock(struct shmfs_queue *q, long long deadline,
			 bool nowait)
{
	struct queue_side *p = &q->sh->prod;
	bool recovered;
	int err;

	err = side_lock(p, deadline, &recovered);
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
 * The HEAD a producer short of room waits for: room for NEED bytes, and
 * half the ring free, so that a full queue wakes its producer once per
 * half ring rather than once per message.
 */
static uint64_t space_wanted(const struct shmfs_queue *q, uint64_t head,
			     uint64_t tail, uint64_t need)
{
	uint64_t want = tail + need - q->capacity, half = head + q->capacity / 2;

	if (want < half)
		want = half;
	return want < tail ? want : tail;
}

int shmfs_queue_reserve(struct shmfs_queue *q, size_t len, void **bufp,
			int timeout_ms)
{
	long long deadline = deadline_of(timeout_ms);
	uint64_t head, tail, need = record_size(len);
	int err;

	if (q->seg->flags & SHMFS_RDONLY)
		return -EBADF;
	if (len > q->capacity - RECORD_HEADER)
		return -EMSGSIZE;
	err = producer_lock(q, deadline, timeout_ms == 0);
	if (err)
		return err;
	for (;;) {
		err = ring_positions(q, &head, &tail);
		if (err)
			goto out_unlock;
		if (q->capacity - (tail - head) >= need)
			break;
		err = timeout_ms == 0 ? -EAGAIN : shmfs_now_ns() >= deadline ?
			-ETIMEDOUT : 0;
		if (!err)
			err = wait_other(&q->sh->prod, &q->sh->cons,
					 space_wanted(q, head, tail, need),
					 deadline);
		if (err)
			goto out_unlock;
	}
	atomic_store(&q->sh->prod.inflight, tail | 1);
	q->open_pos = tail;
	q->open_len = len;
	*bufp = ring_at(q, tail) + RECORD_HEADER;
	return 0;

out_unlock:
	side_unlock(&q->sh->prod);
	return err;
}

/* The calling thread holds SIDE's lock. */
static bool lock_mine(struct queue_side *side)
{
	return (atomic_load(&side->lock) & ~LOCK_WAITERS) == me()->tid;
}

int shmfs_queue_commit(struct shmfs_queue *q, size_t len)
{
	struct queue_side *p = &q->sh->prod;
	_Atomic uint32_t *hdr;

	if (!lock_mine(p) || atomic_load(&p->inflight) != (q->open_pos | 1))
		return -EINVAL;
	if (len > q->open_len)
		return -EMSGSIZE;
	hdr = (_Atomic uint32_t *)(void *)ring_at(q, q->open_pos);
	atomic_store_explicit(hdr, (uint32_t)len, memory_order_relaxed);
	atomic_store_explicit(&p->pos, q->open_pos + record_size(len),
			      memory_order_release);
	atomic_store(&p->inflight, 0);
	wake_other(p, &q->sh->cons);
	side_unlock(p);
	return 0;
}

int shmfs_queue_cancel(struct shmfs_queue *q)
{
	struct queue_side *p = &q->sh->prod;

	if (!lock_mine(p) || atomic_load(&p->inflight) != (q->open_pos | 1))
		return -EINVAL;
	atomic_store(&p->inflight, 0);
	side_unlock(p);
	return 0;
}

int shmfs_queue_send(struct shmfs_queue *q, const void *buf, size_t len,
		     int timeout_ms)
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
static int consumer_lock(struct shmfs_queue *q, long long deadline,
			 bool nowait)
{
	struct queue_side *c = &q->sh->cons;
	uint64_t head, tail, len;
	bool recovered;
	int err;

	err = side_lock(c, deadline, &recovered);
	if (err == -ETIMEDOUT && nowait)
		err = -EAGAIN;
	if (err || !recovered)
		return err;
	/* INFLIGHT is HEAD | 1 from read to release; release moves HEAD
	 * first. A match: the dead consumer had the message in hand. */
	if (atomic_load(&c->inflight) == (atomic_load(&c->pos) | 1)) {
		err = ring_positions(q, &head, &tail);
		if (!err && head != tail)
			err = record_length(q, head, tail, &len);
		if (err) {
			side_unlock(c);
			return err;
		}
		if (head != tail)
			atomic_store_explicit(&c->pos, head + record_size(len),
					      memory_order_release);
		atomic_fetch_add(&q->sh->lost, 1);
		wake_other(c, &q->sh->prod);
	}
	atomic_store(&c->inflight, 0);
	return 0;
}

/*
 * Lock the consumer side and find the oldest message: its position and
 * length. Reports losses first (-EOWNERDEAD, unlocked). On success the
 * lock is held.
 */
static int consumer_next(struct shmfs_queue *q, int timeout_ms,
			 uint64_t *posp, uint64_t *lenp)
{
	long long deadline = deadline_of(timeout_ms);
	uint64_t head, tail, lost;
	int err;

	if (q->seg->flags & SHMFS_RDONLY)
		return -EBADF;
	err = consumer_lock(q, deadline, timeout_ms == 0);
	if (err)
		return err;
	for (;;) {
		err = ring_positions(q, &head, &tail);
		if (err)
			break;
		lost = atomic_load(&q->sh->lost);
		if (lost != atomic_exchange(&q->lost_seen, lost)) {
			err = -EOWNERDEAD;
			break;
		}
		if (head != tail) {
			err = record_length(q, head, tail, lenp);
			if (err)
				break;
			*posp = head;
			return 0;
		}
		err = timeout_ms == 0 ? -EAGAIN : shmfs_now_ns() >= deadline ?
			-ETIMEDOUT : 0;
		if (!err)
			err = wait_other(&q->sh->cons, &q->sh->prod,
					 tail + RECORD_HEADER, deadline);
		if (err)
			break;
	}
	side_unlock(&q->sh->cons);
	return err;
}

/* Consume the message at POS of length LEN and unlock. */
static void consumer_advance(struct shmfs_queue *q, uint64_t pos, uint64_t len)
{
	struct queue_side *c = &q->sh->cons;

	atomic_store_explicit(&c->pos, pos + record_size(len),
			      memory_order_release);
	atomic_store(&c->inflight, 0);
	wake_other(c, &q->sh->prod);
	side_unlock(c);
}

int shmfs_queue_recv(struct shmfs_queue *q, void *buf, size_t cap,
		     size_t *lenp, int timeout_ms)
{
	uint64_t pos, len;
	int err;

	err = consumer_next(q, timeout_ms, &pos, &len);
	if (err)
		return err;
	if (lenp)
		*lenp = (size_t)len;
	if (len > cap) {
		side_unlock(&q->sh->cons);
		return -EMSGSIZE;
	}
	memcpy(buf, ring_at(q, pos) + RECORD_HEADER, (size_t)len);
	consumer_advance(q, pos, len);
	return 0;
}

int shmfs_queue_read(struct shmfs_queue *q, const void **datap, size_t *lenp,
		     int timeout_ms)
{
	uint64_t pos, len;
	int err;

	err = consumer_next(q, timeout_ms, &pos, &len);
	if (err)
		return err;
	atomic_store(&q->sh->cons.inflight, pos | 1);
	q->open_pos = pos;
	q->open_len = len;
	*datap = ring_at(q, pos) + RECORD_HEADER;
	*lenp = (size_t)len;
	return 0;
}

int shmfs_queue_release(struct shmfs_queue *q)
{
	struct queue_side *c = &q->sh->cons;

	if (!lock_mine(c) || atomic_load(&c->inflight) != (q->open_pos | 1))
		return -EINVAL;
	consumer_advance(q, q->open_pos, q->open_len);
	return 0;
}
