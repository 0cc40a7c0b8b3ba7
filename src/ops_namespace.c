// SPDX-License-Identifier: MIT
/*
 * Handlers that make, link, rename and remove names: the store does the
 * work (openat-style calls relative to the parent's descriptor) and the
 * new object is given to the calling process's user and group.
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* After parent/name was made by the store: own it, look it up, reply. */
static void reply_new(fuse_req_t req, struct shmfs_inode *parent, const char *name,
		      bool is_dir)
{
	struct fuse_entry_param e;
	int err = shmfs_owner_set(req, parent, name, -1);

	if (!err)
		err = shmfs_entry_lookup(shmfs_req_fs(req), parent, name, &e);
	if (err) {
		unlinkat(parent->fd, name, is_dir ? AT_REMOVEDIR : 0);
		fuse_reply_err(req, -err);
		return;
	}
	fuse_reply_entry(req, &e);
}

void shmfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		    dev_t rdev)
{
	struct shmfs_inode *p = shmfs_req_inode(req, parent);

	if (mknodat(p->fd, name, mode, rdev))
		fuse_reply_err(req, errno);
	else
		reply_new(req, p, name, false);
}

void shmfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct shmfs_inode *p = shmfs_req_inode(req, parent);

	if (mkdirat(p->fd, name, mode))
		fuse_reply_err(req, errno);
	else
		reply_new(req, p, name, true);
}

void shmfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct shmfs_inode *p = shmfs_req_inode(req, parent);

	if (symlinkat(link, p->fd, name))
		fuse_reply_err(req, errno);
	else
		reply_new(req, p, name, false);
}

void shmfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	struct shmfs_inode *p = shmfs_req_inode(req, parent);
	struct fuse_entry_param e;
	int err;

	if (linkat(inode->fd, "", p->fd, name, AT_EMPTY_PATH)) {
		fuse_reply_err(req, errno);
		return;
	}
	err = shmfs_entry_lookup(fs, p, name, &e);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &e);
}

void shmfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, unlinkat(shmfs_req_inode(req, parent)->fd, name, 0) ? errno : 0);
}

void shmfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, unlinkat(shmfs_req_inode(req, parent)->fd, name, AT_REMOVEDIR) ?
				    errno : 0);
}

void shmfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	int err = renameat2(shmfs_req_inode(req, parent)->fd, name,
			    shmfs_req_inode(req, newparent)->fd, newname, flags);

	fuse_reply_err(req, err ? errno : 0);
}

void shmfs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[4097];
	ssize_t n = readlinkat(shmfs_req_inode(req, ino)->fd, "", buf, sizeof(buf));

	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if ((size_t)n == sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}
