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

int shmfs_transient_start(struct shmfs_fs *fs);
void shmfs_transient_stop(struct shmfs_fs *fs);
/*
 * The last open handle of inode was released (inode lock held, nopen 0):
 * remove the segment now if it is transient and nobody maps it, or later
 * when the last mapping is gone.
 */
void shmfs_transient_released(struct shmfs_fs *fs, struct shmfs_inode *inode);

#endif
