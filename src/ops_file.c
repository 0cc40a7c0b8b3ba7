// SPDX-License-Identifier: MIT
/*
 * Open files and their data.
 *
 * Passthrough: the first open of an inode registers one read-write
 * descriptor of its backing file with the kernel; every open of the inode
 * shares that backing id, and the last release gives it back. Reads,
 * writes and mmap never reach the daemon.
 *
 * Cached: every open has its own descriptor of the backing file (fh);
 * the kernel keeps the page cache across opens, so all processes that go
 * through the mount share the same pages, and the daemon reads and writes
 * the backing file when the kernel asks.
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* Flags that describe the caller's descriptor, not the store's. */
#define CALLER_ONLY_FLAGS (O_CREAT | O_EXCL | O_NOCTTY | O_APPEND | O_DIRECT | O_NOFOLLOW)

static int open_backing(struct shmfs_inode *inode, int flags)
{
	char path[SHMFS_PROC_PATH_MAX];
	int fd;

	shmfs_proc_path(path, inode->fd);
	flags = (flags & ~(CALLER_ONLY_FLAGS | O_ACCMODE)) | O_CLOEXEC;
	/* Read-write when allowed: the kernel may read pages through any open. */
	fd = open(path, flags | O_RDWR);
	if (fd < 0 && errno == EACCES)
		fd = open(path, flags | O_RDONLY);
	return fd < 0 ? -errno : fd;
}

/* Count an open of inode; in passthrough mode, get its backing id. */
static int inode_open(struct shmfs_fs *fs, fuse_req_t req, struct shmfs_inode *inode)
{
	int err = 0, fd, id;

	pthread_mutex_lock(&inode->lock);
	if (fs->pt.active && !inode->backing_id) {
		fd = open_backing(inode, 0);
		if (fd < 0) {
			err = fd;
			goto out;
		}
		id = shmfs_passthrough_backing_open(&fs->pt, req, fd);
		if (id < 0) {
			close(fd);
			err = id;
			goto out;
		}
		inode->backing_fd = fd;
		inode->backing_id = id;
	}
	inode->nopen++;
	atomic_fetch_add_explicit(&fs->nr_open, 1, memory_order_relaxed);
out:
	pthread_mutex_unlock(&inode->lock);
	return err;
}

static void inode_close(struct shmfs_fs *fs, fuse_req_t req, struct shmfs_inode *inode)
{
	pthread_mutex_lock(&inode->lock);
	if (--inode->nopen == 0 && inode->backing_id) {
		shmfs_passthrough_backing_close(&fs->pt, req, inode->backing_id);
		close(inode->backing_fd);
		inode->backing_id = 0;
		inode->backing_fd = -1;
	}
	pthread_mutex_unlock(&inode->lock);
	atomic_fetch_sub_explicit(&fs->nr_open, 1, memory_order_relaxed);
}

/*
 * Set up fi for an open of inode. fd is a descriptor of the backing file
 * opened for this request (or -1); it becomes the handle in cached mode.
 */
static int file_open(struct shmfs_fs *fs, fuse_req_t req, struct shmfs_inode *inode,
		     struct fuse_file_info *fi, int fd)
{
	int err = inode_open(fs, req, inode);

	if (err)
		goto out_close;
	fi->noflush = 1;
	if (fs->pt.active) {
		if ((fi->flags & O_TRUNC) && ftruncate(inode->backing_fd, 0)) {
			err = -errno;
			inode_close(fs, req, inode);
			goto out_close;
		}
		if (fd >= 0)
			close(fd);
		fi->fh = 0;
		shmfs_passthrough_prepare_reply(&fs->pt, fi, inode->backing_id);
		return 0;
	}
	if (fd < 0) {
		fd = open_backing(inode, fi->flags);
		if (fd < 0) {
			inode_close(fs, req, inode);
			return fd;
		}
	}
	fi->fh = (uint64_t)fd;
	fi->keep_cache = 1;
	return 0;
out_close:
	if (fd >= 0)
		close(fd);
	return err;
}

void shmfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *p = shmfs_req_inode(req, parent);
	int flags = (fi->flags & ~(CALLER_ONLY_FLAGS | O_ACCMODE)) | O_CREAT | O_RDWR |
		    O_CLOEXEC | O_NOFOLLOW | (fi->flags & O_EXCL);
	struct fuse_entry_param e;
	int fd, pathfd, err;

	fd = openat(p->fd, name, flags, mode);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	err = shmfs_owner_set(req, p, name, fd);
	if (err)
		goto out_unlink;
	pathfd = openat(p->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	err = pathfd < 0 ? -errno : shmfs_entry_from_fd(fs, pathfd, &e);
	if (err)
		goto out_unlink;
	err = file_open(fs, req, shmfs_req_inode(req, e.ino), fi, fd);
	if (err) {
		shmfs_inode_table_forget(&fs->inodes, shmfs_req_inode(req, e.ino), 1);
		fuse_reply_err(req, -err);
		return;
	}
	fuse_reply_create(req, &e, fi);
	return;
out_unlink:
	close(fd);
	unlinkat(p->fd, name, 0);
	fuse_reply_err(req, -err);
}

void shmfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int err = file_open(shmfs_req_fs(req), req, shmfs_req_inode(req, ino), fi, -1);

	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_open(req, fi);
}

void shmfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

	atomic_fetch_add_explicit(&shmfs_req_fs(req)->nr_read, 1, memory_order_relaxed);
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = (int)fi->fh;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

void shmfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		    off_t off, struct fuse_file_info *fi)
{
	ssize_t n;

	atomic_fetch_add_explicit(&shmfs_req_fs(req)->nr_write, 1, memory_order_relaxed);
	n = pwrite((int)fi->fh, buf, size, off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

void shmfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);

	if (!fs->pt.active)
		close((int)fi->fh);
	inode_close(fs, req, shmfs_req_inode(req, ino));
	fuse_reply_err(req, 0);
}

/* The descriptor that reaches inode's data for this request, or -1. */
static int data_fd(struct shmfs_fs *fs, struct shmfs_inode *inode, struct fuse_file_info *fi)
{
	if (fi && !fs->pt.active)
		return (int)fi->fh;
	return inode->backing_fd;	/* only while open, so stable here */
}

void shmfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			off_t length, struct fuse_file_info *fi)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	int fd = data_fd(fs, shmfs_req_inode(req, ino), fi);

	if (fd < 0)
		fuse_reply_err(req, EBADF);
	else
		fuse_reply_err(req, fallocate(fd, mode, offset, length) ? errno : 0);
}

int shmfs_file_truncate(struct shmfs_fs *fs, struct shmfs_inode *inode,
			struct fuse_file_info *fi, off_t size)
{
	int fd, err = 0;

	if (inode->type != S_IFREG)
		return inode->type == S_IFDIR ? -EISDIR : -EINVAL;
	pthread_mutex_lock(&inode->lock);
	fd = data_fd(fs, inode, fi);
	if (fd >= 0) {
		err = ftruncate(fd, size) ? -errno : 0;
		pthread_mutex_unlock(&inode->lock);
		return err;
	}
	pthread_mutex_unlock(&inode->lock);
	fd = open_backing(inode, 0);
	if (fd < 0)
		return fd;
	if (ftruncate(fd, size))
		err = -errno;
	close(fd);
	return err;
}
