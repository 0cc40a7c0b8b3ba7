/* SPDX-License-Identifier: MIT */
/*
 * Resolving a name beneath a directory the daemon holds, when the name
 * comes from somewhere a user can influence. No component is ever
 * followed as a symlink and nothing outside the directory is reached:
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where the kernel has it,
 * else a walk that opens one component at a time with O_NOFOLLOW. Nothing
 * here knows about FUSE.
 */
#ifndef SHMFS_BENEATH_H
#define SHMFS_BENEATH_H

#include <sys/stat.h>
#include <sys/types.h>

/*
 * Open the directory rel (relative, "" for dir itself) beneath dir as
 * O_PATH | O_DIRECTORY. Returns the descriptor or -errno (ELOOP when a
 * component is a symlink, EXDEV when rel would leave dir).
 */
int shmfs_beneath_opendir(int dir, const char *rel);

/*
 * Where the object open as fd (any kind of descriptor) is now named
 * beneath root, checked to be the object (dev, ino): a descriptor of its
 * directory, its last component (malloc()ed) and what that name has now
 * (sb). rootpath is root's own path as /proc/self/fd shows it. Returns 0,
 * -ENOENT when the object has no name beneath root, or another -errno.
 */
int shmfs_beneath_locate(int root, const char *rootpath, int fd, dev_t dev, ino_t ino, int *dirfd,
			 char **base, struct stat *sb);

#endif
