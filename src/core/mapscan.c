// SPDX-License-Identifier: MIT
/*
 * Reading every process's memory map with a worker that the caller may
 * leave behind. See mapscan.h for why.
 *
 * A scan is shared by the caller and its worker thread and freed by
 * whichever lets go last. The worker marks its own copy of the keys; the
 * caller folds that copy into its keys when the worker is done, or when
 * it leaves the worker waiting on a stuck process and starts another on
 * the processes after it.
 */
#include "mapscan.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

#define WAIT_STEP_MS 50
#define LINES_PER_TICK 64

struct scan {
	atomic_int refs;
	pthread_mutex_t lock; /* guards done and abandoned */
	pthread_cond_t cond;
	bool done;	   /* the worker has finished */
	bool abandoned;	   /* the caller has left it waiting */
	int err;	   /* the worker's outcome, once done */
	atomic_int pid;	   /* the process being read, 0 between two */
	atomic_int last;   /* the last process read whole */
	atomic_uint ticks; /* progress, for the caller's watch */
	int resume_after;  /* read only processes after this one */
	dev_t alt_dev;
	size_t n;
	struct shmfs_mapkey keys[]; /* the worker's copy */
};

/* Workers left waiting, and the process each waits on (0: none known). */
static pthread_mutex_t stuck_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct scan *scan;
	pid_t pid;
} stuck[SHMFS_MAPSCAN_STUCK_MAX];
static unsigned int nr_stuck;

static void scan_put(struct scan *s)
{
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

static bool pid_is_stuck(pid_t pid)
{
	bool found = false;

	pthread_mutex_lock(&stuck_lock);
	for (unsigned int i = 0; i < nr_stuck && !found; i++)
		found = stuck[i].pid == pid;
	pthread_mutex_unlock(&stuck_lock);
	return found;
}

/* Leave s waiting on pid; false when too many already wait. stuck_lock held. */
static bool stuck_add_locked(struct scan *s, pid_t pid)
{
	if (nr_stuck == SHMFS_MAPSCAN_STUCK_MAX)
		return false;
	stuck[nr_stuck].scan = s;
	stuck[nr_stuck].pid = pid;
	nr_stuck++;
	return true;
}

static void stuck_remove(struct scan *s)
{
	pthread_mutex_lock(&stuck_lock);
	for (unsigned int i = 0; i < nr_stuck; i++) {
		if (stuck[i].scan == s) {
			stuck[i] = stuck[--nr_stuck];
			break;
		}
	}
	pthread_mutex_unlock(&stuck_lock);
}

unsigned int shmfs_mapscan_stuck(void)
{
	unsigned int n;

	pthread_mutex_lock(&stuck_lock);
	n = nr_stuck;
	pthread_mutex_unlock(&stuck_lock);
	return n;
}

/* Mark the keys (sorted by ino) that one line of a maps file names. */
static void match_line(struct scan *s, const char *line)
{
	unsigned long long ino;
	unsigned int ma, mi;
	size_t lo = 0, hi = s->n;
	dev_t dev;

	if (sscanf(line, "%*s %*s %*s %x:%x %llu", &ma, &mi, &ino) != 3 || !ino)
		return;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((unsigned long long)s->keys[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	dev = makedev(ma, mi);
	for (; lo < s->n && (unsigned long long)s->keys[lo].ino == ino; lo++)
		if (dev == s->keys[lo].dev || (s->alt_dev && dev == s->alt_dev))
			atomic_store_explicit(&s->keys[lo].mapped, true, memory_order_relaxed);
}

static void scan_pid(struct scan *s, const char *pid)
{
	char path[64], line[512];
	unsigned int lines = 0;
	bool whole;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%.32s/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	/* Only a line's start holds the fields; skip the rest of long ones. */
	for (whole = true; fgets(line, sizeof(line), f); whole = strchr(line, '\n')) {
		if (whole)
			match_line(s, line);
		if (++lines % LINES_PER_TICK == 0)
			atomic_fetch_add(&s->ticks, 1);
	}
	fclose(f);
}

static void *scan_main(void *arg)
{
	struct scan *s = arg;
	DIR *proc = opendir("/proc");
	struct dirent *p;
	bool abandoned;
	int err = proc ? 0 : -errno;

	while (proc && (p = readdir(proc))) {
		int pid = atoi(p->d_name);

		if (pid <= 0 || pid <= s->resume_after || pid_is_stuck(pid))
			continue;
		atomic_store(&s->pid, pid);
		scan_pid(s, p->d_name);
		atomic_store(&s->pid, 0);
		atomic_store(&s->last, pid);
		atomic_fetch_add(&s->ticks, 1);
		pthread_mutex_lock(&s->lock);
		abandoned = s->abandoned;
		pthread_mutex_unlock(&s->lock);
		if (abandoned)
			break;
	}
	if (proc)
		closedir(proc);
	pthread_mutex_lock(&s->lock);
	s->done = true;
	s->err = err;
	abandoned = s->abandoned;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (abandoned)
		stuck_remove(s);
	scan_put(s);
	return NULL;
}

static struct scan *scan_new(const struct shmfs_mapkey *keys, size_t n, dev_t alt_dev,
			     int resume_after)
{
	struct scan *s = calloc(1, sizeof(*s) + n * sizeof(s->keys[0]));
	pthread_condattr_t ca;

	if (!s)
		return NULL;
	atomic_init(&s->refs, 2);
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	s->resume_after = resume_after;
	s->alt_dev = alt_dev;
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		s->keys[i].dev = keys[i].dev;
		s->keys[i].ino = keys[i].ino;
	}
	return s;
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000L + (b->tv_nsec - a->tv_nsec) / 1000000L;
}

/*
 * Wait for s's worker: true when it is done, false when it has made no
 * progress for SHMFS_MAPSCAN_STALL_MS (s->lock held on return then, so
 * that the caller can leave it before it finishes).
 */
static bool scan_wait(struct scan *s)
{
	struct timespec since, now, until;
	unsigned int seen = atomic_load(&s->ticks);

	clock_gettime(CLOCK_MONOTONIC, &since);
	pthread_mutex_lock(&s->lock);
	while (!s->done) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (atomic_load(&s->ticks) != seen) {
			seen = atomic_load(&s->ticks);
			since = now;
		} else if (ms_between(&since, &now) >= SHMFS_MAPSCAN_STALL_MS) {
			return false;
		}
		until = now;
		until.tv_nsec += WAIT_STEP_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cond, &s->lock, &until);
	}
	pthread_mutex_unlock(&s->lock);
	return true;
}

