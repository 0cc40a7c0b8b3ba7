/* SPDX-License-Identifier: MIT */
/*
 * Walking a directory tree of any depth with one directory descriptor at
 * a time: going down remembers each parent (its identity and where its
 * reading stopped); going up opens ".." and checks that it is that parent,
 * so a directory moved during the walk can never lead the walk out of its
 * tree. Used by the store's removal and its usage count.
 *
 * On top of it, struct shmfs_walk is a whole depth-first walk: it hands out
 * the entries of one directory after another, goes down where its caller
 * asks and comes back up by itself, holding one directory descriptor and
 * memory in proportion to the depth only. "shmfs ls" lists with it.
 */
#ifndef SHMFS_DIRSTACK_H
#define SHMFS_DIRSTACK_H

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>

struct shmfs_dirpos {
	dev_t dev;
	ino_t ino;
	long off;	/* telldir() of the parent after the entry gone into */
};

struct shmfs_dirstack {
	struct shmfs_dirpos *v;
	size_t n, cap;
};

/* Remember the directory open at fd, read up to off, before going down. */
int shmfs_dirstack_push(struct shmfs_dirstack *s, int fd, long off);

/*
 * Go up from the directory open at fd (which stays open): returns a new
 * descriptor of the remembered parent and sets *off, or -ESTALE if ".." is
 * no longer that parent, or another -errno. The stack must not be empty.
 */
int shmfs_dirstack_up(struct shmfs_dirstack *s, int fd, int flags, long *off);

void shmfs_dirstack_free(struct shmfs_dirstack *s);

struct shmfs_walk {
	struct shmfs_dirstack stack;	/* the directories above dp */
	DIR *dp;			/* the directory being read */
	int flags;			/* added to every open, such as O_NOATIME */
	char *path;			/* dp's path below the top: "" at the top */
	size_t len, cap;		/* of path, without and with its NUL */
};

/* Start at the directory open at top (which stays the caller's). 0 or -errno. */
int shmfs_walk_init(struct shmfs_walk *w, int top, int flags);

/*
 * The next entry of the tree, never "." or "..": 1 with *de set (valid
 * until the next call), 0 once the whole tree is done, or -errno; -ESTALE
 * when a directory was moved out from under the walk.
 */
int shmfs_walk_next(struct shmfs_walk *w, struct dirent **de);

/* The directory that the last entry is in, for fstatat() and the like. */
int shmfs_walk_dirfd(const struct shmfs_walk *w);

/* The entry's path below the top, "DIR/.../NAME": malloc()ed, or NULL. */
char *shmfs_walk_path(const struct shmfs_walk *w, const char *name);

/*
 * Go down into directory name of the current directory, never following a
 * symbolic link; its entries come next. 0, or -errno with the walk where
 * it was.
 */
int shmfs_walk_down(struct shmfs_walk *w, const char *name);

void shmfs_walk_release(struct shmfs_walk *w);

#endif
