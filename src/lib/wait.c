// SPDX-License-Identifier: MIT
/*
 * Waiting for another process: the spin and the futex calls that the
 * mailbox and the queue share. A spin pays only when the partner runs on
 * another CPU at the same time; each side marks in the shared page the CPU
 * it last ran on, and a waiter that finds its partner marked on its own
 * CPU goes to sleep at once, letting the partner run there (on a machine
 * whose other CPUs are busy, both often share one). The futex words live in pages shared
 * between processes, so no call uses FUTEX_PRIVATE_FLAG; waits use
 * FUTEX_WAIT_BITSET, whose timeout is absolute on CLOCK_MONOTONIC, so a
 * wait woken early and repeated keeps its deadline.
 */
#include "wait.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A hint to the CPU that this is a spin loop: on x86 it also keeps the
 * spinning core from flooding the line it watches with loads. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

uint32_t shmfs_cpu_mark(void)
{
	int cpu = sched_getcpu(); /* glibc reads it from rseq: no call */

	return cpu < 0 ? 0 : (uint32_t)cpu + 1;
}

bool shmfs_spin_worth(uint32_t partner)
{
	return !partner || partner != shmfs_cpu_mark();
}

long long shmfs_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? LLONG_MAX : shmfs_now_ns() + timeout_ms * 1000000LL;
}

bool shmfs_spin_until(const _Atomic uint64_t *word, uint64_t want, long long deadline)
{
	long long end = shmfs_now_ns() + SHMFS_SPIN_NS;

	if (end > deadline)
		end = deadline;
	for (unsigned int i = 1;; i++) {
		if (atomic_load_explicit(word, memory_order_acquire) >= want)
			return true;
		cpu_relax();
		/* The clock costs about as much as 30 pauses. */
		if (!(i % 32) && shmfs_now_ns() >= end)
			return false;
	}
}

int shmfs_futex_wait(_Atomic uint32_t *word, uint32_t val, long long deadline)
{
	struct timespec ts = { (time_t)(deadline / 1000000000LL), (long)(deadline % 1000000000LL) };

	if (syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, deadline == LLONG_MAX ? NULL : &ts,
		    NULL, FUTEX_BITSET_MATCH_ANY) == 0)
		return 0;
	if (errno == EAGAIN || errno == ETIMEDOUT)
		return 0;
	return -errno;
}

void shmfs_futex_wake(_Atomic uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}
