// SPDX-License-Identifier: MIT
/*
 * Open files and their data.
 *
 * The daemon's descriptors of segments' data sit in a bounded cache
 * (inode.h: shmfs_inode_data_get()): each request borrows one for as long
 * as it runs, and one that was closed to make room is opened again, so no
 * number of open files can use up the daemon's descriptors. A cached one
 * costs no system call.
 *
 * Passthrough: an inode's backing file is registered with the kernel at
 * its first open, and every open of the inode answers with its backing
 * id; reads, writes and mmap never reach the daemon. The kernel keeps its
 * own reference to the file, so the daemon's descriptor goes back to the
 * cache at once. Only so many registrations are kept for segments that
 * nobody has open (fs->backing_idle_max, an eighth of the descriptor
 * limit): past that, the last release gives it back.
 *
 * Cached: an open has no descriptor of its own; the kernel keeps the page
 * cache across opens, so all processes that go through the mount share
 * the same pages, and the daemon reads and writes the backing file when
 * the kernel asks. Every page below a segment's length is reserved in the
 * store (segment.h), so the kernel's write-back of mapped pages always
 * finds room, and fsync is answered by the daemon, so it fails once there
 * is none. A segment removed while it is open keeps a pinned descriptor
 * (reclaim.h), since nothing else holds its bytes.
 */
#include "ops.h"
#include "reaper.h"
#include "reclaim.h"
#include "ops_tmpfs.h"
#include "segment.h"
#include "transient.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/*
 * The segment whose backing file is open as fd: the cached path keeps
 * every page below its length reserved in the store (segment.h).
 */
static struct shmfs_segment segment_of(struct shmfs_fs *fs, int fd)
{
	return shmfs_store_segment(&fs->store, fd, !fs->passthrough);
}

void shmfs_backing_put(struct shmfs_fs *fs, struct shmfs_inode *inode)
{
	if (inode->backing_id)
		shmfs_transport_backing_close(fs->transport, inode->backing_id);
	inode->backing_id = 0;
	inode->backing_rw = false;
}

/*
 * Register inode's backing file with the kernel when it has none, or
 * when an open wants to write through a read-only one and no open holds
 * it. Inode lock held.
 */
static int backing_get(struct shmfs_fs *fs, fuse_req_t req, struct shmfs_inode *inode, bool write)
{
	bool rw;
	int fd, id;

	if (inode->backing_id && (inode->backing_rw || !write || inode->nopen))
		return 0;
	fd = shmfs_inode_data_get(&fs->inodes, inode, true, &rw);
	if (fd < 0)
		return fd;
	id = inode->backing_id && !rw ? 0 : shmfs_transport_backing_open(fs->transport, fd);
	shmfs_inode_data_put(&fs->inodes, inode, fd);
	if (id <= 0)
		return id; /* 0: no better than the one it has */
	shmfs_backing_put(fs, inode);
	inode->backing_id = id;
	inode->backing_rw = rw;
	return 0;
}

static void inode_close(struct shmfs_fs *fs, struct shmfs_inode *inode)
{
	bool last, remove;

	shmfs_inode_lock(inode);
	__atomic_store_n(&inode->nopen, inode->nopen - 1, __ATOMIC_RELAXED);
	last = inode->nopen == 0;
	if (last && inode->kept_data_fd >= 0) {
		shmfs_inode_data_put(&fs->inodes, inode, inode->kept_data_fd);
		inode->kept_data_fd = -1;
	}
	if (last && inode->backing_id) {
		/* Keep it for the next open, within the budget. */
		if (atomic_fetch_add(&fs->backing_idle, 1) >= fs->backing_idle_max) {
			atomic_fetch_sub(&fs->backing_idle, 1);
			shmfs_backing_put(fs, inode);
		}
	}
	remove = last && shmfs_transient_marked(&fs->inodes, inode);
	pthread_mutex_unlock(&inode->lock);
	if (last)
		shmfs_reclaim_closed(fs->store.quota, &fs->inodes, inode);
	if (remove)
		shmfs_reaper_take(fs, inode);
	atomic_fetch_sub_explicit(&fs->nr_open, 1, memory_order_relaxed);
}

/*
 * Truncate an open with O_TRUNC, and make sure that the daemon can reach
 * the segment's data: a descriptor borrowed and given back. Inode lock held.
 */
