/* SPDX-License-Identifier: MIT */
/*
 * Changing a segment's length and bytes in its backing file: truncation,
 * writes and fallocate, with a daemon-kept size limit (quota.h) charged
 * for each change.
 *
 * With reserve set (the cached data path) every page below a segment's
 * length is allocated in the store, never left a hole: a growth
 * allocates the new pages at once, and a punched hole is zeroed in place.
 * The kernel writes mapped pages back long after the stores into them
 * were accepted, and that write-back has no way to tell the process that
 * made them that they did not fit; so the room must be there before. A
 * growth that does not fit fails with ENOSPC (a write is cut short) and
 * leaves the segment as it was. Without reserve (passthrough, where the
 * mapping is the store's own pages) holes stay holes, as on tmpfs.
 *
 * Nothing here knows about FUSE. The caller keeps the segment's length
 * stable (the inode lock) across each call.
 */
#ifndef SHMFS_SEGMENT_H
#define SHMFS_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "quota.h"

struct shmfs_segment {
	int fd;			   /* the backing file, open for writing */
	struct shmfs_quota *quota; /* NULL, or charged when it has a byte limit */
	bool reserve;		   /* allocate every page below the length */
	uint64_t max_length;	   /* 0, or no truncation grows it past this */
};

/*
 * Set the length to len. 0 or -errno: -ENOSPC when the growth does not
 * fit, -EFBIG when it would pass max_length (the whole mount's size: a
 * tmpfs store would take it, holes cost nothing, but its pages could
 * never be stored).
 */
int shmfs_segment_truncate(const struct shmfs_segment *s, off_t len);
/*
 * pwrite() that charges and reserves what it makes the segment grow by.
 * Returns the count written, cut short where the room ends, or -errno.
 */
ssize_t shmfs_segment_write(const struct shmfs_segment *s, const void *buf, size_t size, off_t off);
/* fallocate() of the request. 0 or -errno. */
int shmfs_segment_fallocate(const struct shmfs_segment *s, int mode, off_t off, off_t len);

#endif
