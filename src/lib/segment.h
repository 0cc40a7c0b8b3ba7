/* SPDX-License-Identifier: MIT */
/*
 * The segment object, shared by the library's modules (view, mailbox,
 * lock). Every field is set once by shmfs_segment_open() and only read
 * afterwards, so no lock guards them.
 */
#ifndef SHMFS_LIB_SEGMENT_H
#define SHMFS_LIB_SEGMENT_H

#include "shmfs.h"

#include <stdbool.h>
#include <sys/stat.h>

struct shmfs_segment {
	int fd;
	int flags; /* enum shmfs_open_flags given to open */
	char *name;
	char *path;
};

/*
 * Where a segment name leads (beneath.c): the directory that holds its
 * last component, reached with no symbolic link followed, and that
 * component (pointing into the name).
 */
struct shmfs_parent {
	int dirfd; /* O_PATH */
	const char *last;
};

/* Find the directory of NAME, making missing ones if MKDIRS. 0 or -errno
 * (-ELOOP for a symbolic link on the way). Release p either way. */
int shmfs_parent_open(struct shmfs_parent *p, const char *name, bool mkdirs);
void shmfs_parent_release(struct shmfs_parent *p);
/* Remove the last component: -ELOOP if it is a symbolic link, -ESTALE if
 * WANT is given and it is another file. */
int shmfs_parent_unlink(struct shmfs_parent *p, const struct stat *want);

/* The xattr that marks a transient segment, and its value. */
#include "transient_mark.h"

#endif
