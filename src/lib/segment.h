/* SPDX-License-Identifier: MIT */
/*
 * The segment object, shared by the library's modules (view, mailbox,
 * lock). Every field is set once by shmfs_segment_open() and only read
 * afterwards, so no lock guards them.
 */
#ifndef SHMFS_LIB_SEGMENT_H
#define SHMFS_LIB_SEGMENT_H

#include "shmfs.h"

struct shmfs_segment {
	int fd;
	int flags;	/* enum shmfs_open_flags given to open */
	char *name;
	char *path;
};

/* The xattr that marks a transient segment, and its value. */
#define SHMFS_XATTR_TRANSIENT "user.shmfs.transient"

#endif
