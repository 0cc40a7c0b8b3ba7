// SPDX-License-Identifier: MIT
/*
 * Per-user counts (see pins.h) in a small hash table with linear probing;
 * a user whose count falls to 0 leaves it (backward-shift deletion), so
 * it holds only the users who hold pins now.
 */
#include "pins.h"

#include <stdint.h>
#include <stdlib.h>

#define MIN_CAP 16

static size_t home(uid_t uid, size_t cap)
{
	return (size_t)(((uint64_t)uid * 0x9e3779b97f4a7c15ULL) >> 32) & (cap - 1);
}

/* uid's place, or the free one where it would go. Lock held. */
static size_t find(const struct shmfs_pins *p, uid_t uid)
{
	size_t i = home(uid, p->cap);

	while (p->users[i].n && p->users[i].uid != uid)
		i = (i + 1) & (p->cap - 1);
	return i;
}

/* Room for one more user: false if out of memory. Lock held. */
static bool grow(struct shmfs_pins *p)
{
	struct shmfs_pin_user *old = p->users;
	size_t n = p->cap ? p->cap * 2 : MIN_CAP, oldcap = p->cap;

	if ((p->nusers + 1) * 2 <= p->cap)
		return true;
	p->users = calloc(n, sizeof(*p->users));
	if (!p->users) {
		p->users = old;
		return false;
	}
	p->cap = n;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].n)
			p->users[find(p, old[i].uid)] = old[i];
	free(old);
	return true;
}

void shmfs_pins_init(struct shmfs_pins *p, unsigned int max, unsigned int per_user)
{
	*p = (struct shmfs_pins){ .max = max, .per_user = per_user ? per_user : 1 };
	pthread_mutex_init(&p->lock, NULL);
}

void shmfs_pins_release(struct shmfs_pins *p)
{
	free(p->users);
	p->users = NULL;
	pthread_mutex_destroy(&p->lock);
}

static unsigned int held_locked(const struct shmfs_pins *p, uid_t uid)
{
	return p->cap ? p->users[find(p, uid)].n : 0;
}

static bool fits(const struct shmfs_pins *p, uid_t uid)
{
	return p->count < p->max && (uid == 0 || held_locked(p, uid) < p->per_user);
}

bool shmfs_pins_room(struct shmfs_pins *p, uid_t uid)
{
	bool ok;

	pthread_mutex_lock(&p->lock);
	ok = fits(p, uid);
	pthread_mutex_unlock(&p->lock);
	return ok;
}

bool shmfs_pins_take(struct shmfs_pins *p, uid_t uid, bool force)
{
	size_t i;
	bool ok;

	pthread_mutex_lock(&p->lock);
	ok = (force || fits(p, uid)) && grow(p);
	if (ok) {
		i = find(p, uid);
		if (!p->users[i].n++) {
			p->users[i].uid = uid;
			p->nusers++;
		}
		p->count++;
	}
	pthread_mutex_unlock(&p->lock);
	return ok;
}

void shmfs_pins_give(struct shmfs_pins *p, uid_t uid)
{
	size_t i, j, h;

	pthread_mutex_lock(&p->lock);
	i = p->cap ? find(p, uid) : 0;
	if (!p->cap || !p->users[i].n) {
		pthread_mutex_unlock(&p->lock);
		return; /* none held: nothing to give */
	}
	p->count--;
	if (--p->users[i].n) {
		pthread_mutex_unlock(&p->lock);
		return;
	}
	p->nusers--;
	/* Move up each later entry of the run whose home is not in (i, j]. */
	for (j = (i + 1) & (p->cap - 1); p->users[j].n; j = (j + 1) & (p->cap - 1)) {
		h = home(p->users[j].uid, p->cap);
		if (i < j ? h <= i || h > j : h <= i && h > j) {
			p->users[i] = p->users[j];
			p->users[j].n = 0;
			i = j;
		}
	}
	pthread_mutex_unlock(&p->lock);
}

unsigned int shmfs_pins_held(struct shmfs_pins *p, uid_t uid)
{
	unsigned int n;

	pthread_mutex_lock(&p->lock);
	n = held_locked(p, uid);
	pthread_mutex_unlock(&p->lock);
	return n;
}
