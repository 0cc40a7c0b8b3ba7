/* SPDX-License-Identifier: MIT */
/*
 * The one walk of a directory tree: the store's removal, its usage count
 * and "shmfs ls" all go through it. It hands out the entries of one
 * directory after another, goes down where its caller asks and comes
 * back up by itself. It holds one directory descriptor at a time and, per
 * level of depth, the parent's identity, where its reading stopped and
 * the name gone into: a tree far deeper than PATH_MAX is walked whole.
 *
 * Every open is relative to the directory being read, with O_NOFOLLOW: a
 * symbolic link is never followed down. Going up opens ".." and checks
 * that it is the parent that was left, so a directory moved during the
 * walk can never lead it out of its tree (-ESTALE). Entries made or
 * removed meanwhile may or may not be seen, as with readdir(). Nothing
 * here knows about FUSE.
 */
#ifndef SHMFS_WALK_H
#define SHMFS_WALK_H

#include <dirent.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* Options of shmfs_walk_init(). */
enum shmfs_walk_opts {
	/* Leave every directory's atime alone (where the walker may). */
	SHMFS_WALK_NOATIME = 1 << 0,
	/*
	 * For a caller that removes what it is given: each directory gone
	 * into is handed out again once its entries are done
	 * (SHMFS_WALK_LEFT), and its parent is then read again from its
	 * start, since a removal may shift the place where the reading of a
	 * directory stopped (tmpfs before Linux 6.6 counts entries).
	 */
	SHMFS_WALK_REMOVING = 1 << 1,
};

/* What shmfs_walk_next() hands out. */
enum shmfs_walk_event {
	SHMFS_WALK_ENTRY = 1, /* an entry of the current directory */
	SHMFS_WALK_LEFT = 2,  /* a directory done (SHMFS_WALK_REMOVING) */
};

struct shmfs_walk_level {
	dev_t dev; /* the parent, checked on the way back up */
	ino_t ino;
	long off; /* telldir() of the parent after the entry gone into */
};

struct shmfs_walk {
	struct shmfs_walk_level *up; /* the directories above dp */
	size_t depth, cap;
	DIR *dp; /* the directory being read */
	unsigned int opts;
	char *path;		 /* dp's path below the top: "" at the top */
	size_t len, pathcap;	 /* of path, without and with its NUL */
	char left[NAME_MAX + 1]; /* the directory just done */
};

/* Start at the directory open at top (which stays the caller's). 0 or -errno. */
int shmfs_walk_init(struct shmfs_walk *w, int top, unsigned int opts);

/*
 * The next entry of the tree, never "." or "..": SHMFS_WALK_ENTRY or
 * SHMFS_WALK_LEFT with *name set (valid until the next call; an entry of
 * shmfs_walk_dirfd()), 0 once the whole tree is done, or -errno; -ESTALE
 * when a directory was moved out from under the walk.
 */
int shmfs_walk_next(struct shmfs_walk *w, const char **name);

/* The directory that the last entry is in, for fstatat() and the like. */
int shmfs_walk_dirfd(const struct shmfs_walk *w);

/* How many directories down from the top the walk is. */
size_t shmfs_walk_depth(const struct shmfs_walk *w);

/* The entry's path below the top, "DIR/.../NAME": malloc()ed, or NULL. */
char *shmfs_walk_path(const struct shmfs_walk *w, const char *name);

/*
 * Go down into directory name of the current directory, never following a
 * symbolic link; its entries come next. 0, or -errno with the walk where
 * it was (-ELOOP or -ENOTDIR: name is not a directory).
 */
int shmfs_walk_down(struct shmfs_walk *w, const char *name);

void shmfs_walk_release(struct shmfs_walk *w);

#endif
