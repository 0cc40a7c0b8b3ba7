/* SPDX-License-Identifier: MIT */
/*
 * Waiting for another process, shared by the mailbox and the queue: a
 * short spin on a shared 64-bit position, then a futex on a 32-bit word of
 * the shared page, with deadlines on the monotonic clock in nanoseconds.
 */
#ifndef SHMFS_LIB_WAIT_H
#define SHMFS_LIB_WAIT_H

#include "clock.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * How long a waiter spins before it sleeps. Waking a sleeping process on
 * another CPU costs a system call on one side and a trip through the
 * scheduler (on a virtual machine whose idle CPUs halt, through the host:
 * tens of microseconds) on the other; a partner that answers within this
 * time is seen without either. A waiter that spins in vain has spent at
 * most this long, about what one wake-up costs, before sleeping.
 */
#ifndef SHMFS_SPIN_NS
#define SHMFS_SPIN_NS 20000LL
#endif

/*
 * The calling thread's CPU plus one (0: unknown), for a shared word that
 * tells the other side where this one last ran.
 */
uint32_t shmfs_cpu_mark(void);

/*
 * Is spinning for a partner last seen on CPU mark PARTNER worth it? Not
 * when it ran on this very CPU: then it cannot answer before this thread
 * sleeps, and a spin only keeps it from running. Unknown (0): yes.
 */
bool shmfs_spin_worth(uint32_t partner);

/* The deadline TIMEOUT_MS from now, in ns; LLONG_MAX for none (< 0). */
long long shmfs_deadline(int timeout_ms);

/*
 * Spin until *WORD >= WANT (acquire), for SHMFS_SPIN_NS at most and never
 * past DEADLINE. True if it got there. The word is shared and may hold
 * anything: only the clock ends the spin.
 */
bool shmfs_spin_until(const _Atomic uint64_t *word, uint64_t want, long long deadline);

/*
 * Sleep on the shared futex WORD while it holds VAL, until DEADLINE (ns,
 * LLONG_MAX: none). 0 when woken, when the word had changed, or at the
 * deadline (the caller looks again); -EINTR or another -errno.
 */
int shmfs_futex_wait(_Atomic uint32_t *word, uint32_t val, long long deadline);

/* Wake up to N sleepers on the shared futex WORD. */
void shmfs_futex_wake(_Atomic uint32_t *word, int n);

#endif
