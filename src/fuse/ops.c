// SPDX-License-Identifier: MIT
/*
 * The FUSE operations table, connection set-up, and the handlers for
 * lookup, forget and attributes.
 *
 * Caching: the store is private to the daemon, so every change to a
 * segment comes through this mount and the kernel's caches of entries and
 * attributes can live long; negative entries are cached too, which makes
 * create-or-open of a new name cheap.
 */
#include "ops.h"
#include "ops_tmpfs.h"
#include "config.h"
#include "log.h"
#include "mountinfo.h"
#include "reclaim.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

int shmfs_entry_from_fd(struct shmfs_fs *fs, int fd, struct fuse_entry_param *e)
{
	struct shmfs_inode *inode;
	struct stat sb;
	int err;

	if (fstatat(fd, "", &sb, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		err = -errno;
		close(fd);
		return err;
	}
	inode = shmfs_inode_table_get(&fs->inodes, fd, &sb);
	if (!inode)
		return -errno;
	memset(e, 0, sizeof(*e));
	e->ino = inode == &fs->inodes.root ? FUSE_ROOT_ID : (uintptr_t)inode;
	e->attr = sb;
	e->attr_timeout = fs->timeout;
	e->entry_timeout = fs->timeout;
	return 0;
}

int shmfs_entry_lookup(struct shmfs_fs *fs, struct shmfs_inode *parent, const char *name,
		       struct fuse_entry_param *e)
{
	int pfd = shmfs_inode_fd_get(&fs->inodes, parent), fd;

	if (pfd < 0)
		return pfd;
	fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	/* Out of descriptors: the cache gives some back. */
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && shmfs_inode_table_shrink(&fs->inodes))
		fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	shmfs_inode_fd_put(&fs->inodes, parent, pfd);
	if (fd < 0)
		return fd;
	return shmfs_entry_from_fd(fs, fd, e);
}

