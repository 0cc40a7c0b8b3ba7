/* SPDX-License-Identifier: MIT */
/*
 * Limits that the daemon enforces itself: size= and nr_inodes= on a
 * directory store, where no kernel does it. A segment is charged for its
 * length rounded up to whole pages, once however many names it has: that
 * is what the store holds for it, since the cached path (the only one a
 * daemon-kept size= allows) reserves every page below a segment's length
 * (segment.h), and it is what a hole left by an earlier mount may come to
 * hold. The charge lasts until the store frees the segment: its last name
 * gone, and the daemon's last reference to it closed. Every name made in
 * the store is charged one inode. Nothing here knows about FUSE.
 */
#ifndef SHMFS_QUOTA_H
#define SHMFS_QUOTA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <sys/types.h>

struct shmfs_quota {
	uint64_t max_bytes;  /* 0: no limit */
	uint64_t max_inodes; /* 0: no limit */
	atomic_uint_fast64_t bytes;
	atomic_uint_fast64_t inodes;
};

/* What a tree of the store holds. */
struct shmfs_tree_usage {
	uint64_t files;	     /* regular files, each once however many names it has */
	uint64_t file_bytes; /* their allocated bytes */
	uint64_t charge;     /* their charge: shmfs_quota_cost() of each */
	uint64_t inodes;     /* names of any kind */
};

/*
 * Add up the tree under dirfd, without changing any directory's atime.
 * 0 or -errno for the top directory (a directory below that cannot be
 * opened, or is moved away during the walk, is left out).
 */
int shmfs_tree_usage(int dirfd, struct shmfs_tree_usage *u);

/* Start from what the tree under dirfd already holds. 0 or -errno. */
int shmfs_quota_init(struct shmfs_quota *l, int dirfd, uint64_t max_bytes, uint64_t max_inodes);
/* The charge for a segment of this length. */
uint64_t shmfs_quota_cost(off_t length);
/*
 * The charge for a symbolic link whose target is this long: tmpfs keeps
 * a target of under SHMFS_SHORT_LINK bytes in the inode, and a longer one
 * in a page of its own, which counts against size=.
 */
#define SHMFS_SHORT_LINK 128
uint64_t shmfs_quota_link_cost(size_t target_len);
/* Charge a new link's page before making it (0 or -ENOSPC); l may be NULL. */
int shmfs_quota_link_charge(struct shmfs_quota *l, size_t target_len);
void shmfs_quota_link_refund(struct shmfs_quota *l, size_t target_len);
/*
 * Charge the growth of a segment from old_len to new_len; a shrink gives
 * back. Returns 0, or -ENOSPC with nothing charged. With partial set, a
 * growth that does not fit whole is cut down to what fits: *new_len is
 * lowered, and -ENOSPC is returned only if nothing fits.
 */
int shmfs_quota_resize(struct shmfs_quota *l, off_t old_len, off_t *new_len, bool partial);
/* One more (n = 1) or one fewer (n = -1) name. 0 or -ENOSPC. */
int shmfs_quota_inode(struct shmfs_quota *l, int n);
/*
 * Charge a name before making it (0 or -ENOSPC), and give it back when
 * it was not made after all. l may be NULL: no limit is the daemon's.
 */
int shmfs_quota_name_charge(struct shmfs_quota *l);
void shmfs_quota_name_refund(struct shmfs_quota *l);
/* Fill statfs figures from the limits. */
void shmfs_quota_statfs(struct shmfs_quota *l, struct statvfs *sv);

#endif
