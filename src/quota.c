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

static int walk(int parent, uint64_t *bytes, uint64_t *inodes)
{
	int fd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
		(*inodes)++;
		if (S_ISREG(sb.st_mode)) {
			*bytes += shmfs_quota_cost(sb.st_size);
		} else if (S_ISDIR(sb.st_mode)) {
			int sub = openat(dirfd(dp), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0) {
				err = walk(sub, bytes, inodes);
				close(sub);
			}
		}
	}
	closedir(dp);
	return err;
}

int shmfs_quota_init(struct shmfs_quota *l, int dirfd, uint64_t max_bytes,
		      uint64_t max_inodes)
{
	uint64_t bytes = 0, inodes = 0;
	int err = walk(dirfd, &bytes, &inodes);

	l->max_bytes = max_bytes;
	l->max_inodes = max_inodes;
	atomic_init(&l->bytes, bytes);
	atomic_init(&l->inodes, inodes);
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
