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
static void reply_new(fuse_req_t req, struct shmfs_inode *parent, int pfd, const char *name,
		      bool is_dir)
{
	struct fuse_entry_param e;
	int err = shmfs_owner_set(req, parent, name, -1);

	if (!err)
		err = shmfs_entry_lookup(shmfs_req_fs(req), parent, name, &e);
	if (err) {
		unlinkat(pfd, name, is_dir ? AT_REMOVEDIR : 0);
		shmfs_refund_name(shmfs_req_fs(req));
		fuse_reply_err(req, -err);
		return;
	}
	fuse_reply_entry(req, &e);
}

/* The store failed to make a name: give back its charge and say why. */
static void reply_failed(fuse_req_t req)
{
	int err = errno;

	shmfs_refund_name(shmfs_req_fs(req));
	fuse_reply_err(req, err);
}

/* Charge a name about to be made; false (and replied) if none is left. */
static bool charge(fuse_req_t req)
{
	int err = shmfs_charge_name(shmfs_req_fs(req));

	if (err)
		fuse_reply_err(req, -err);
	return !err;
}

/*
 * Borrow the descriptors of a and b for a request: false, and the request
 * answered with the error, when either cannot be had.
 */
static bool fds_get(fuse_req_t req, struct shmfs_inode_table *t, struct shmfs_inode *a,
		    int *fa, struct shmfs_inode *b, int *fb)
{
	*fa = shmfs_req_fd_get(req, a);
	if (*fa < 0)
		return false;
	*fb = shmfs_req_fd_get(req, b);
	if (*fb < 0) {
		shmfs_inode_fd_put(t, a, *fa);
		return false;
	}
	return true;
}

void shmfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		    dev_t rdev)
{
	struct shmfs_inode_table *t = &shmfs_req_fs(req)->inodes;
	struct shmfs_inode *p = shmfs_req_inode(req, parent);
	int pfd = shmfs_req_fd_get(req, p);

	if (pfd < 0)
		return;
	if (charge(req)) {
		if (mknodat(pfd, name, mode, rdev))
			reply_failed(req);
		else
			reply_new(req, p, pfd, name, false);
	}
	shmfs_inode_fd_put(t, p, pfd);
}

void shmfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct shmfs_inode_table *t = &shmfs_req_fs(req)->inodes;
	struct shmfs_inode *p = shmfs_req_inode(req, parent);
	int pfd = shmfs_req_fd_get(req, p);

	if (pfd < 0)
		return;
	if (charge(req)) {
		if (mkdirat(pfd, name, mode))
			reply_failed(req);
		else
			reply_new(req, p, pfd, name, true);
	}
	shmfs_inode_fd_put(t, p, pfd);
}

void shmfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct shmfs_inode_table *t = &shmfs_req_fs(req)->inodes;
	struct shmfs_inode *p = shmfs_req_inode(req, parent);
	int pfd = shmfs_req_fd_get(req, p);

	if (pfd < 0)
		return;
	if (charge(req)) {
		if (symlinkat(link, pfd, name))
			reply_failed(req);
		else
			reply_new(req, p, pfd, name, false);
	}
	shmfs_inode_fd_put(t, p, pfd);
}

void shmfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode_table *t = &fs->inodes;
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	struct shmfs_inode *p = shmfs_req_inode(req, parent);
	struct fuse_entry_param e;
	int fd, pfd, err;

	if (!fds_get(req, t, inode, &fd, p, &pfd))
		return;
	if (!charge(req))
		goto out_put;
	if (linkat(fd, "", pfd, name, AT_EMPTY_PATH)) {
		reply_failed(req);
		goto out_put;
	}
	err = shmfs_entry_lookup(fs, p, name, &e);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &e);
out_put:
	shmfs_inode_fd_put(t, p, pfd);
	shmfs_inode_fd_put(t, inode, fd);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode_table *t = &fs->inodes;
	struct shmfs_inode *p = shmfs_req_inode(req, parent);
	struct shmfs_freed freed;
	int pfd = shmfs_req_fd_get(req, p);

	if (pfd < 0)
		return;
	shmfs_freed_probe(fs, p, name, &freed);
	if (unlinkat(pfd, name, flags)) {
		fuse_reply_err(req, errno);
		shmfs_inode_fd_put(t, p, pfd);
		return;
	}
	shmfs_inode_fd_put(t, p, pfd);
	shmfs_freed_refund(fs, &freed);
	fuse_reply_err(req, 0);
}

void shmfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 0);
}

void shmfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, AT_REMOVEDIR);
}

void shmfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode_table *t = &fs->inodes;
	struct shmfs_inode *p = shmfs_req_inode(req, parent);
	struct shmfs_inode *np = shmfs_req_inode(req, newparent);
	struct shmfs_freed replaced = { 0 };
	int pfd, npfd, err;

	if (!fds_get(req, t, p, &pfd, np, &npfd))
		return;
	if (!(flags & RENAME_EXCHANGE))
		shmfs_freed_probe(fs, np, newname, &replaced);
	err = renameat2(pfd, name, npfd, newname, flags) ? errno : 0;
	shmfs_inode_fd_put(t, np, npfd);
	shmfs_inode_fd_put(t, p, pfd);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	shmfs_freed_refund(fs, &replaced);
	fuse_reply_err(req, 0);
}

void shmfs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct shmfs_inode_table *t = &shmfs_req_fs(req)->inodes;
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	char buf[4097];
	int fd = shmfs_req_fd_get(req, inode);
	ssize_t n;

	if (fd < 0)
		return;
	n = readlinkat(fd, "", buf, sizeof(buf));
	if (n < 0)
		n = -errno;
	shmfs_inode_fd_put(t, inode, fd);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	if ((size_t)n == sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}
