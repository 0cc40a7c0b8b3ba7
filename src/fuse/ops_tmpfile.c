// SPDX-License-Identifier: MIT
/*
 * O_TMPFILE: an unnamed segment, made by the store's own O_TMPFILE in the
 * directory's backing directory, open as any new segment is, which
 * linkat() can later give a name (the link handler needs nothing more:
 * the store's file is made linkable, and the kernel refuses the link of a
 * FUSE file opened with O_EXCL before asking).
 *
 * It reaches the daemon as the tmpfile operation of libfuse 3.17.1+, or,
 * before, as a create with O_TMPFILE in its flags (tmpfile_compat.h).
 * The store counts it against size= and nr_inodes= as tmpfs does; a
 * directory store whose limits the daemon keeps could not (they are kept
 * per name), so there O_TMPFILE is refused with EOPNOTSUPP, as a file
 * system without it refuses it.
 */
#include "ops.h"
#include "ops_tmpfs.h"
#include "reclaim.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* Make the unnamed segment in parent for req: a read-write descriptor, or -errno. */
static int tmpfile_make(fuse_req_t req, struct shmfs_inode *parent, mode_t mode)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	int pfd = shmfs_inode_fd_get(&fs->inodes, parent), fd, err;

	if (pfd < 0)
		return pfd;
	shmfs_umask_set(req);
	/* Never O_EXCL: whether it may be linked is the kernel's to enforce. */
	fd = openat(pfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode & 07777);
	err = fd < 0 ? -errno : shmfs_owner_set(req, parent, NULL, fd, mode);
	shmfs_inode_fd_put(&fs->inodes, parent, pfd);
	if (err && fd >= 0)
		close(fd); /* it goes with its last descriptor */
	return err ? err : fd;
}

/* Account the lookup of the segment open as fd and fill e. 0 or -errno. */
static int tmpfile_entry(struct shmfs_fs *fs, int fd, struct fuse_entry_param *e)
{
	char path[SHMFS_PROC_PATH_MAX];
	int pathfd;

	shmfs_proc_path(path, fd);
	pathfd = open(path, O_PATH | O_CLOEXEC);
	if (pathfd < 0)
		return -errno;
	return shmfs_entry_from_fd(fs, pathfd, e);
}

void shmfs_op_tmpfile(fuse_req_t req, fuse_ino_t parent, mode_t mode, struct fuse_file_info *fi)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct fuse_entry_param e;
	struct shmfs_inode *inode;
	int fd, err;

	if (fs->store.quota) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	fd = tmpfile_make(req, shmfs_req_inode(req, parent), mode);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	err = tmpfile_entry(fs, fd, &e);
	if (err) {
		close(fd);
		fuse_reply_err(req, -err);
		return;
	}
	inode = shmfs_req_inode(req, e.ino);
	/* Cached: nothing else keeps it, and its user has only a share of such pins. */
	err = shmfs_reclaim_keep(&fs->inodes, inode, fuse_req_ctx(req)->uid);
	if (err)
		close(fd);
	else
		err = shmfs_file_open(fs, req, inode, fi, fd);
	if (err) {
		shmfs_forget_inode(fs, inode, 1);
		fuse_reply_err(req, -err);
		return;
	}
	fuse_reply_create(req, &e, fi);
}
