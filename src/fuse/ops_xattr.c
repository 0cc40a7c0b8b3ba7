// SPDX-License-Identifier: MIT
/*
 * Extended attributes, stored by the backing inodes.
 *
 * They are off unless the mount has -o xattr (or -o acl): the kernel
 * asks for "security.capability" before every write to a FUSE file (to
 * clear privileges), a daemon round trip that would cost small writes
 * almost all their speed. Answering the first GETXATTR with ENOSYS makes
 * the kernel stop asking for good; SETXATTR and REMOVEXATTR get ENOSYS
 * too (the caller sees EOPNOTSUPP), so that no tool believes it stored
 * an attribute it could not read back. Listing works always: it shows
 * what the store keeps, the transient mark (set by ioctl, ops_ioctl.c)
 * among it.
 *
 * The daemon is root, so it applies the rules root would skip:
 * - the VFS already keeps trusted.* and security.* from callers without
 *   the capability on get and set, but a list is passed through whole:
 *   trusted.* names are left out for callers without CAP_SYS_ADMIN, as
 *   tmpfs leaves them out;
 * - POSIX ACLs are either the kernel's to enforce (-o acl, FUSE_POSIX_ACL)
 *   or refused: without the capability the kernel would pass them through
 *   as plain attributes, stored on the backing file and never checked;
 * - the transient mark is a deferred unlink and needs the unlink's rights.
 */
#include "ops.h"
#include "caps.h"
#include "transient.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#define ACL_PREFIX "system.posix_acl_"
#define TRUSTED_PREFIX "trusted."
#define MAX_GROUPS 256

static bool is_acl(const char *name)
{
	return !strncmp(name, ACL_PREFIX, sizeof(ACL_PREFIX) - 1);
}

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
	else if ((size_t)n > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

void shmfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	char path[SHMFS_PROC_PATH_MAX];
	char *buf = NULL;
	ssize_t n;
	int fd;

	if (!fs->opts->xattr) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (is_acl(name) && !fs->opts->acl) {
		fuse_reply_err(req, EOPNOTSUPP);
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
	shmfs_inode_fd_put(&fs->inodes, inode, fd);
	reply_xattr(req, n, buf, size);
}

/* Drop the trusted.* names from the list buf[0..n): the new length. */
static ssize_t drop_trusted(char *buf, ssize_t n)
{
	char *in = buf, *out = buf, *end = buf + n;

	while (in < end) {
		size_t len = strnlen(in, (size_t)(end - in)) + 1;

		if (strncmp(in, TRUSTED_PREFIX, sizeof(TRUSTED_PREFIX) - 1)) {
			memmove(out, in, len);
			out += len;
		}
		in += len;
	}
	return out - buf;
}

/*
 * Does the caller have CAP_SYS_ADMIN over the mount (root of the initial
 * user namespace, with the capability)? Asked of its pid, which could
 * have been reused if it died meanwhile: the worst that can come of it is
 * a list of names.
 */
static bool caller_sys_admin(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	return ctx->uid == 0 && ctx->pid > 0 && shmfs_caps_in_my_userns(ctx->pid) &&
	       shmfs_caps_has(ctx->pid, CAP_SYS_ADMIN);
}

/* The whole list of the object at path, malloc()ed into *buf: its length or -errno. */
static ssize_t list_all(const char *path, char **buf)
{
	ssize_t n = listxattr(path, NULL, 0);

	*buf = NULL;
	if (n < 0)
		return -errno;
	*buf = malloc((size_t)n + 1);
	if (!*buf)
		return -ENOMEM;
	n = listxattr(path, *buf, (size_t)n);
	if (n < 0)
		return errno == ERANGE ? -EAGAIN : -errno; /* it grew meanwhile */
	return n;
}

void shmfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	char path[SHMFS_PROC_PATH_MAX];
	int fd = shmfs_req_fd_get(req, inode);
	char *buf;
	ssize_t n;

	if (fd < 0)
		return;
	shmfs_proc_path(path, fd);
	/* The whole list, even for a size query: what is shown depends on who asks. */
	n = list_all(path, &buf);
	shmfs_inode_fd_put(&shmfs_req_fs(req)->inodes, inode, fd);
	if (n >= 0 && !caller_sys_admin(req))
		n = drop_trusted(buf, n);
	reply_xattr(req, n, buf, size);
}

/* May the caller set or clear the transient mark of inode? 0 or -errno. */
static int check_mark(fuse_req_t req, struct shmfs_inode *inode)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t groups[MAX_GROUPS];
	struct shmfs_caller c = { .uid = ctx->uid, .gid = ctx->gid, .groups = groups };
	struct shmfs_fs *fs = shmfs_req_fs(req);
	int n = 0, err;

	if (ctx->uid)
		n = fuse_req_getgroups(req, MAX_GROUPS, groups);
	c.ngroups = n < 0 ? 0 : n > MAX_GROUPS ? MAX_GROUPS : n;
	shmfs_names_begin(fs);
	err = shmfs_transient_may_mark(&fs->inodes, inode, &c);
	shmfs_names_end(fs);
	return err;
}

/*
 * Set (value non-NULL) or remove an attribute: 0 or a positive errno.
 * The transient mark, set or removed, is also kept in the inode: the
 * store is private, so it changes only here.
 */
int shmfs_xattr_change(fuse_req_t req, struct shmfs_inode *inode, const char *name,
		       const char *value, size_t size, int flags)
{
	struct shmfs_inode_table *t = &shmfs_req_fs(req)->inodes;
	char path[SHMFS_PROC_PATH_MAX];
	bool mark = !strcmp(name, SHMFS_XATTR_TRANSIENT);
	int fd, err;

	if (is_acl(name) && !shmfs_req_fs(req)->opts->acl)
		return EOPNOTSUPP;
	if (mark) {
		err = check_mark(req, inode);
		if (err)
			return -err;
	}
	fd = shmfs_inode_fd_get(t, inode);
	if (fd < 0)
		return -fd;
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
	shmfs_inode_fd_put(t, inode, fd);
	return err;
}

void shmfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		       size_t size, int flags)
{
	if (!shmfs_req_fs(req)->opts->xattr)
		fuse_reply_err(req, ENOSYS);
	else
		fuse_reply_err(req, shmfs_xattr_change(req, shmfs_req_inode(req, ino), name,
						       value ? value : "", size, flags));
}

void shmfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	if (!shmfs_req_fs(req)->opts->xattr)
		fuse_reply_err(req, ENOSYS);
	else
		fuse_reply_err(
			req, shmfs_xattr_change(req, shmfs_req_inode(req, ino), name, NULL, 0, 0));
}
