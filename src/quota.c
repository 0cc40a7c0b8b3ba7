// SPDX-License-Identifier: MIT
/*
 * Daemon-enforced limits (see limits.h). Charges are lock-free: a
 * compare-and-swap loop takes a charge only if the total stays within the
 * limit, so concurrent writers can never overshoot it together.
 */
#include "quota.h"
#include "dirstack.h"

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

#define WALK_OPEN (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* Open a directory of the store for reading without touching its atime. */
static int open_dir_quietly(int parent, const char *name)
{
	int fd = openat(parent, name, WALK_OPEN | O_NOATIME);

	/* O_NOATIME needs ownership or CAP_FOWNER. */
	return fd < 0 && errno == EPERM ? openat(parent, name, WALK_OPEN) : fd;
}

/*
 * One directory fd at a time, however deep the tree (dirstack.h): a
 * directory that cannot be opened is left out, and so is whatever a
 * concurrent rename moves while the walk is under it.
 */
int shmfs_tree_usage(int top, struct shmfs_tree_usage *u)
{
	struct shmfs_dirstack stack = { 0 };
	int fd = open_dir_quietly(top, "."), err = 0;
	long off = -1;	/* -1: from the start */

	*u = (struct shmfs_tree_usage){ 0 };
	if (fd < 0)
		return -errno;
	for (;;) {
		DIR *dp = fdopendir(fd);
		struct dirent *de;
		struct stat sb;
		int sub = -1;

		if (!dp) {
			err = -errno;
			close(fd);
			break;
		}
		if (off >= 0)
			seekdir(dp, off);
		while (sub < 0 && (de = readdir(dp))) {
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
				sub = open_dir_quietly(dirfd(dp), de->d_name);
				if (sub >= 0 && shmfs_dirstack_push(&stack, dirfd(dp), telldir(dp))) {
					close(sub);
					sub = -1;
				}
			}
		}
		if (sub >= 0) {
			closedir(dp);
			fd = sub;
			off = -1;
			continue;
		}
		if (!stack.n) {
			closedir(dp);
			break;
		}
		fd = shmfs_dirstack_up(&stack, dirfd(dp), O_NOATIME, &off);
		closedir(dp);
		if (fd < 0)
			break;	/* moved away under the walk: count what was seen */
	}
	shmfs_dirstack_free(&stack);
	return err;
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
