// SPDX-License-Identifier: MIT
/* Paths through /proc/self/fd (see procfd.h). */
#include "procfd.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

char *shmfs_proc_readlink(int fd)
{
	char link[SHMFS_PROC_PATH_MAX], *buf;
	ssize_t n;

	shmfs_proc_path(link, fd);
	buf = malloc(PATH_MAX);
	if (!buf)
		return NULL;
	n = readlink(link, buf, PATH_MAX - 1);
	if (n <= 0) {
		if (!n)
			errno = ENOENT;
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}