/* The object fd, or pfd/name, as O_PATH (owned by the caller when not fd). */
static int object_fd(int pfd, const char *name, int fd)
{
	if (fd >= 0)
		return fd;
	fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int shmfs_owner_set(fuse_req_t req, struct shmfs_inode *parent, const char *name, int fd,
		    mode_t mode)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct shmfs_fs *fs = shmfs_req_fs(req);
	char path[SHMFS_PROC_PATH_MAX];
	struct stat psb, sb;
	gid_t gid = ctx->gid;
	int pfd, obj, err = 0;

	if (!fs->can_chown)
		return 0;
	pfd = shmfs_inode_fd_get(&fs->inodes, parent);
	if (pfd < 0)
		return pfd;
	obj = fstatat(pfd, "", &psb, AT_EMPTY_PATH) ? -errno : object_fd(pfd, name, fd);
	shmfs_inode_fd_put(&fs->inodes, parent, pfd);
	if (obj < 0)
		return obj;
	if (psb.st_mode & S_ISGID)
		gid = (gid_t)-1; /* the store already gave the directory's group */
	/*
	 * A change of owner clears the set-ID bits: put back those the store
	 * gave (the kernel already dropped any the creator may not have).
	 */
	if ((mode & (S_ISUID | S_ISGID)) && fstatat(obj, "", &sb, AT_EMPTY_PATH))
		err = -errno;
	if (!err && fchownat(obj, "", ctx->uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		err = -errno;
	if (!err && (mode & (S_ISUID | S_ISGID)) && (sb.st_mode & (S_ISUID | S_ISGID))) {
		shmfs_proc_path(path, obj);
		if (chmod(path, sb.st_mode & 07777))
			err = -errno;
	}
	if (obj != fd)
		close(obj);
	return err;
}

void shmfs_umask_set(fuse_req_t req)
{
	static __thread bool own_umask;

	if (!shmfs_req_fs(req)->opts->acl)
		return; /* the kernel applied it; the daemon's is 0 */
	/* umask() is per process: give this thread a umask of its own, once. */
	if (!own_umask && !unshare(CLONE_FS))
		own_umask = true;
	if (own_umask)
		umask(fuse_req_ctx(req)->umask);
}

/*
 * In the cached path every page read comes from the daemon; the kernel's
 * default readahead (128 KiB) makes that eight times as many requests as
 * a 1 MiB one. Only root may raise it, through the mount's bdi, and only
 * once the kernel has applied the INIT reply (which caps it): a statfs
 * through the mount returns after that.
 */
static void *raise_readahead(void *arg)
{
	const char *mountpoint = arg;
	char dev[32], path[96];
	struct statvfs sv;
	FILE *f;

	if (statvfs(mountpoint, &sv) || !shmfs_mountinfo_device(mountpoint, dev, sizeof(dev)))
		return NULL;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	f = fopen(path, "we");
	if (!f)
		return NULL;
	fputs("1024\n", f);
	if (fclose(f))
		shmfs_debug("cannot raise readahead of '%s'", mountpoint);
	return NULL;
}

static void shmfs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct shmfs_fs *fs = userdata;
	char why[SHMFS_TRANSPORT_WHY_MAX];

	/* Nobody changes the store behind the kernel's back. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
	if (conn->capable & FUSE_CAP_IOCTL_DIR)
		conn->want |= FUSE_CAP_IOCTL_DIR;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (fs->opts->acl) {
		if (!(conn->capable & FUSE_CAP_POSIX_ACL) ||
		    !(conn->capable & FUSE_CAP_DONT_MASK)) {
			shmfs_fs_report_ready(fs, "acl, but the kernel does not offer POSIX ACLs");
			fuse_session_exit(fs->se);
			return;
		}
		/* The store applies default ACLs, or else the umask (shmfs_umask_set). */
		conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
	}
	if (!shmfs_transport_negotiate(fs->transport, conn, why, sizeof(why))) {
		shmfs_fs_report_ready(fs, why);
		fuse_session_exit(fs->se);
		return;
	}
	fs->passthrough = shmfs_transport_passthrough(fs->transport);
	/* Cached: nothing but the daemon's descriptor keeps a removed segment. */
	fs->inodes.keep_removed = !fs->passthrough;
	if (!fs->passthrough && geteuid() == 0) {
		pthread_t t;

		if (!pthread_create(&t, NULL, raise_readahead, (void *)fs->mountpoint))
			pthread_detach(t);
	}
	if (fs->inodes.fds.bounded)
		shmfs_info("'%s' descriptors of cached inodes: at most %u open", fs->mountpoint,
			   fs->inodes.fds.max);
	else
		shmfs_info("'%s' descriptors of cached inodes: one per inode, unbounded (%s)",
			   fs->mountpoint, fs->inodes.fds.why_unbounded);
	shmfs_transport_ready(fs->transport);
}

static void shmfs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct fuse_entry_param e;
	int err = shmfs_entry_lookup(fs, shmfs_req_inode(req, parent), name, &e);

	if (err == -ENOENT) {
		/* A negative entry, cached like a positive one. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->timeout;
		fuse_reply_entry(req, &e);
	} else if (err) {
		fuse_reply_err(req, -err);
	} else {
		fuse_reply_entry(req, &e);
	}
}

void shmfs_forget_inode(struct shmfs_fs *fs, struct shmfs_inode *inode, uint64_t n)
{
	inode = shmfs_reclaim_forget(fs->store.quota, &fs->inodes, inode, n);
	if (!inode)
		return;
	/* No open is left: the kernel releases every file before it forgets. */
	if (inode->backing_id)
		atomic_fetch_sub(&fs->backing_idle, 1);
	shmfs_backing_put(fs, inode);
	shmfs_inode_free(&fs->inodes, inode);
}

static void shmfs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	shmfs_forget_inode(shmfs_req_fs(req), shmfs_req_inode(req, ino), nlookup);
	fuse_reply_none(req);
}

