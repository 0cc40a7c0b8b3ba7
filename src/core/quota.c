// SPDX-License-Identifier: MIT
/*
 * Daemon-enforced limits (see quota.h). Charges are lock-free: a
 * compare-and-swap loop takes a charge only if the total stays within the
 * limit, so concurrent writers can never overshoot it together.
 */
#include "quota.h"
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096ULL

uint64_t shmfs_quota_cost(off_t length)
{
	return length <= 0 ? 0 : ((uint64_t)length + PAGE - 1) / PAGE * PAGE;
}

uint64_t shmfs_quota_link_cost(size_t target_len)
{
	return target_len < SHMFS_SHORT_LINK ? 0 : PAGE;
}

/*
 * The files with more than one name that a walk has met, by (st_dev,
 * st_ino): an open-addressing set, grown at three quarters full.
 */
struct seen_set {
	struct seen_key {
		dev_t dev;
		ino_t ino;
		bool used;
	} * v;
	size_t n, cap; /* cap: 0 or a power of two */
};

static size_t seen_slot(const struct seen_set *s, dev_t dev, ino_t ino)
{
	size_t i = (size_t)(((uint64_t)ino ^ ((uint64_t)dev << 40)) * 0x9e3779b97f4a7c15ULL >> 17);

	for (i &= s->cap - 1; s->v[i].used; i = (i + 1) & (s->cap - 1))
		if (s->v[i].dev == dev && s->v[i].ino == ino)
			break;
	return i;
}

static int seen_grow(struct seen_set *s)
{
	struct seen_set bigger = { .cap = s->cap ? 2 * s->cap : 64, .n = s->n };

	bigger.v = calloc(bigger.cap, sizeof(*bigger.v));
	if (!bigger.v)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++)
		if (s->v[i].used)
			bigger.v[seen_slot(&bigger, s->v[i].dev, s->v[i].ino)] = s->v[i];
	free(s->v);
	*s = bigger;
	return 0;
}

/*
 * Is this the first meeting with (dev, ino)? Without the memory to
 * remember it, every meeting is the first: the count errs high.
 */
static bool seen_first(struct seen_set *s, dev_t dev, ino_t ino)
{
	size_t i;

	if (4 * (s->n + 1) > 3 * s->cap && seen_grow(s))
		return true;
	i = seen_slot(s, dev, ino);
	if (s->v[i].used)
		return false;
	s->v[i] = (struct seen_key){ dev, ino, true };
	s->n++;
	return true;
}

/*
 * Through the one walker (walk.h), without touching any atime: a
 * directory that cannot be opened is left out, and so is whatever a
 * concurrent rename moves while the walk is under it.
 */
int shmfs_tree_usage(int top, struct shmfs_tree_usage *u)
{
	struct shmfs_walk w;
	struct seen_set linked = { 0 };
	const char *name;
	struct stat sb;
	int err;

	*u = (struct shmfs_tree_usage){ 0 };
	err = shmfs_walk_init(&w, top, SHMFS_WALK_NOATIME);
	/* Past the top, an error ends the count with what was seen. */
	while (!err && shmfs_walk_next(&w, &name) > 0) {
		if (fstatat(shmfs_walk_dirfd(&w), name, &sb, AT_SYMLINK_NOFOLLOW))
			continue;
		u->inodes++;
		if (S_ISREG(sb.st_mode) &&
		    (sb.st_nlink == 1 || seen_first(&linked, sb.st_dev, sb.st_ino))) {
			u->files++;
			u->file_bytes += (uint64_t)sb.st_blocks * 512;
			u->charge += shmfs_quota_cost(sb.st_size);
		} else if (S_ISLNK(sb.st_mode) &&
			   (sb.st_nlink == 1 || seen_first(&linked, sb.st_dev, sb.st_ino))) {
			u->charge += shmfs_quota_link_cost((size_t)sb.st_size);
		} else if (S_ISDIR(sb.st_mode)) {
			shmfs_walk_down(&w, name);
		}
	}
	shmfs_walk_release(&w);
	free(linked.v);
	return err;
}

int shmfs_quota_init(struct shmfs_quota *l, int dirfd, uint64_t max_bytes, uint64_t max_inodes)
{
	struct shmfs_tree_usage u;
	int err = shmfs_tree_usage(dirfd, &u);

	l->max_bytes = max_bytes;
	l->max_inodes = max_inodes;
	atomic_init(&l->bytes, u.charge);
	atomic_init(&l->inodes, u.inodes);
	return err;
}

/* Add up to want (all of it unless partial) within max; returns what was added. */
static uint64_t take(atomic_uint_fast64_t *used, uint64_t max, uint64_t want, bool partial)
{
	uint_fast64_t cur = atomic_load(used);
	uint64_t got;

	do {
		if (!max || cur + want <= max)
			got = want;
		else if (partial && cur < max)
			got = max - cur;
		else
			return 0;
	} while (!atomic_compare_exchange_weak(used, &cur, cur + got));
	return got;
}

int shmfs_quota_resize(struct shmfs_quota *l, off_t old_len, off_t *new_len, bool partial)
{
	uint64_t before = shmfs_quota_cost(old_len), after = shmfs_quota_cost(*new_len);
	uint64_t got;

	if (after <= before) {
		atomic_fetch_sub(&l->bytes, before - after);
		return 0;
	}
	got = take(&l->bytes, l->max_bytes, after - before, partial);
	if (got == after - before)
		return 0;
	if (!got)
		return -ENOSPC;
	/* Only whole pages fit: the write ends at the last one it got. */
	if ((off_t)(before + got) < *new_len)
		*new_len = (off_t)(before + got);
	if (*new_len <= old_len) {
		atomic_fetch_sub(&l->bytes, got);
		return -ENOSPC;
	}
	return 0;
}

int shmfs_quota_inode(struct shmfs_quota *l, int n)
{
	if (n < 0) {
		atomic_fetch_sub(&l->inodes, (uint64_t)-n);
		return 0;
	}
	return take(&l->inodes, l->max_inodes, (uint64_t)n, false) ? 0 : -ENOSPC;
}

int shmfs_quota_name_charge(struct shmfs_quota *l)
{
	return l ? shmfs_quota_inode(l, 1) : 0;
}

void shmfs_quota_name_refund(struct shmfs_quota *l)
{
	if (l)
		shmfs_quota_inode(l, -1);
}

int shmfs_quota_link_charge(struct shmfs_quota *l, size_t target_len)
{
	off_t len = (off_t)shmfs_quota_link_cost(target_len);

	return l && len ? shmfs_quota_resize(l, 0, &len, false) : 0;
}

void shmfs_quota_link_refund(struct shmfs_quota *l, size_t target_len)
{
	off_t len = (off_t)shmfs_quota_link_cost(target_len), zero = 0;

	if (l && len)
		shmfs_quota_resize(l, len, &zero, false);
}

void shmfs_quota_statfs(struct shmfs_quota *l, struct statvfs *sv)
{
	uint64_t bytes = atomic_load(&l->bytes), inodes = atomic_load(&l->inodes);

	if (l->max_bytes) {
		sv->f_blocks = l->max_bytes / sv->f_frsize;
		sv->f_bfree = sv->f_bavail =
			bytes >= l->max_bytes ? 0 : (l->max_bytes - bytes) / sv->f_frsize;
	}
	if (l->max_inodes) {
		sv->f_files = l->max_inodes;
		sv->f_ffree = sv->f_favail = inodes >= l->max_inodes ? 0 : l->max_inodes - inodes;
	}
}
