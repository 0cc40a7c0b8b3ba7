// SPDX-License-Identifier: MIT
/*
 * Resolution beneath a held directory. The path of an open object is read
 * back from /proc/self/fd only as a hint: it is resolved again beneath
 * the root with no symlink followed, and the object found at the end must
 * be the one that was open, or nothing is returned.
 */
#include "beneath.h"
#include "procfd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int walk_opendir(int dir, const char *rel)
{
	char *copy = strdup(rel), *save = NULL, *part;
	int fd = openat(dir, ".", O_PATH | O_DIRECTORY | O_CLOEXEC), next;

	if (!copy || fd < 0) {
		free(copy);
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	for (part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (!strcmp(part, ".."))
			next = -EXDEV;
		else if (!strcmp(part, "."))
			continue;
		else if ((next = openat(fd, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
			 0)
			next = errno == ENOTDIR ? -ELOOP : -errno;
		close(fd);
		fd = next;
		if (fd < 0)
			break;
	}
	free(copy);
	return fd;
}

int shmfs_beneath_opendir(int dir, const char *rel)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	long fd;

	if (rel[0] == '/')
		return -EXDEV;
	fd = syscall(SYS_openat2, dir, *rel ? rel : ".", &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS && errno != EPERM) /* EPERM: a seccomp filter */
		return -errno;
	return walk_opendir(dir, rel);
}

int shmfs_beneath_locate(int root, const char *rootpath, int fd, dev_t dev, ino_t ino, int *dirfd,
			 char **base, struct stat *sb)
{
	size_t rlen = strlen(rootpath);
	char *path = shmfs_proc_readlink(fd), *rel, *slash;
	int d, err = -ENOENT;

	if (!path)
		return -ENOENT;
	/* Only a hint: a name that ends in " (deleted)" fails the check below. */
	if (strncmp(path, rootpath, rlen) || path[rlen] != '/')
		goto out;
	rel = path + rlen + 1;
	slash = strrchr(rel, '/');
	if (slash)
		*slash = '\0';
	d = shmfs_beneath_opendir(root, slash ? rel : "");
	if (d < 0) {
		err = d;
		goto out;
	}
	rel = slash ? slash + 1 : rel;
	if (fstatat(d, rel, sb, AT_SYMLINK_NOFOLLOW) || sb->st_dev != dev || sb->st_ino != ino) {
		close(d);
		goto out;
	}
	*base = strdup(rel);
	if (!*base) {
		close(d);
		err = -ENOMEM;
		goto out;
	}
	*dirfd = d;
	err = 0;
out:
	free(path);
	return err;
}
