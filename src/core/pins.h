/* SPDX-License-Identifier: MIT */
/*
 * Shares of a bounded count, per user: how many descriptors the daemon
 * keeps pinned for each user, where a user decides how many it takes
 * (reclaim.h: segments removed while open). Every user but root may hold
 * at most per_user, and all together at most max, so that no user takes
 * what the others need. Nothing here knows about FUSE.
 */
#ifndef SHMFS_PINS_H
#define SHMFS_PINS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct shmfs_pin_user {
	uid_t uid;
	unsigned int n; /* 0: a free place */
};

struct shmfs_pins {
	pthread_mutex_t lock;
	unsigned int max, per_user;
	unsigned int count;	      /* lock, as the rest */
	struct shmfs_pin_user *users; /* open addressing, cap places */
	size_t cap, nusers;
};

void shmfs_pins_init(struct shmfs_pins *p, unsigned int max, unsigned int per_user);
void shmfs_pins_release(struct shmfs_pins *p);
/* Would one more pin of uid's fit? */
bool shmfs_pins_room(struct shmfs_pins *p, uid_t uid);
/* Count one more pin of uid's: false when it does not fit, unless force. */
bool shmfs_pins_take(struct shmfs_pins *p, uid_t uid, bool force);
void shmfs_pins_give(struct shmfs_pins *p, uid_t uid);
/* Pins held by uid now. */
unsigned int shmfs_pins_held(struct shmfs_pins *p, uid_t uid);

#endif
