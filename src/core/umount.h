/* SPDX-License-Identifier: MIT */
/*
 * Ending a mount: umount2() for root, fusermount3 for a user's FUSE
 * mount, which only that setuid helper may end.
 */
#ifndef SHMFS_UMOUNT_H
#define SHMFS_UMOUNT_H

enum {
	SHMFS_UMOUNT_LAZY = 1 << 0,  /* detach now, finish when the last user is gone */
	SHMFS_UMOUNT_QUIET = 1 << 1, /* fusermount3 says nothing on failure */
};

/*
 * Unmount the mount at mp (absolute). Returns 0, a negative errno, or
 * -EBUSY for any failure of fusermount3, which reports no errno.
 */
int shmfs_umount(const char *mp, unsigned int flags);

#endif
