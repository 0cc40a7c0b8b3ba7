// SPDX-License-Identifier: MIT
/* See walk.h. */
#include "walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WALK_OPEN (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* Open directory name of parent; O_NOATIME is for the owner (or CAP_FOWNER) only. */
static int walk_open(const struct shmfs_walk *w, int parent, const char *name)
{
	int fd = -1;

	if (w->opts & SHMFS_WALK_NOATIME)
		fd = openat(parent, name, WALK_OPEN | O_NOATIME);
	if (fd < 0 && (!(w->opts & SHMFS_WALK_NOATIME) || errno == EPERM))
		fd = openat(parent, name, WALK_OPEN);
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

int shmfs_walk_init(struct shmfs_walk *w, int top, unsigned int opts)
{
	int fd;

	*w = (struct shmfs_walk){ .opts = opts };
	w->path = calloc(1, 64);
	if (!w->path)
		return -ENOMEM;
	w->pathcap = 64;
	fd = walk_open(w, top, ".");
	return fd < 0 ? fd : walk_read(w, fd, -1);
}

/* Remember the current directory, read up to off, before going down. */
static int walk_push(struct shmfs_walk *w, long off)
{
	struct stat sb;

	if (fstat(dirfd(w->dp), &sb))
		return -errno;
	if (w->depth == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		struct shmfs_walk_level *v = realloc(w->up, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->up = v;
		w->cap = cap;
	}
	w->up[w->depth++] = (struct shmfs_walk_level){ sb.st_dev, sb.st_ino, off };
	return 0;
}

/*
 * Back to the parent of a directory that is done, where its reading
 * stopped (from its start when removing), if ".." still is that parent.
 */
static int walk_up(struct shmfs_walk *w)
{
	const struct shmfs_walk_level *p = &w->up[w->depth - 1];
	int fd = walk_open(w, dirfd(w->dp), "..");
	struct stat sb;
	char *slash;

	if (fd < 0)
		return fd;
	if (fstat(fd, &sb) || sb.st_dev != p->dev || sb.st_ino != p->ino) {
		close(fd);
		return -ESTALE;
	}
	closedir(w->dp);
	w->dp = NULL;
	w->depth--;
	slash = strrchr(w->path, '/');
	snprintf(w->left, sizeof(w->left), "%s", slash ? slash + 1 : w->path);
	w->len = slash ? (size_t)(slash - w->path) : 0;
	w->path[w->len] = '\0';
	return walk_read(w, fd, (w->opts & SHMFS_WALK_REMOVING) ? -1 : p->off);
}

static bool is_dots(const char *s)
{
	return s[0] == '.' && (!s[1] || (s[1] == '.' && !s[2]));
}

int shmfs_walk_next(struct shmfs_walk *w, const char **name)
{
	struct dirent *e;
	int err;

	if (!w->dp)
		return -EBADF;
	for (;;) {
		errno = 0;
		e = readdir(w->dp);
		if (e && is_dots(e->d_name))
			continue;
		if (e) {
			*name = e->d_name;
			return SHMFS_WALK_ENTRY;
		}
		if (errno)
			return -errno;
		if (!w->depth)
			return 0;
		err = walk_up(w);
		if (err)
			return err;
		if (w->opts & SHMFS_WALK_REMOVING) {
			*name = w->left;
			return SHMFS_WALK_LEFT;
		}
	}
}

int shmfs_walk_dirfd(const struct shmfs_walk *w)
{
	return dirfd(w->dp);
}

size_t shmfs_walk_depth(const struct shmfs_walk *w)
{
	return w->depth;
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
	size_t cap = w->pathcap;
	char *p;

	while (cap < w->len + n + 1)
		cap *= 2;
	if (cap == w->pathcap)
		return 0;
	p = realloc(w->path, cap);
	if (!p)
		return -ENOMEM;
	w->path = p;
	w->pathcap = cap;
	return 0;
}

int shmfs_walk_down(struct shmfs_walk *w, const char *name)
{
	size_t n = strlen(name);
	int fd, err = n > NAME_MAX ? -ENAMETOOLONG : walk_grow(w, n + 1);
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
	err = walk_push(w, telldir(w->dp));
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
	free(w->up);
	free(w->path);
	*w = (struct shmfs_walk){ 0 };
}
