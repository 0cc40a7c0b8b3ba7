/* SPDX-License-Identifier: MIT */
/*
 * What a removed name held: under limits the daemon keeps (quota.h), its
 * inode at once, and a segment's bytes once the store frees it; and in
 * the cached data path, a segment removed while it is open keeps a
 * descriptor, since nothing else keeps its bytes in the store.
 *
 * The store frees a segment when its last name is gone and the daemon's
 * last descriptor of it is closed; whichever of the two comes last gives
 * the bytes back, and the table's release lock makes sure that exactly
 * one does. A segment that the kernel still knows when its last name goes
 * (open, or looked up) keeps a pinned descriptor until its forget, when
 * there is a byte limit to keep, or when it is open and the table keeps
 * removed segments (keep_removed: the cached path).
 *
 * An unnamed segment (O_TMPFILE) needs the same from its open on
 * (shmfs_reclaim_keep()). Without a byte limit a pin is needed only while
 * the segment is open, and its last release lets it go
 * (shmfs_reclaim_closed()); under one, it lasts until the forget, which
 * gives the bytes back.
 *
 * Users decide how many removed segments stay open, so each pin is
 * counted for the user who holds the segment open (the first of its
 * opens still held; pins.h), or who removed it: a removal that would pin
 * one more than the remover's share of a segment the remover holds fails
 * with EBUSY, as POSIX allows for a file in use; a removal by anyone else
 * goes on, the remover paying for a holder past its share, or no
 * descriptor kept when neither may (the holders' reads of it may then
 * fail). A removal is probed before and settled after:
 *
 *   err = shmfs_reclaim_probe(&r, quota, inodes, dirfd, name, uid);
 *   if (!err)
 *           err = unlinkat(dirfd, name, flags) ? -errno : 0;
 *   shmfs_reclaim_settle(&r, !err);
 *
 * and the daemon's letting go of an inode goes through
 * shmfs_reclaim_forget(). With no quota and nothing to keep each is a
 * no-op but for the forget itself. Nothing here knows about FUSE.
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
	struct shmfs_inode_table *table;
	uid_t caller; /* who removes */
	bool name;    /* the name was there */
	bool last;    /* ...and was the last name of a segment */
	bool locked;  /* the release lock is held */
	dev_t dev;
	ino_t ino;
	off_t bytes_of;	 /* that segment's length */
	size_t link_len; /* or: the last name of a symlink with a target this long */
};

/*
 * Look at dirfd/name before caller removes (or replaces) it. Takes the
 * table's release lock when a removed segment may keep a descriptor,
 * until the settling. 0, or -EBUSY when caller must not remove it (see
 * above); settle either way.
 */
int shmfs_reclaim_probe(struct shmfs_reclaim *r, struct shmfs_quota *q, struct shmfs_inode_table *t,
			int dirfd, const char *name, uid_t caller);
/*
 * The removal is over, done telling whether it removed the name: give
 * back its inode, and the bytes of a segment whose last name it was,
 * unless the segment keeps a pinned descriptor, which keeps it in the
 * store until shmfs_reclaim_forget() gives its bytes back.
 */
void shmfs_reclaim_settle(struct shmfs_reclaim *r, bool done);
/*
 * Pin a descriptor of inode, an unnamed segment that uid opens, while the
 * table keeps removed segments: 0, or -EMFILE when uid has its share.
 */
int shmfs_reclaim_keep(struct shmfs_inode_table *t, struct shmfs_inode *inode, uid_t uid);
/*
 * The last open of inode was released (nopen 0): let its pin go unless
 * a byte limit needs it until the forget.
 */
void shmfs_reclaim_closed(struct shmfs_quota *q, struct shmfs_inode_table *t,
			  struct shmfs_inode *inode);
/*
 * Drop n lookups of inode (shmfs_inode_table_forget()), giving back the
 * bytes of a segment with no name left and its pin. Returns the entry if
 * it left the table, for the caller to free.
 */
struct shmfs_inode *shmfs_reclaim_forget(struct shmfs_quota *q, struct shmfs_inode_table *t,
					 struct shmfs_inode *inode, uint64_t n);

#endif