static int data_check(struct shmfs_fs *fs, struct shmfs_inode *inode, bool write, bool trunc)
{
	struct shmfs_segment seg;
	bool rw;
	int fd, err = 0;

	if (fs->passthrough && !trunc)
		return 0;
	fd = shmfs_inode_data_get(&fs->inodes, inode, write, &rw);
	if (fd < 0)
		return fd;
	if (trunc) {
		seg = segment_of(fs, fd);
		err = shmfs_segment_truncate(&seg, 0);
	}
	shmfs_inode_data_put(&fs->inodes, inode, fd);
	return err;
}

/* Set up fi for an open of inode by the caller of req (made: which made it). */
static int file_open(struct shmfs_fs *fs, fuse_req_t req, struct shmfs_inode *inode,
		     struct fuse_file_info *fi, bool made)
{
	bool trunc = fi->flags & O_TRUNC;
	bool write = (fi->flags & O_ACCMODE) != O_RDONLY || trunc;
	bool idle;
	int err = 0;

	shmfs_inode_lock(inode);
	idle = inode->backing_id && inode->nopen == 0;
	if (fs->passthrough)
		err = backing_get(fs, req, inode, write);
	if (!err && write)
		err = shmfs_fsflags_may_write(fs, inode, made);
	if (!err)
		err = data_check(fs, inode, write, trunc);
	if (err)
		goto out;
	if (idle)
		atomic_fetch_sub(&fs->backing_idle, 1);
	if (inode->nopen == 0)
		inode->open_uid = fuse_req_ctx(req)->uid;
	__atomic_store_n(&inode->nopen, inode->nopen + 1, __ATOMIC_RELAXED);
	atomic_fetch_add_explicit(&fs->nr_open, 1, memory_order_relaxed);
	fi->noflush = 1;
	fi->fh = 0;
	if (fs->passthrough)
		shmfs_transport_open_reply(fs->transport, fi, inode->backing_id);
	else
		fi->keep_cache = 1;
out:
	if (err && !idle && inode->nopen == 0)
		shmfs_backing_put(fs, inode); /* made for this open: not kept */
	pthread_mutex_unlock(&inode->lock);
	return err;
}

/*
 * Make the segment parent/name for the caller: a new read-write
 * descriptor of it, or -errno. The kernel sends CREATE only for a name it
 * knows to be free, so an existing one is never opened or given away here.
 */
static int create_segment(fuse_req_t req, struct shmfs_inode *parent, int pfd, const char *name,
			  mode_t mode)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	int fd, err;

	err = shmfs_quota_name_charge(fs->store.quota);
	if (err)
		return err;
	shmfs_names_begin(fs);
	shmfs_umask_set(req);
	fd = openat(pfd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		err = -errno;
		goto out_refund;
	}
	err = shmfs_owner_set(req, parent, name, fd, mode);
	if (!err) {
		shmfs_names_end(fs);
		return fd;
	}
	close(fd);
	unlinkat(pfd, name, 0);
out_refund:
	shmfs_quota_name_refund(fs->store.quota);
	shmfs_names_end(fs);
	return err;
}

void shmfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *p = shmfs_req_inode(req, parent);
	struct fuse_entry_param e;
	int pfd, fd, pathfd, err;

	/* Only an O_TMPFILE open, made a create by tmpfile_compat.c, has both bits. */
	if ((fi->flags & O_TMPFILE) == O_TMPFILE) {
		shmfs_op_tmpfile(req, parent, mode, fi);
		return;
	}
	pfd = shmfs_req_fd_get(req, p);
	if (pfd < 0)
		return;
	/*
	 * The descriptor becomes the segment's data descriptor: none of the
	 * caller's own flags (O_TRUNC is done by file_open, which keeps a
	 * daemon-kept size limit's count).
	 */
	fd = create_segment(req, p, pfd, name, mode);
	if (fd < 0) {
		shmfs_inode_fd_put(&fs->inodes, p, pfd);
		fuse_reply_err(req, -fd);
		return;
	}
	pathfd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	err = pathfd < 0 ? -errno : shmfs_entry_from_fd(fs, pathfd, &e);
	if (err) {
		close(fd);
	} else {
		err = shmfs_file_open(fs, req, shmfs_req_inode(req, e.ino), fi, fd);
		if (err)
			shmfs_forget_inode(fs, shmfs_req_inode(req, e.ino), 1);
	}
	/*
	 * A create that fails leaves no name: nobody has seen it, as the
	 * kernel holds the directory locked until this reply.
	 */
	if (err) {
		shmfs_names_begin(fs);
		if (!unlinkat(pfd, name, 0))
			shmfs_quota_name_refund(fs->store.quota);
		shmfs_names_end(fs);
	}
	shmfs_inode_fd_put(&fs->inodes, p, pfd);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_create(req, &e, fi);
}

void shmfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int err = file_open(shmfs_req_fs(req), req, shmfs_req_inode(req, ino), fi, false);

	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_open(req, fi);
}

void shmfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	bool rw;
	int fd;

	atomic_fetch_add_explicit(&fs->nr_read, 1, memory_order_relaxed);
	fd = shmfs_inode_data_get(&fs->inodes, inode, false, &rw);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = fd;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
	shmfs_inode_data_put(&fs->inodes, inode, fd);
}

void shmfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	struct shmfs_segment seg;
	ssize_t n;
	bool rw;
	int fd;

	atomic_fetch_add_explicit(&fs->nr_write, 1, memory_order_relaxed);
	fd = shmfs_inode_data_get(&fs->inodes, inode, true, &rw);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	seg = segment_of(fs, fd);
	/* The inode lock keeps the length stable while the write grows it. */
	shmfs_inode_lock(inode);
	n = shmfs_segment_write(&seg, buf, size, off);
	pthread_mutex_unlock(&inode->lock);
	shmfs_inode_data_put(&fs->inodes, inode, fd);
	/*
	 * The kernel takes a short reply to a write-back of dirty pages
	 * (mmap stores) as done: say ENOSPC, so that msync and fsync report
	 * the lost pages instead of dropping them without a word.
	 */
	if (fi->writepage && n >= 0 && (size_t)n < size)
		n = -ENOSPC;
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

/*
 * fsync, fdatasync and msync(MS_SYNC). Cached path: the kernel sends this
 * only after it has written every dirty page of the inode back and had
 * each of those writes answered (fuse_fsync: file_write_and_wait_range,
 * then fuse_sync_writes), and the daemon answers a write once its bytes
 * are in the backing file: they are in the store, so say so. The answer
 * is the point: with no daemon to give it, the kernel fails the call
 * instead of answering 0 for pages only its own cache holds.
 *
 * Passthrough: stores and writes land in the backing file's pages as
 * they are made, so every byte already is in the store. ENOSYS tells the
 * kernel to answer every later fsync itself, with no round trip.
 */
void shmfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fuse_reply_err(req, shmfs_req_fs(req)->passthrough ? ENOSYS : 0);
}

void shmfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	inode_close(shmfs_req_fs(req), shmfs_req_inode(req, ino));
	fuse_reply_err(req, 0);
}

/*
 * Lock inode for a change of its data, with a descriptor that may make
 * it (borrowed: data_unlock() gives it back). The descriptor, or -errno
 * with the inode unlocked.
 */
static int data_lock(struct shmfs_fs *fs, struct shmfs_inode *inode)
{
	bool rw;
	int fd = shmfs_inode_data_get(&fs->inodes, inode, true, &rw);

	if (fd >= 0)
		shmfs_inode_lock(inode);
	return fd;
}

static void data_unlock(struct shmfs_fs *fs, struct shmfs_inode *inode, int fd)
{
	pthread_mutex_unlock(&inode->lock);
	shmfs_inode_data_put(&fs->inodes, inode, fd);
}

void shmfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			struct fuse_file_info *fi)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	int fd = data_lock(fs, inode), err = fd;

	if (fd >= 0) {
		struct shmfs_segment seg = segment_of(fs, fd);

		err = shmfs_segment_fallocate(&seg, mode, offset, length);
		data_unlock(fs, inode, fd);
	}
	fuse_reply_err(req, -err);
}

int shmfs_file_truncate(struct shmfs_fs *fs, struct shmfs_inode *inode, struct fuse_file_info *fi,
			off_t size)
{
	struct shmfs_segment seg;
	int fd, err;

	if (inode->type != S_IFREG)
		return inode->type == S_IFDIR ? -EISDIR : -EINVAL;
	err = shmfs_fsflags_may_truncate(fs, inode, fi != NULL);
	if (err)
		return err;
	fd = data_lock(fs, inode);
	if (fd < 0)
		return fd;
	seg = segment_of(fs, fd);
	err = shmfs_segment_truncate(&seg, size);
	data_unlock(fs, inode, fd);
	return err;
}

int shmfs_file_open(struct shmfs_fs *fs, fuse_req_t req, struct shmfs_inode *inode,
		    struct fuse_file_info *fi, int fd)
{
	if (fd >= 0)
		shmfs_inode_data_offer(&fs->inodes, inode, fd);
	return file_open(fs, req, inode, fi, fd >= 0);
}
