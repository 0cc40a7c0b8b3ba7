// SPDX-License-Identifier: MIT
/*
 * Reaching a segment name beneath the segment directory without following
 * a symbolic link, as shm_open() does: a mount that every user writes to
 * can hold links that another user planted, and a name must never lead
 * outside it. The directories of a name are resolved from a descriptor of
 * the segment directory with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS),
 * or, where the kernel has no openat2, one component at a time with
 * O_NOFOLLOW; the caller opens or removes the last component relative to
 * the directory found, with O_NOFOLLOW.
 */
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Open directory COMP of the directory open at FD, making it if MKDIRS. */
static int step(int fd, const char *comp, bool mkdirs)
{
	struct stat st;
	int next;

	for (int round = 0; round < 100; round++) {
		next = openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && mkdirs) {
			if (mkdirat(fd, comp, 0777) && errno != EEXIST)
				return -errno;
			continue; /* made, or made by another process */
		}
		if (next < 0)
			return -errno;
		if (fstat(next, &st)) {
			close(next);
			return -errno;
		}
		if (S_ISDIR(st.st_mode))
			return next;
		close(next);
		return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
	}
	return -EAGAIN;
}

/* The per-component walk of DIRS (modified in place) from TOP. */
static int walk(int top, char *dirs, bool mkdirs)
{
	int fd = fcntl(top, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	for (char *comp = dirs, *slash; comp; comp = slash) {
		int next;

		slash = strchr(comp, '/');
		if (slash)
			*slash++ = '\0';
		next = step(fd, comp, mkdirs);
		close(fd);
		if (next < 0)
			return next;
		fd = next;
	}
	return fd;
}

static int beneath(int top, const char *dirs)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, top, dirs, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* The directory part of NAME beneath TOP, made where missing if MKDIRS. */
static int open_dirs(int top, const char *name, size_t len, bool mkdirs)
{
	char *dirs = strndup(name, len);
	int fd;

	if (!dirs)
		return -ENOMEM;
	fd = beneath(top, dirs);
	if (fd == -ENOSYS || (fd == -ENOENT && mkdirs))
		fd = walk(top, dirs, mkdirs);
	free(dirs);
	return fd;
}

int shmfs_parent_open(struct shmfs_parent *p, const char *name, bool mkdirs)
{
	const char *slash;
	int top, err;

	p->dirfd = -1;
	err = shmfs_name_validate(name);
	if (err)
		return err;
	top = open(shmfs_name_dir(), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (top < 0)
		return -errno;
	slash = strrchr(name, '/');
	if (!slash) {
		p->dirfd = top;
		p->last = name;
		return 0;
	}
	p->dirfd = open_dirs(top, name, (size_t)(slash - name), mkdirs);
	close(top);
	if (p->dirfd < 0) {
		err = p->dirfd;
		p->dirfd = -1;
		return err;
	}
	p->last = slash + 1;
	return 0;
}

void shmfs_parent_release(struct shmfs_parent *p)
{
	if (p->dirfd >= 0)
		close(p->dirfd);
	p->dirfd = -1;
}

int shmfs_parent_unlink(struct shmfs_parent *p, const struct stat *want)
{
	struct stat st;

	if (fstatat(p->dirfd, p->last, &st, AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (want && (st.st_dev != want->st_dev || st.st_ino != want->st_ino))
		return -ESTALE;
	if (unlinkat(p->dirfd, p->last, 0))
		return -errno;
	return 0;
}