static void keys_merge(struct shmfs_mapkey *keys, struct scan *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (atomic_load_explicit(&s->keys[i].mapped, memory_order_relaxed))
			atomic_store_explicit(&keys[i].mapped, true, memory_order_relaxed);
}

int shmfs_mapscan(struct shmfs_mapkey *keys, size_t n, dev_t alt_dev)
{
	pthread_attr_t attr;
	int resume_after = 0, err;

	for (size_t i = 0; i < n; i++)
		atomic_store_explicit(&keys[i].mapped, false, memory_order_relaxed);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		struct scan *s;
		pthread_t t;
		bool left;
		int pid;

		if (shmfs_mapscan_stuck() >= SHMFS_MAPSCAN_STUCK_MAX) {
			err = -EAGAIN;
			break;
		}
		s = scan_new(keys, n, alt_dev, resume_after);
		if (!s) {
			err = -ENOMEM;
			break;
		}
		err = -pthread_create(&t, &attr, scan_main, s);
		if (err) {
			free(s);
			break;
		}
		if (scan_wait(s)) {
			keys_merge(keys, s);
			err = s->err;
			scan_put(s);
			break;
		}
		/* Stuck (s->lock held): leave the worker, go on after it. */
		pid = atomic_load(&s->pid);
		resume_after = pid > 0 ? pid : atomic_load(&s->last);
		pthread_mutex_lock(&stuck_lock);
		left = stuck_add_locked(s, pid > 0 ? pid : 0);
		pthread_mutex_unlock(&stuck_lock);
		s->abandoned = true;
		pthread_mutex_unlock(&s->lock);
		keys_merge(keys, s);
		scan_put(s);
		if (!left) {
			err = -EAGAIN;
			break;
		}
	}
	pthread_attr_destroy(&attr);
	return err;
}
