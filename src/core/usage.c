// SPDX-License-Identifier: MIT
/*
 * The store's usage, walked by one asker at a time and, when walking is
 * dear, kept for the others. See usage.h.
 */
#include "usage.h"

#include <errno.h>
#include <string.h>

void shmfs_usage_init(struct shmfs_usage *c)
{
	pthread_condattr_t ca;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
}

void shmfs_usage_release(struct shmfs_usage *c)
{
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000L + (b->tv_nsec - a->tv_nsec) / 1000000L;
}

/* Whether the last result may stand for a walk now. Lock held. */
static bool last_will_do(const struct shmfs_usage *c, const struct timespec *now)
{
	if (!c->valid || c->cost_ms < SHMFS_USAGE_CHEAP_MS)
		return false;
	return c->walking || ms_between(&c->end, now) < 9 * c->cost_ms;
}

int shmfs_usage_get(struct shmfs_usage *c, int dirfd, struct shmfs_tree_usage *u)
{
	struct timespec start, end;
	struct shmfs_tree_usage fresh;
	unsigned long gen;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &start);
	pthread_mutex_lock(&c->lock);
	if (last_will_do(c, &start)) {
		*u = c->last;
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	if (c->walking) {
		/* A cheap walk under way: share it. */
		for (gen = c->generation; c->walking && c->generation == gen;)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->generation != gen && c->valid) {
			*u = c->last;
			pthread_mutex_unlock(&c->lock);
			return 0;
		}
	}
	c->walking = true;
	pthread_mutex_unlock(&c->lock);

	clock_gettime(CLOCK_MONOTONIC, &start);
	err = shmfs_tree_usage(dirfd, &fresh);
	clock_gettime(CLOCK_MONOTONIC, &end);

	pthread_mutex_lock(&c->lock);
	c->walking = false;
	c->generation++;
	c->valid = !err;
	if (!err) {
		c->last = fresh;
		c->end = end;
		c->cost_ms = ms_between(&start, &end);
	}
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (!err)
		*u = fresh;
	return err;
}
