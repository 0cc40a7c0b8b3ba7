// SPDX-License-Identifier: MIT
/*
 * Inode flags (lsattr, chattr: FS_IOC_GETFLAGS and FS_IOC_SETFLAGS; the
 * FS_IOC_FSGETXATTR and FS_IOC_FSSETXATTR forms too), kept by the backing
 * inodes, and the refusals that the immutable and append-only flags bring.
 *
 * The kernel turns each ioctl into a FUSE ioctl on a file it opens for
 * the purpose (reading the old flags in the fsxattr form first), after
 * checking in the caller's context that it owns the file or has
 * CAP_FOWNER, and that it has CAP_LINUX_IMMUTABLE if the immutable or
 * append-only flag changes, against the flags the daemon reported. The
 * daemon is root and the store would take anything from it, so it checks
 * the same again against the store's own flags. Only the flags tmpfs
 * keeps may change (immutable, append-only, nodump, noatime); tmpfs
 * refuses the others with EOPNOTSUPP. FS_IOC_SETFLAGS from a user never
 * reaches here but through the kernel's checks: the VFS answers it
 * before any file system's ioctl.
 *
 * Neither FUSE nor the kernel knows a FUSE file's flags, so the checks
 * that tmpfs makes when a file is opened fall to the daemon: no open for
 * writing or truncating of an immutable or append-only segment, and no
 * truncation (by path; an immutable segment can still be cut short
 * through a descriptor opened for writing before the flag was set, as on
 * tmpfs). One difference: tmpfs lets an append-only file be opened for
 * writing with O_APPEND; here that is refused too, because such a writer
 * could map the segment and store anywhere in it (the kernel checks for
 * the flag when mapping, but only on the FUSE file, where it is never
 * set). Everything else (unlink, rename, link, chmod, chown, times,
 * attributes, fallocate) the store refuses itself, to the daemon as to
 * anyone. The flags that refuse writers are kept in the inode, read from
 * the store once: every change to them comes through here.
 */
#include "ops.h"
#include "caps.h"
#include "ops_tmpfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* SHMEM_FL_USER_MODIFIABLE in Linux's include/linux/shmem_fs.h. */
#define TMPFS_FL_MODIFIABLE (FS_IMMUTABLE_FL | FS_APPEND_FL | FS_NODUMP_FL | FS_NOATIME_FL)
/* The flags that refuse writers. */
#define GUARD_FL (FS_IMMUTABLE_FL | FS_APPEND_FL)

/*
 * Does the caller have capability cap over the store's files? Asked of its
 * pid, which is 0 when it lives in a pid namespace the daemon cannot see
 * (and then it has none), and must be in this user namespace.
 */
static bool caller_capable(fuse_req_t req, int cap)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	return ctx->pid > 0 && shmfs_caps_in_my_userns(ctx->pid) && shmfs_caps_has(ctx->pid, cap);
}

/* Open inode's backing object for reading its flags: a descriptor or -errno. */
static int flags_open(struct shmfs_fs *fs, struct shmfs_inode *inode)
{
	char path[SHMFS_PROC_PATH_MAX];
	int pfd, fd;

	if (inode->type != S_IFREG && inode->type != S_IFDIR)
		return -ENOTTY;
	pfd = shmfs_inode_fd_get(&fs->inodes, inode);
	if (pfd < 0)
		return pfd;
	shmfs_proc_path(path, pfd);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
				(inode->type == S_IFDIR ? O_DIRECTORY : 0));
	if (fd < 0)
		fd = -errno;
	shmfs_inode_fd_put(&fs->inodes, inode, pfd);
	return fd;
}

/* The flags of inode that refuse writers, read once. Inode lock held. */
static int guard_get(struct shmfs_fs *fs, struct shmfs_inode *inode)
{
	unsigned int flags = 0;
	bool data = inode->type == S_IFREG, rw;
	int fd, err;

	if (inode->fsflags >= 0)
		return inode->fsflags;
	fd = data ? shmfs_inode_data_get(&fs->inodes, inode, false, &rw) : flags_open(fs, inode);
	if (fd < 0)
		return fd;
	/* The kernel reads and writes an int, whatever the command's size says. */
	err = ioctl(fd, FS_IOC_GETFLAGS, &flags) ? -errno : 0;
	if (data)
		shmfs_inode_data_put(&fs->inodes, inode, fd);
	else
		close(fd);
	/* A store without inode flags has none to refuse anything. */
	if (err == -ENOTTY || err == -EOPNOTSUPP || err == -EINVAL)
		err = 0;
	if (err)
		return err;
	inode->fsflags = (int)(flags & GUARD_FL);
	return inode->fsflags;
}

/*
 * inode, open, is becoming immutable or append-only: keep a writable
 * data descriptor borrowed until its last release, since none can be
 * opened once the flag is set and the opens made before still write.
 * Only a caller with CAP_LINUX_IMMUTABLE gets here. Inode lock held.
 */
static void guard_keep(struct shmfs_fs *fs, struct shmfs_inode *inode)
{
	bool rw;
	int fd;

	if (!inode->nopen || inode->kept_data_fd >= 0 || inode->type != S_IFREG)
		return;
	fd = shmfs_inode_data_get(&fs->inodes, inode, true, &rw);
	if (fd >= 0 && rw)
		inode->kept_data_fd = fd;
	else if (fd >= 0)
		shmfs_inode_data_put(&fs->inodes, inode, fd);
}

int shmfs_fsflags_may_write(struct shmfs_fs *fs, struct shmfs_inode *inode, bool made)
{
	int guard;

	if (made)
		inode->fsflags = 0; /* tmpfs gives a new file neither flag */
	guard = guard_get(fs, inode);
	if (guard < 0)
		return guard;
	return guard ? -EPERM : 0;
}

