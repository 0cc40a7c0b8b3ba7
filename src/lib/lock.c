// SPDX-License-Identifier: MIT
/*
 * Locks between processes sharing a segment. Two kinds, both released by
 * the kernel when a holder dies:
 *
 *   - flock() on the segment file: coarse, whole-segment, shared with any
 *     program that uses flock(2) or flock(1) on the same path;
 *   - robust process-shared pthread mutexes living inside the segment: fine
 *     grained, fast when uncontended (a futex), and the next locker learns
 *     that the previous owner died (EOWNERDEAD) so it can repair the data.
 */
#include "segment.h"

#include <errno.h>
#include <sys/file.h>

int shmfs_segment_lock(struct shmfs_segment *seg, int mode, bool nonblock)
{
	int op;

	switch (mode) {
	case SHMFS_LOCK_SHARED: op = LOCK_SH; break;
	case SHMFS_LOCK_EXCLUSIVE: op = LOCK_EX; break;
	default: return -EINVAL;
	}
	if (nonblock)
		op |= LOCK_NB;
	if (flock(seg->fd, op) < 0)
		return -errno;
	return 0;
}

int shmfs_segment_unlock(struct shmfs_segment *seg)
{
	if (flock(seg->fd, LOCK_UN) < 0)
		return -errno;
	return 0;
}

int shmfs_mutex_init(pthread_mutex_t *mutex)
{
	pthread_mutexattr_t attr;
	int err;

	err = pthread_mutexattr_init(&attr);
	if (err)
		return -err;
	err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (!err)
		err = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (!err)
		err = pthread_mutex_init(mutex, &attr);
	pthread_mutexattr_destroy(&attr);
	return -err;
}

/* Turn what a lock call returned into ours, healing EOWNERDEAD. */
static int mutex_locked(pthread_mutex_t *mutex, int err, bool *recovered)
{
	bool dead = err == EOWNERDEAD;

	if (dead)
		err = pthread_mutex_consistent(mutex);
	if (err)
		return -err;
	if (recovered)
		*recovered = dead;
	return 0;
}

int shmfs_mutex_lock(pthread_mutex_t *mutex, bool *recovered)
{
	return mutex_locked(mutex, pthread_mutex_lock(mutex), recovered);
}

int shmfs_mutex_trylock(pthread_mutex_t *mutex, bool *recovered)
{
	return mutex_locked(mutex, pthread_mutex_trylock(mutex), recovered);
}

int shmfs_mutex_unlock(pthread_mutex_t *mutex)
{
	return -pthread_mutex_unlock(mutex);
}

int shmfs_mutex_destroy(pthread_mutex_t *mutex)
{
	return -pthread_mutex_destroy(mutex);
}
