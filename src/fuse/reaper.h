/* SPDX-License-Identifier: MIT */
/*
 * The reaper: when a transient segment (core's transient.h) goes. Its
 * removal waits for the last release of the segment and, in the
 * passthrough path, for the last mapping of it, which a thread of its own
 * watches; the kernel is then told to forget the name.
 */
#ifndef SHMFS_REAPER_H
#define SHMFS_REAPER_H

#include "fs.h"

int shmfs_reaper_start(struct shmfs_fs *fs);
void shmfs_reaper_stop(struct shmfs_fs *fs);
/*
 * The last open handle of the marked inode was released (nopen 0, inode
 * lock not held, the kernel still holding the inode): remove the segment
 * now, or once the last mapping is gone.
 */
void shmfs_reaper_take(struct shmfs_fs *fs, struct shmfs_inode *inode);

#endif
