// SPDX-License-Identifier: MIT
/* See dirstack.h. */
#include "dirstack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int shmfs_dirstack_push(struct shmfs_dirstack *s, int fd, long off)
{
	struct stat sb;

	if (fstat(fd, &sb))
		return -errno;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct shmfs_dirpos *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (struct shmfs_dirpos){ .dev = sb.st_dev, .ino = sb.st_ino, .off = off };
	return 0;
}

int shmfs_dirstack_up(struct shmfs_dirstack *s, int fd, int flags, long *off)
{
	const struct shmfs_dirpos *p = &s->v[s->n - 1];
	int up = openat(fd, "..", flags | O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat sb;

	if (up < 0 && errno == EPERM && (flags & O_NOATIME))
		up = openat(fd, "..", (flags & ~O_NOATIME) | O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (up < 0)
		return -errno;
	if (fstat(up, &sb) || sb.st_dev != p->dev || sb.st_ino != p->ino) {
		close(up);
		return -ESTALE;
	}
	*off = p->off;
	s->n--;
	return up;
}

void shmfs_dirstack_free(struct shmfs_dirstack *s)
{
	free(s->v);
	*s = (struct shmfs_dirstack){ 0 };
}
