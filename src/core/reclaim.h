/* SPDX-License-Identifier: MIT */
/*
 * Giving back what a removed name held, under limits the daemon keeps
 * (quota.h): its inode at once, and a segment's bytes once the store
 * frees it. The store frees a segment when its last name is gone and the
 * daemon's last descriptor of it is closed; whichever of the two comes
 * last gives the bytes back, and the quota's release lock makes sure
 * that exactly one does. A removal is probed before and settled after:
 *
 *   shmfs_reclaim_probe(&r, quota, dirfd, name);
 *   err = unlinkat(dirfd, name, flags) ? errno : 0;
 *   shmfs_reclaim_settle(&r, inodes, !err);
 *
 * and the daemon's letting go of an inode goes through
 * shmfs_reclaim_forget(). With no quota (the kernel enforces the limits,
 * or there are none) each is a no-op but for the forget itself. Nothing
 * here knows about FUSE.
 */
#ifndef SHMFS_RECLAIM_H
#define SHMFS_RECLAIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "inode.h"
#include "quota.h"

struct shmfs_reclaim {
	struct shmfs_quota *quota; /* NULL: nothing to give back */
	bool name;		   /* the name was there */
	bool last;		   /* ...and was the last name of a segment */
	bool locked;		   /* the release lock is held */
	dev_t dev;
	ino_t ino;
	off_t bytes_of;	 /* that segment's length */
	size_t link_len; /* or: the last name of a symlink with a target this long */
};

/*
 * Look at dirfd/name before removing (or replacing) it. Takes the
 * quota's release lock when it has a byte limit, until the settling.
 */
void shmfs_reclaim_probe(struct shmfs_reclaim *r, struct shmfs_quota *q, int dirfd,
			 const char *name);
/*
 * The removal is over, done telling whether it removed the name: give
 * back its inode, and the bytes of a segment whose last name it was,
 * unless the table still holds the segment (the kernel knows it: open,
 * or looked up). Then a descriptor of it is pinned, which keeps it in
 * the store until shmfs_reclaim_forget() gives its bytes back.
 */
void shmfs_reclaim_settle(struct shmfs_reclaim *r, struct shmfs_inode_table *t, bool done);
/*
 * Drop n lookups of inode (shmfs_inode_table_forget()), giving back the
 * bytes of a segment with no name left. Returns the entry if it left the
 * table, for the caller to free.
 */
struct shmfs_inode *shmfs_reclaim_forget(struct shmfs_quota *q, struct shmfs_inode_table *t,
					 struct shmfs_inode *inode, uint64_t n);

#endif
