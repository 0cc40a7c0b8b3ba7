/* SPDX-License-Identifier: MIT */
/*
 * Transient segments: the lifetime of .NET's non-persisted named mappings.
 * A segment whose backing file carries the attribute "user.shmfs.transient"
 * is removed by the daemon once the last process has closed and unmapped
 * it. Persistent stays the default.
 */
#ifndef SHMFS_TRANSIENT_H
#define SHMFS_TRANSIENT_H

#include "fs.h"

#define SHMFS_TRANSIENT_XATTR "user.shmfs.transient"

/* Who asks, as the kernel told the daemon. */
struct shmfs_caller {
	uid_t uid;
	gid_t gid;
	int ngroups;
	const gid_t *groups;	/* supplementary groups */
};

int shmfs_transient_start(struct shmfs_fs *fs);
void shmfs_transient_stop(struct shmfs_fs *fs);
/* Whether inode has the mark (read once per inode). Inode lock held. */
bool shmfs_transient_marked(struct shmfs_fs *fs, struct shmfs_inode *inode);
/*
 * The last open handle of the marked inode was released (nopen 0, inode
 * lock not held, the kernel still holding the inode): remove the segment
 * now, or once the last mapping is gone.
 */
void shmfs_transient_released(struct shmfs_fs *fs, struct shmfs_inode *inode);
/*
 * May caller mark inode transient? Only who may remove it: 0 or -EPERM
 * (or another -errno when the segment cannot be looked at).
 */
int shmfs_transient_may_mark(struct shmfs_fs *fs, struct shmfs_inode *inode,
			     const struct shmfs_caller *c);

#endif
