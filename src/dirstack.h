/* SPDX-License-Identifier: MIT */
/*
 * Walking a directory tree of any depth with one directory descriptor at
 * a time: going down remembers each parent (its identity and where its
 * reading stopped); going up opens ".." and checks that it is that parent,
 * so a directory moved during the walk can never lead the walk out of its
 * tree. Used by the store's removal and its usage count.
 */
#ifndef SHMFS_DIRSTACK_H
#define SHMFS_DIRSTACK_H

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

#endif
