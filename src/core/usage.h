/* SPDX-License-Identifier: MIT */
/*
 * What the store holds, for status and statfs, at a bounded cost.
 *
 * Adding up a tree of a million names takes seconds, and any user may ask
 * (the status ioctl; statfs of a directory store without both limits), so
 * a walk that costs more than SHMFS_USAGE_CHEAP_MS serves every asker for
 * nine times as long as it took: the daemon walks a tenth of its time at
 * most, and while one request walks, the others take the last result
 * rather than wait. A flood of askers costs one walk at a time and holds
 * up no other request. Cheaper walks are made afresh for every asker
 * (those that come during one share it), so the figures of a small store
 * are exact.
 */
#ifndef SHMFS_USAGE_H
#define SHMFS_USAGE_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "quota.h"

#define SHMFS_USAGE_CHEAP_MS 10

struct shmfs_usage {
	pthread_mutex_t lock; /* guards every field below */
	pthread_cond_t cond;  /* a walk is done */
	bool walking;
	bool valid;		  /* last holds a result */
	unsigned long generation; /* walks done */
	struct timespec end;	  /* when the last walk ended (CLOCK_MONOTONIC) */
	long cost_ms;		  /* how long it took */
	struct shmfs_tree_usage last;
};

void shmfs_usage_init(struct shmfs_usage *c);
void shmfs_usage_release(struct shmfs_usage *c);
/* The usage of the tree under dirfd, fresh as above. 0 or -errno. */
int shmfs_usage_get(struct shmfs_usage *c, int dirfd, struct shmfs_tree_usage *u);

#endif