static void shmfs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);

	for (size_t i = 0; i < count; i++)
		shmfs_forget_inode(fs, shmfs_req_inode(req, forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

static void reply_attr(fuse_req_t req, struct shmfs_inode *inode)
{
	struct shmfs_inode_table *t = &shmfs_req_fs(req)->inodes;
	int fd = shmfs_inode_fd_get(t, inode), err;
	struct stat sb;

	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	err = fstatat(fd, "", &sb, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ? errno : 0;
	shmfs_inode_fd_put(t, inode, fd);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &sb, shmfs_req_fs(req)->timeout);
}

static void shmfs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	reply_attr(req, shmfs_req_inode(req, ino));
}

static int set_times(struct shmfs_inode *inode, int fd, const struct stat *attr, int valid)
{
	char path[SHMFS_PROC_PATH_MAX];
	struct timespec tv[2];

	tv[0].tv_nsec = tv[1].tv_nsec = UTIME_OMIT;
	if (valid & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_ATIME)
		tv[0] = attr->st_atim;
	if (valid & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;
	if (inode->type == S_IFLNK)
		return utimensat(fd, "", tv, AT_EMPTY_PATH) ? -errno : 0;
	shmfs_proc_path(path, fd);
	return utimensat(AT_FDCWD, path, tv, 0) ? -errno : 0;
}

static int set_mode(struct shmfs_inode *inode, int fd, mode_t mode)
{
	char path[SHMFS_PROC_PATH_MAX];

	if (inode->type == S_IFLNK)
		return -EOPNOTSUPP;
	shmfs_proc_path(path, fd);
	return chmod(path, mode & 07777) ? -errno : 0;
}

static void shmfs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
			     struct fuse_file_info *fi)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	int fd = shmfs_inode_fd_get(&fs->inodes, inode), err = 0;

	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	if (valid & FUSE_SET_ATTR_MODE)
		err = set_mode(inode, fd, attr->st_mode);
	if (!err && (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))) {
		uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
		gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;

		if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			err = -errno;
	}
	if (!err && (valid & FUSE_SET_ATTR_SIZE))
		err = shmfs_file_truncate(fs, inode, fi, attr->st_size);
	if (!err && (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)))
		err = set_times(inode, fd, attr, valid);
	shmfs_inode_fd_put(&fs->inodes, inode, fd);
	if (err)
		fuse_reply_err(req, -err);
	else
		reply_attr(req, inode);
}

static void shmfs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	int err = shmfs_store_statfs(&shmfs_req_fs(req)->store, &sv);

	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops shmfs_ops = {
	.init = shmfs_op_init,
	.lookup = shmfs_op_lookup,
	.forget = shmfs_op_forget,
	.forget_multi = shmfs_op_forget_multi,
	.getattr = shmfs_op_getattr,
	.setattr = shmfs_op_setattr,
	.statfs = shmfs_op_statfs,
	.readlink = shmfs_op_readlink,
	.mknod = shmfs_op_mknod,
	.mkdir = shmfs_op_mkdir,
	.symlink = shmfs_op_symlink,
	.link = shmfs_op_link,
	.unlink = shmfs_op_unlink,
	.rmdir = shmfs_op_rmdir,
	.rename = shmfs_op_rename,
	.create = shmfs_op_create,
	.open = shmfs_op_open,
	.read = shmfs_op_read,
	.write = shmfs_op_write,
	.release = shmfs_op_release,
	.fsync = shmfs_op_fsync,
	.fallocate = shmfs_op_fallocate,
	.lseek = shmfs_op_lseek,
	.opendir = shmfs_op_opendir,
	.readdir = shmfs_op_readdir,
	.readdirplus = shmfs_op_readdirplus,
	.releasedir = shmfs_op_releasedir,
	.setxattr = shmfs_op_setxattr,
	.getxattr = shmfs_op_getxattr,
	.listxattr = shmfs_op_listxattr,
	.removexattr = shmfs_op_removexattr,
	.ioctl = shmfs_op_ioctl_dispatch,
	/*
	 * fsync is the daemon's to answer only in the cached path (see
	 * shmfs_op_fsync). No flush, fsyncdir, access or locks: opens ask
	 * for no flush at close (close is no sync point, and a flush would
	 * cost every close a round trip), a directory holds no data,
	 * default_permissions does the access checks, and flock/POSIX locks
	 * are kept by the kernel for this host.
	 */
};
