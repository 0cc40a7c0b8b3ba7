// SPDX-License-Identifier: MIT
/*
 * lseek() with SEEK_DATA and SEEK_HOLE, answered from the store.
 *
 * The kernel asks the daemon (FUSE_LSEEK) in both data paths: Linux's
 * FUSE passthrough forwards reads, writes and mappings to the backing
 * file but not lseek. Without an answer it would call the whole length
 * data, so tar -S and cp --sparse would copy holes as zeros. The backing
 * file knows where its holes are; the inode's data descriptor asks it
 * (its file position is never used: every other access is positioned).
 *
 * In the cached path every page below a segment's length is reserved in
 * the store as it grows (segment.h), but tmpfs counts a page reserved and
 * never written as a hole, so the answers are those of a file that was
 * never reserved. Stores through a mapping reach the store, and show as
 * data, only once the kernel writes them back.
 */
#include "ops.h"
#include "ops_tmpfs.h"

#include <errno.h>
#include <unistd.h>

void shmfs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		    struct fuse_file_info *fi)
{
	struct shmfs_inode_table *t = &shmfs_req_fs(req)->inodes;
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	off_t res;
	bool rw;
	int fd, err;

	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	fd = shmfs_inode_data_get(t, inode, false, &rw);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	shmfs_inode_lock(inode);
	res = lseek(fd, off, whence);
	err = errno;
	pthread_mutex_unlock(&inode->lock);
	shmfs_inode_data_put(t, inode, fd);
	if (res < 0)
		fuse_reply_err(req, err);
	else
		fuse_reply_lseek(req, res);
}
