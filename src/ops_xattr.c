// SPDX-License-Identifier: MIT
/*
 * Extended attributes, stored by the backing inodes.
 *
 * Reading them is off unless the mount has -o xattr: the kernel asks for
 * "security.capability" before every write to a FUSE file (to clear
 * privileges), a daemon round trip that would cost small writes almost
 * all their speed. Answering the first GETXATTR with ENOSYS makes the
 * kernel stop asking for good. Setting, listing and removing work always.
 */
#include "ops.h"
#include "transient.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

/*
 * Answer a get or list request with N (a length, or -errno) and BUF, which
 * is freed: with SIZE 0 the caller only asked how large the answer is.
 */
static void reply_xattr(fuse_req_t req, ssize_t n, char *buf, size_t size)
{
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (!size)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

void shmfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct shmfs_inode_table *t = &shmfs_req_fs(req)->inodes;
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	char path[SHMFS_PROC_PATH_MAX];
	char *buf = NULL;
	ssize_t n;
	int fd;

	if (!shmfs_req_fs(req)->opts->xattr) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fd = shmfs_req_fd_get(req, inode);
	if (fd < 0) {
		free(buf);
		return;
	}
	shmfs_proc_path(path, fd);
	n = getxattr(path, name, buf, size);
	if (n < 0)
		n = -errno;
	shmfs_inode_fd_put(t, inode, fd);
	reply_xattr(req, n, buf, size);
}

void shmfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct shmfs_inode_table *t = &shmfs_req_fs(req)->inodes;
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	char path[SHMFS_PROC_PATH_MAX];
	char *buf = NULL;
	ssize_t n;
	int fd;

	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fd = shmfs_req_fd_get(req, inode);
	if (fd < 0) {
		free(buf);
		return;
	}
	shmfs_proc_path(path, fd);
	n = listxattr(path, buf, size);
	if (n < 0)
		n = -errno;
	shmfs_inode_fd_put(t, inode, fd);
	reply_xattr(req, n, buf, size);
}

/*
 * Set (value non-NULL) or remove an attribute. The transient mark is also
 * kept in the inode: the store is private, so it changes only here.
 */
static int change_xattr(struct shmfs_inode *inode, int fd, const char *name,
			const char *value, size_t size, int flags)
{
	char path[SHMFS_PROC_PATH_MAX];
	bool mark = !strcmp(name, SHMFS_TRANSIENT_XATTR);
	int err;

	shmfs_proc_path(path, fd);
	if (mark)
		shmfs_inode_lock(inode);
	if (value)
		err = setxattr(path, name, value, size, flags) ? errno : 0;
	else
		err = removexattr(path, name) ? errno : 0;
	if (mark) {
		if (!err)
			inode->transient = value != NULL;
		pthread_mutex_unlock(&inode->lock);
	}
	return err;
}

void shmfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		       const char *value, size_t size, int flags)
{
	struct shmfs_inode_table *t = &shmfs_req_fs(req)->inodes;
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	int fd = shmfs_req_fd_get(req, inode), err;

	if (fd < 0)
		return;
	err = change_xattr(inode, fd, name, value ? value : "", size, flags);
	shmfs_inode_fd_put(t, inode, fd);
	fuse_reply_err(req, err);
}

void shmfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct shmfs_inode_table *t = &shmfs_req_fs(req)->inodes;
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	int fd = shmfs_req_fd_get(req, inode), err;

	if (fd < 0)
		return;
	err = change_xattr(inode, fd, name, NULL, 0, 0);
	shmfs_inode_fd_put(t, inode, fd);
	fuse_reply_err(req, err);
}
