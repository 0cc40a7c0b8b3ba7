/* SPDX-License-Identifier: MIT */
/*
 * Reaching the object of an O_PATH descriptor by path, through
 * /proc/self/fd: what an O_PATH descriptor cannot do itself (open for
 * reading or writing, chmod, utimensat, extended attributes) is done on
 * that path, which the kernel resolves to the very object, never by name.
 */
#ifndef SHMFS_PROCFD_H
#define SHMFS_PROCFD_H

#include <stdio.h>

/* "/proc/self/fd/N" for any descriptor fits. */
#define SHMFS_PROC_PATH_MAX 32

static inline void shmfs_proc_path(char *buf, int fd)
{
	snprintf(buf, SHMFS_PROC_PATH_MAX, "/proc/self/fd/%d", fd);
}

/*
 * The other way: the path that /proc/self/fd shows for fd, malloc()ed,
 * or NULL with errno set. Only a hint of where the object is named, for
 * it may be renamed at any time.
 */
char *shmfs_proc_readlink(int fd);

#endif