int shmfs_fsflags_may_truncate(struct shmfs_fs *fs, struct shmfs_inode *inode, bool opened)
{
	int guard;

	shmfs_inode_lock(inode);
	guard = guard_get(fs, inode);
	pthread_mutex_unlock(&inode->lock);
	if (guard < 0)
		return guard;
	if (guard & FS_APPEND_FL)
		return -EPERM;
	return (guard & FS_IMMUTABLE_FL) && !opened ? -EPERM : 0;
}

/*
 * One request's flags in either form: FS_IOC_*FLAGS (an int of FS_*_FL)
 * or FS_IOC_FS*XATTR (struct fsxattr, FS_XFLAG_*), which the kernel uses
 * to read the old flags before it sets new ones.
 */
union flags_arg {
	unsigned int flags;
	struct fsxattr fsx;
};

static size_t arg_size(unsigned int cmd)
{
	return cmd == FS_IOC_GETFLAGS || cmd == FS_IOC_SETFLAGS ? sizeof(unsigned int)
								: sizeof(struct fsxattr);
}

/* The FS_*_FL bits that a is about, of those tmpfs keeps. */
static unsigned int arg_flags(const union flags_arg *a, bool fsx)
{
	static const struct {
		unsigned int xflag, flag;
	} map[] = {
		{ FS_XFLAG_IMMUTABLE, FS_IMMUTABLE_FL },
		{ FS_XFLAG_APPEND, FS_APPEND_FL },
		{ FS_XFLAG_NODUMP, FS_NODUMP_FL },
		{ FS_XFLAG_NOATIME, FS_NOATIME_FL },
	};
	unsigned int flags = 0;

	if (!fsx)
		return a->flags;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (a->fsx.fsx_xflags & map[i].xflag)
			flags |= map[i].flag;
	return flags;
}

/* Does new change anything of old besides the flags tmpfs lets change? */
static bool changes_other(const union flags_arg *old, const union flags_arg *new, bool fsx)
{
	const unsigned int keep =
		FS_XFLAG_IMMUTABLE | FS_XFLAG_APPEND | FS_XFLAG_NODUMP | FS_XFLAG_NOATIME;

	if (!fsx)
		return (old->flags ^ new->flags) & ~TMPFS_FL_MODIFIABLE;
	return ((old->fsx.fsx_xflags ^ new->fsx.fsx_xflags) & ~keep) ||
	       old->fsx.fsx_extsize != new->fsx.fsx_extsize ||
	       old->fsx.fsx_projid != new->fsx.fsx_projid ||
	       old->fsx.fsx_cowextsize != new->fsx.fsx_cowextsize;
}

/* May the caller change the flags of the object open as fd from old to new? */
static int may_set(fuse_req_t req, int fd, const union flags_arg *old, const union flags_arg *new,
		   bool fsx)
{
	struct stat sb;

	if (fstat(fd, &sb))
		return -errno;
	if (fuse_req_ctx(req)->uid != sb.st_uid && !caller_capable(req, CAP_FOWNER))
		return -EPERM;
	if (((arg_flags(old, fsx) ^ arg_flags(new, fsx)) & GUARD_FL) &&
	    !caller_capable(req, CAP_LINUX_IMMUTABLE))
		return -EPERM;
	/* Kept as they are, the others pass: a store on another file system has more. */
	return changes_other(old, new, fsx) ? -EOPNOTSUPP : 0;
}

static int set_flags(fuse_req_t req, struct shmfs_inode *inode, unsigned int cmd,
		     const union flags_arg *new)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	bool fsx = cmd == FS_IOC_FSSETXATTR;
	union flags_arg old;
	int fd = flags_open(fs, inode), err;

	if (fd < 0)
		return fd;
	memset(&old, 0, sizeof(old));
	shmfs_inode_lock(inode);
	err = ioctl(fd, fsx ? FS_IOC_FSGETXATTR : FS_IOC_GETFLAGS, &old) ? -errno : 0;
	if (!err)
		err = may_set(req, fd, &old, new, fsx);
	if (!err && (arg_flags(new, fsx) & GUARD_FL))
		guard_keep(fs, inode);
	if (!err && ioctl(fd, cmd, new))
		err = -errno;
	if (!err)
		inode->fsflags = (int)(arg_flags(new, fsx) & GUARD_FL);
	pthread_mutex_unlock(&inode->lock);
	close(fd);
	return err;
}

static int get_flags(struct shmfs_fs *fs, struct shmfs_inode *inode, unsigned int cmd,
		     union flags_arg *a)
{
	int fd = flags_open(fs, inode), err;

	if (fd < 0)
		return fd;
	err = ioctl(fd, cmd, a) ? -errno : 0;
	close(fd);
	return err;
}

void shmfs_fsflags_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, const void *in_buf,
			 size_t in_bufsz, size_t out_bufsz)
{
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	size_t size = arg_size(cmd);
	union flags_arg a;
	int err;

	memset(&a, 0, sizeof(a));
	if (cmd == FS_IOC_GETFLAGS || cmd == FS_IOC_FSGETXATTR) {
		err = out_bufsz < size ? -EINVAL : get_flags(shmfs_req_fs(req), inode, cmd, &a);
		if (err)
			fuse_reply_err(req, -err);
		else
			fuse_reply_ioctl(req, 0, &a, size);
		return;
	}
	if (in_bufsz < size) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	memcpy(&a, in_buf, size);
	err = set_flags(req, inode, cmd, &a);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_ioctl(req, 0, NULL, 0);
}
