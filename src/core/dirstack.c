// SPDX-License-Identifier: MIT
/* See dirstack.h. */
#include "dirstack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define WALK_OPEN (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* O_NOATIME is for the owner (or CAP_FOWNER) only: without it then. */
static int walk_open(const struct shmfs_walk *w, int parent, const char *name)
{
	int fd = openat(parent, name, WALK_OPEN | w->flags);

	if (fd < 0 && errno == EPERM && (w->flags & O_NOATIME))
		fd = openat(parent, name, WALK_OPEN | (w->flags & ~O_NOATIME));
	return fd < 0 ? -errno : fd;
}

/* Read the directory open at fd (taken) from off, or from the start if off < 0. */
static int walk_read(struct shmfs_walk *w, int fd, long off)
{
	w->dp = fdopendir(fd);
	if (!w->dp) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (off >= 0)
		seekdir(w->dp, off);
	return 0;
}

int shmfs_walk_init(struct shmfs_walk *w, int top, int flags)
{
	int fd;

	*w = (struct shmfs_walk){ .flags = flags };
	w->path = calloc(1, 64);
	if (!w->path)
		return -ENOMEM;
	w->cap = 64;
	fd = walk_open(w, top, ".");
	return fd < 0 ? fd : walk_read(w, fd, -1);
}

/* Back to the parent of a directory that is done, where its reading stopped. */
static int walk_up(struct shmfs_walk *w)
{
	long off;
	int fd = shmfs_dirstack_up(&w->stack, dirfd(w->dp), w->flags, &off);
	char *slash;

	if (fd < 0)
		return fd;
	closedir(w->dp);
	w->dp = NULL;
	slash = strrchr(w->path, '/');
	w->len = slash ? (size_t)(slash - w->path) : 0;
	w->path[w->len] = '\0';
	return walk_read(w, fd, off);
}

int shmfs_walk_next(struct shmfs_walk *w, struct dirent **de)
{
	int err;

	if (!w->dp)
		return -EBADF;
	for (;;) {
		struct dirent *e;

		errno = 0;
		e = readdir(w->dp);
		if (e) {
			if (e->d_name[0] == '.' && (!e->d_name[1] ||
						    (e->d_name[1] == '.' && !e->d_name[2])))
				continue;
			*de = e;
			return 1;
		}
		if (errno)
			return -errno;
		if (!w->stack.n)
			return 0;
		err = walk_up(w);
		if (err)
			return err;
	}
}

int shmfs_walk_dirfd(const struct shmfs_walk *w)
{
	return dirfd(w->dp);
}

char *shmfs_walk_path(const struct shmfs_walk *w, const char *name)
{
	char *p;

	if (asprintf(&p, "%s%s%s", w->path, w->len ? "/" : "", name) < 0)
		return NULL;
	return p;
}

/* Make room in path for n more bytes and the NUL. */
static int walk_grow(struct shmfs_walk *w, size_t n)
{
	size_t cap = w->cap;
	char *p;

	while (cap < w->len + n + 1)
		cap *= 2;
	if (cap == w->cap)
		return 0;
	p = realloc(w->path, cap);
	if (!p)
		return -ENOMEM;
	w->path = p;
	w->cap = cap;
	return 0;
}

int shmfs_walk_down(struct shmfs_walk *w, const char *name)
{
	size_t n = strlen(name);
	int fd, err = walk_grow(w, n + 1);
	DIR *sub;

	if (err)
		return err;
	fd = walk_open(w, dirfd(w->dp), name);
	if (fd < 0)
		return fd;
	sub = fdopendir(fd);
	if (!sub) {
		err = -errno;
		close(fd);
		return err;
	}
	err = shmfs_dirstack_push(&w->stack, dirfd(w->dp), telldir(w->dp));
	if (err) {
		closedir(sub);
		return err;
	}
	if (w->len)
		w->path[w->len++] = '/';
	memcpy(w->path + w->len, name, n + 1);
	w->len += n;
	closedir(w->dp);
	w->dp = sub;
	return 0;
}

void shmfs_walk_release(struct shmfs_walk *w)
{
	if (w->dp)
		closedir(w->dp);
	shmfs_dirstack_free(&w->stack);
	free(w->path);
	*w = (struct shmfs_walk){ 0 };
}
