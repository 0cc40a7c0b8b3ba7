// SPDX-License-Identifier: MIT
/*
 * Handlers that make, link, rename and remove names: the store does the
 * work (openat-style calls relative to the parent's borrowed descriptor)
 * and the new object is given to the calling process's user and group.
 * The change itself runs with the names lock held for reading (fs.h).
 */
#include "ops.h"
#include "reclaim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Borrow the descriptors of a and b for a request: false, and the request
 * answered with the error, when either cannot be had.
 */
static bool fds_get(fuse_req_t req, struct shmfs_inode_table *t, struct shmfs_inode *a, int *fa,
		    struct shmfs_inode *b, int *fb)
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

/* What make_name() makes. */
struct new_name {
	mode_t mode; /* S_IFDIR, S_IFLNK, or mknod's mode */
	dev_t rdev;
	const char *link; /* a symlink's target */
};

static int store_make(int pfd, const char *name, const struct new_name *n)
{
	switch (n->mode & S_IFMT) {
	case S_IFDIR: return mkdirat(pfd, name, n->mode & 07777);
	case S_IFLNK: return symlinkat(n->link, pfd, name);
	default: return mknodat(pfd, name, n->mode, n->rdev);
	}
}

/*
 * Make parent/name as n says, give it to the caller, look it up, reply.
 * Directories and symlinks keep no set-ID bits a change of owner could
 * clear; other objects get theirs back (shmfs_owner_set).
 */
static void make_name(fuse_req_t req, fuse_ino_t parent, const char *name, const struct new_name *n)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *p = shmfs_req_inode(req, parent);
	mode_t type = n->mode & S_IFMT, setid = type == S_IFDIR || type == S_IFLNK ? 0 : n->mode;
	struct fuse_entry_param e;
	int pfd = shmfs_req_fd_get(req, p), err;

	if (pfd < 0)
		return;
	err = shmfs_quota_name_charge(fs->store.quota);
	if (err)
		goto out_put;
	if (type == S_IFLNK) {
		err = shmfs_quota_link_charge(fs->store.quota, strlen(n->link));
		if (err) {
			shmfs_quota_name_refund(fs->store.quota);
			goto out_put;
		}
	}
	shmfs_names_begin(fs);
	shmfs_umask_set(req);
	err = store_make(pfd, name, n) ? -errno : 0;
	if (!err) {
		err = shmfs_owner_set(req, p, name, -1, setid);
		if (!err)
			err = shmfs_entry_lookup(fs, p, name, &e);
		if (err)
			unlinkat(pfd, name, type == S_IFDIR ? AT_REMOVEDIR : 0);
	}
	if (err) {
		shmfs_quota_name_refund(fs->store.quota);
		if (type == S_IFLNK)
			shmfs_quota_link_refund(fs->store.quota, strlen(n->link));
	}
	shmfs_names_end(fs);
out_put:
	shmfs_inode_fd_put(&fs->inodes, p, pfd);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &e);
}

void shmfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct new_name n = { .mode = mode, .rdev = rdev };

	if ((mode & S_IFMT) == S_IFDIR || (mode & S_IFMT) == S_IFLNK)
		fuse_reply_err(req, EINVAL);
	else
		make_name(req, parent, name, &n);
}

void shmfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct new_name n = { .mode = S_IFDIR | (mode & 07777) };

	make_name(req, parent, name, &n);
}

void shmfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct new_name n = { .mode = S_IFLNK, .link = link };

	make_name(req, parent, name, &n);
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
	err = shmfs_quota_name_charge(fs->store.quota);
	if (err)
		goto out_put;
	shmfs_names_begin(fs);
	if (linkat(fd, "", pfd, name, AT_EMPTY_PATH)) {
		err = -errno;
		shmfs_quota_name_refund(fs->store.quota);
	} else {
		err = shmfs_entry_lookup(fs, p, name, &e);
	}
	shmfs_names_end(fs);
out_put:
	shmfs_inode_fd_put(t, p, pfd);
	shmfs_inode_fd_put(t, inode, fd);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &e);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *p = shmfs_req_inode(req, parent);
	struct shmfs_reclaim freed;
	int pfd = shmfs_req_fd_get(req, p), err;

	if (pfd < 0)
		return;
	shmfs_names_begin(fs);
	err = -shmfs_reclaim_probe(&freed, fs->store.quota, &fs->inodes, pfd, name,
				   fuse_req_ctx(req)->uid);
	if (!err)
		err = unlinkat(pfd, name, flags) ? errno : 0;
	shmfs_reclaim_settle(&freed, !err);
	shmfs_names_end(fs);
	shmfs_inode_fd_put(&fs->inodes, p, pfd);
	fuse_reply_err(req, err);
}

void shmfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 0);
}

void shmfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, AT_REMOVEDIR);
}

void shmfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned int flags)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode_table *t = &fs->inodes;
	struct shmfs_inode *p = shmfs_req_inode(req, parent);
	struct shmfs_inode *np = shmfs_req_inode(req, newparent);
	struct shmfs_reclaim replaced = { 0 };
	int pfd, npfd, err = 0;

	if (!fds_get(req, t, p, &pfd, np, &npfd))
		return;
	shmfs_names_begin(fs);
	if (!(flags & RENAME_EXCHANGE))
		err = -shmfs_reclaim_probe(&replaced, fs->store.quota, t, npfd, newname,
					   fuse_req_ctx(req)->uid);
	if (!err)
		err = renameat2(pfd, name, npfd, newname, flags) ? errno : 0;
	shmfs_reclaim_settle(&replaced, !err);
	shmfs_names_end(fs);
	shmfs_inode_fd_put(t, np, npfd);
	shmfs_inode_fd_put(t, p, pfd);
	fuse_reply_err(req, err);
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
