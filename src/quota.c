// SPDX-License-Identifier: MIT
/*
 * Daemon-enforced limits (see limits.h). Charges are lock-free: a
 * compare-and-swap loop takes a charge only if the total stays within the
 * limit, so concurrent writers can never overshoot it together.
 */
#include "quota.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096ULL

uint64_t shmfs_quota_cost(off_t length)
{
	return length <= 0 ? 0 : ((uint64_t)length + PAGE - 1) / PAGE * PAGE;
}

/* Open a directory of the store for reading without touching its atime. */
static int open_dir_quietly(int parent, const char *name)
{
	int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(parent, name, flags | O_NOATIME);

	/* O_NOATIME needs ownership or CAP_FOWNER. */
	return fd < 0 && errno == EPERM ? openat(parent, name, flags) : fd;
}

static int walk(int parent, const char *name, struct shmfs_tree_usage *u)
{
	int fd = open_dir_quietly(parent, name);
	struct dirent *de;
	struct stat sb;
	DIR *dp;
	int err = 0;

	if (fd < 0)
		return -errno;
	dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return -errno;
	}
	while (!err && (de = readdir(dp))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] ||
					     (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (fstatat(dirfd(dp), de->d_name, &sb, AT_SYMLINK_NOFOLLOW))
			continue;
		u->inodes++;
		if (S_ISREG(sb.st_mode)) {
			u->files++;
			u->file_bytes += (uint64_t)sb.st_blocks * 512;
			u->charge += shmfs_quota_cost(sb.st_size);
		} else if (S_ISDIR(sb.st_mode)) {
			err = walk(dirfd(dp), de->d_name, u);
			if (err == -EMFILE || err == -ENFILE || err == -ENOENT)
				err = 0;	/* too deep to count, or just removed */
		}
	}
	closedir(dp);
	return err;
}

int shmfs_tree_usage(int dirfd, struct shmfs_tree_usage *u)
{
	*u = (struct shmfs_tree_usage){ 0 };
	return walk(dirfd, ".", u);
}

int shmfs_quota_init(struct shmfs_quota *l, int dirfd, uint64_t max_bytes,
		      uint64_t max_inodes)
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

void shmfs_quota_statfs(struct shmfs_quota *l, struct statvfs *sv)
{
	uint64_t bytes = atomic_load(&l->bytes), inodes = atomic_load(&l->inodes);

	if (l->max_bytes) {
		sv->f_blocks = l->max_bytes / sv->f_frsize;
		sv->f_bfree = sv->f_bavail = bytes >= l->max_bytes ?
			0 : (l->max_bytes - bytes) / sv->f_frsize;
	}
	if (l->max_inodes) {
		sv->f_files = l->max_inodes;
		sv->f_ffree = sv->f_favail = inodes >= l->max_inodes ? 0 : l->max_inodes - inodes;
	}
}
