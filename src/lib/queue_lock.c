// SPDX-License-Identifier: MIT
/*
 * The queue's two sides between processes: the side locks, which no dead
 * process can keep, and the waits of one side for the other.
 *
 * Side locks. Within a side, one owner at a time: producers hold the
 * producer lock from reserve to commit, consumers the consumer lock from
 * read to release. A lock word holds its owner's thread id; a waiter that
 * has waited a while checks that the owner still lives (kill(tid, 0), and
 * its start time against the one the owner wrote, so a reused id is not
 * mistaken for it) and takes the lock over if not. What the dead owner
 * left half done is queue.c's to repair. With one producer and one
 * consumer each lock is uncontended: an atomic exchange each way.
 *
 * Waits. A side that must wait (an empty ring, a full one) first spins a
 * little on the other side's position (shmfs_spin_until): a partner that
 * is running answers within microseconds, and then neither side makes a
 * system call. Each lock owner marks its CPU in its side (CPU), and no one
 * spins for a partner that last ran on its own CPU. Only then does the
 * waiter say in its WANT word which position of the other side it waits
 * for, count itself in its WAITING word and sleep on the other side's WAKE
 * futex word. The other side, after it moves its position, issues a full
 * fence and wakes only when somebody is counted, and only once per wait.
 * Store-then-fence-then-load on both sides means that either the waiter
 * sees the new position or the mover sees the waiter (the classic
 * store-buffering argument), so no wake-up is lost, and a side nobody
 * waits for makes no system call at all.
 *
 * All processes using one queue must share a PID namespace.
 */
#include "queue.h"
#include "wait.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOCK_WAITERS SHMFS_QUEUE_LOCK_WAITERS
/* How long a lock waiter sleeps between checks that the owner lives. */
#define LOCK_CHECK_NS 50000000LL
#define WANT_WOKEN 1ull

/* This thread's id and start time, cached; a forked child starts afresh. */
struct owner {
	uint32_t tid;
	uint32_t start;
};

static __thread struct owner self __attribute__((tls_model("initial-exec")));
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

	if (tid > 4194304) /* above PID_MAX_LIMIT: no thread */
		return true;
	if (kill((pid_t)tid, 0) < 0 && errno == ESRCH)
		return true;
	if (!start)
		return false;
	now = thread_start(tid);
	return now && now != start;
}

int shmfs_queue_side_lock(struct queue_side *side, long long deadline, bool *recovered)
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
		if (!tid) { /* a stray waiters bit: it is free */
			if (atomic_compare_exchange_strong(&side->lock, &cur, want | LOCK_WAITERS))
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
		    !atomic_compare_exchange_strong(&side->lock, &cur, cur | LOCK_WAITERS))
			continue;
		/* Others may sleep too: whoever gets it next wakes one. */
		want = o->tid | LOCK_WAITERS;
		err = shmfs_futex_wait(&side->lock, cur | LOCK_WAITERS,
				       next_check < deadline ? next_check : deadline);
		if (err)
			return err;
	}
	atomic_store(&side->owner_start, o->start);
	atomic_store_explicit(&side->cpu, shmfs_cpu_mark(), memory_order_relaxed);
	return 0;
}

void shmfs_queue_side_unlock(struct queue_side *side)
{
	atomic_store(&side->owner_start, 0);
	if (atomic_exchange(&side->lock, 0) & LOCK_WAITERS)
		shmfs_futex_wake(&side->lock, 1);
}

bool shmfs_queue_side_mine(struct queue_side *side)
{
	return (atomic_load(&side->lock) & ~LOCK_WAITERS) == me()->tid;
}

void shmfs_queue_wake(struct queue_side *mine, struct queue_side *other)
{
	uint64_t want;

	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&other->waiting, memory_order_relaxed))
		return;
	/* WANT's low bit (positions are multiples of 8) marks a wait already
	 * woken: a waiter slow to get up costs one wake-up, not one for each
	 * message moved meanwhile. Only the mover that reached WANT marks
	 * it, so a new wait, with a new WANT, is never marked by mistake. */
	want = atomic_load_explicit(&other->want, memory_order_relaxed);
	if ((want & WANT_WOKEN) || atomic_load_explicit(&mine->pos, memory_order_relaxed) < want ||
	    !atomic_compare_exchange_strong(&other->want, &want, want | WANT_WOKEN))
		return;
	atomic_fetch_add(&mine->wake, 1);
	shmfs_futex_wake(&mine->wake, INT_MAX);
}

int shmfs_queue_wait(struct queue_side *mine, struct queue_side *other, uint64_t want,
		     uint64_t sleep_want, long long deadline)
{
	uint32_t word;
	int err = 0;

	if (shmfs_spin_worth(atomic_load_explicit(&other->cpu, memory_order_relaxed)) &&
	    shmfs_spin_until(&other->pos, want, deadline))
		return 0;
	atomic_store(&mine->want, sleep_want);
	atomic_fetch_add(&mine->waiting, 1);
	word = atomic_load(&other->wake);
	if (atomic_load(&other->pos) < sleep_want)
		err = shmfs_futex_wait(&other->wake, word, deadline);
	atomic_fetch_sub(&mine->waiting, 1);
	return err;
}
