// SPDX-License-Identifier: MIT
/*
 * Handlers that make, link, rename and remove names: the store does the
 * work (openat-style calls relative to the parent's descriptor) and the
 * new object is given to the calling process's user and group. Each runs
 * with the names lock held for reading (fs.h).
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* After parent/name was made by the store: own it, look it up, reply. */
static void reply_new(fuse_req_t req, struct shmfs_inode *parent, const char *name,
		      bool is_dir, mode_t mode)
{
	struct fuse_entry_param e;
	int err = shmfs_owner_set(req, parent, name, -1, mode);

	if (!err)
		err = shmfs_entry_lookup(shmfs_req_fs(req), parent, name, &e);
	if (err) {
		unlinkat(parent->fd, name, is_dir ? AT_REMOVEDIR : 0);
		shmfs_refund_name(shmfs_req_fs(req));
		shmfs_names_end(shmfs_req_fs(req));
		fuse_reply_err(req, -err);
		return;
	}
	shmfs_names_end(shmfs_req_fs(req));
	fuse_reply_entry(req, &e);
}

/* The store failed to make a name: give back its charge and say why. */
static void reply_failed(fuse_req_t req)
{
	int err = errno;

	shmfs_refund_name(shmfs_req_fs(req));
	shmfs_names_end(shmfs_req_fs(req));
	fuse_reply_err(req, err);
}

/*
 * Charge a name about to be made and begin the change of names; false
 * (and replied) if none is left.
 */
static bool charge(fuse_req_t req)
{
	int err = shmfs_charge_name(shmfs_req_fs(req));

	if (err)
		fuse_reply_err(req, -err);
	else
		shmfs_names_begin(shmfs_req_fs(req));
	return !err;
}

void shmfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		    dev_t rdev)
{
	struct shmfs_inode *p = shmfs_req_inode(req, parent);

	if (!charge(req))
		return;
	shmfs_umask_set(req);
	if (mknodat(p->fd, name, mode, rdev))
		reply_failed(req);
	else
		reply_new(req, p, name, false, mode);
}

void shmfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct shmfs_inode *p = shmfs_req_inode(req, parent);

	if (!charge(req))
		return;
	shmfs_umask_set(req);
	if (mkdirat(p->fd, name, mode))
		reply_failed(req);
	else
		reply_new(req, p, name, true, 0);
}

void shmfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct shmfs_inode *p = shmfs_req_inode(req, parent);

	if (!charge(req))
		return;
	if (symlinkat(link, p->fd, name))
		reply_failed(req);
	else
		reply_new(req, p, name, false, 0);
}

void shmfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	struct shmfs_inode *p = shmfs_req_inode(req, parent);
	struct fuse_entry_param e;
	int err;

	if (!charge(req))
		return;
	if (linkat(inode->fd, "", p->fd, name, AT_EMPTY_PATH)) {
		reply_failed(req);
		return;
	}
	err = shmfs_entry_lookup(fs, p, name, &e);
	shmfs_names_end(fs);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_entry(req, &e);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *p = shmfs_req_inode(req, parent);
	struct shmfs_freed freed;
	int err;

	shmfs_names_begin(fs);
	shmfs_freed_probe(fs, p->fd, name, &freed);
	err = unlinkat(p->fd, name, flags) ? errno : 0;
	shmfs_freed_settle(fs, &freed, !err);
	shmfs_names_end(fs);
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

void shmfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *np = shmfs_req_inode(req, newparent);
	struct shmfs_freed replaced = { 0 };
	int err;

	shmfs_names_begin(fs);
	if (!(flags & RENAME_EXCHANGE))
		shmfs_freed_probe(fs, np->fd, newname, &replaced);
	err = renameat2(shmfs_req_inode(req, parent)->fd, name, np->fd, newname, flags) ?
		errno : 0;
	shmfs_freed_settle(fs, &replaced, !err);
	shmfs_names_end(fs);
	fuse_reply_err(req, err);
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
