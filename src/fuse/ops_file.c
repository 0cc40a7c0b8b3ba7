// SPDX-License-Identifier: MIT
/*
 * Open files and their data.
 *
 * Every inode that has been opened keeps one descriptor of its backing
 * file (read-write when the daemon may) until the kernel forgets it, so
 * later opens and releases cost no system call at all. Only so many are
 * kept for segments that nobody has open (fs->data_idle_max, an eighth of
 * the descriptor limit): past that, the last release gives it back.
 *
 * Passthrough: that descriptor is registered with the kernel once; every
 * open of the inode answers with its backing id. Reads, writes and mmap
 * never reach the daemon.
 *
 * Cached: the handle of an open is the shared descriptor (or, when the
 * open needs to write and the shared one cannot, a descriptor of its
 * own); the kernel keeps the page cache across opens, so all processes
 * that go through the mount share the same pages, and the daemon reads
 * and writes the backing file when the kernel asks. Every page below a
 * segment's length is reserved in the store (segment.h), so the kernel's
 * write-back of mapped pages always finds room, and fsync is answered by
 * the daemon, so it fails once there is none.
 */
#include "ops.h"
#include "reaper.h"
#include "ops_tmpfs.h"
#include "segment.h"
#include "transient.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* An open's handle (cached mode) that is its own descriptor, closed at release. */
#define FH_OWNED (1ULL << 32)

static int fh_fd(uint64_t fh)
{
	return (int)(fh & 0xffffffffu);
}

/*
 * The segment whose backing file is open as fd: the cached path keeps
 * every page below its length reserved in the store (segment.h).
 */
static struct shmfs_segment segment_of(struct shmfs_fs *fs, int fd)
{
	return shmfs_store_segment(&fs->store, fd, !fs->passthrough);
}

void shmfs_data_put(struct shmfs_fs *fs, struct shmfs_inode *inode)
{
	if (inode->backing_id)
		shmfs_transport_backing_close(fs->transport, inode->backing_id);
	if (inode->data_fd >= 0)
		close(inode->data_fd);
	inode->backing_id = 0;
	inode->data_fd = -1;
	inode->data_rw = false;
}

/*
 * Make inode's shared descriptor, from fd (read-write, taken) when it has
 * none, or by opening one; a read-only one is replaced by a writable one
 * when an open wants to write and no open holds it. Inode lock held.
 */
static int data_get(struct shmfs_fs *fs, fuse_req_t req, struct shmfs_inode *inode, bool write,
		    int fd)
{
	bool rw = true;
	int id = 0;

	if (inode->data_fd >= 0 && (inode->data_rw || !write || inode->nopen)) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (fd < 0)
		fd = shmfs_inode_data_open(&fs->inodes, inode, &rw);
	if (fd < 0)
		return fd;
	if (inode->data_fd >= 0 && !rw) {
		close(fd); /* no better than the one it has */
		return 0;
	}
	if (fs->passthrough) {
		id = shmfs_transport_backing_open(fs->transport, fd);
		if (id < 0) {
			close(fd);
			return id;
		}
	}
	shmfs_data_put(fs, inode);
	inode->data_fd = fd;
	inode->data_rw = rw;
	inode->backing_id = id;
	return 0;
}

static void inode_close(struct shmfs_fs *fs, struct shmfs_inode *inode)
{
	bool remove;

	shmfs_inode_lock(inode);
	__atomic_store_n(&inode->nopen, inode->nopen - 1, __ATOMIC_RELAXED);
	if (inode->nopen == 0 && inode->data_fd >= 0) {
		/* Keep it for the next open, within the budget. */
		if (atomic_fetch_add(&fs->data_idle, 1) >= fs->data_idle_max) {
			atomic_fetch_sub(&fs->data_idle, 1);
			shmfs_data_put(fs, inode);
		}
	}
	remove = inode->nopen == 0 && shmfs_transient_marked(&fs->inodes, inode);
	pthread_mutex_unlock(&inode->lock);
	if (remove)
		shmfs_reaper_take(fs, inode);
	atomic_fetch_sub_explicit(&fs->nr_open, 1, memory_order_relaxed);
}

/*
 * Set up fi for an open of inode. fd is a read-write descriptor of the
 * backing file made for this request (or -1), and is taken.
 */
static int file_open(struct shmfs_fs *fs, fuse_req_t req, struct shmfs_inode *inode,
		     struct fuse_file_info *fi, int fd)
{
	bool write = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	bool idle;
	uint64_t fh;
	bool rw;
	int err;

	shmfs_inode_lock(inode);
	idle = inode->data_fd >= 0 && inode->nopen == 0;
	err = data_get(fs, req, inode, write, fd);
	if (!err && write)
		err = shmfs_fsflags_may_write(fs, inode, fd >= 0);
	if (err)
		goto out;
	fh = (uint64_t)inode->data_fd;
	if (write && !inode->data_rw && !fs->passthrough) {
		/* Others hold the read-only shared one: this open has its own. */
		err = shmfs_inode_data_open(&fs->inodes, inode, &rw);
		if (err < 0)
			goto out;
		fh = (uint64_t)err | FH_OWNED;
		err = 0;
	}
	if (fi->flags & O_TRUNC) {
		struct shmfs_segment seg = segment_of(fs, fh_fd(fh));

		err = shmfs_segment_truncate(&seg, 0);
		if (err) {
			if (fh & FH_OWNED)
				close(fh_fd(fh));
			goto out;
		}
	}
	if (idle)
		atomic_fetch_sub(&fs->data_idle, 1);
	__atomic_store_n(&inode->nopen, inode->nopen + 1, __ATOMIC_RELAXED);
	atomic_fetch_add_explicit(&fs->nr_open, 1, memory_order_relaxed);
	fi->noflush = 1;
	if (fs->passthrough) {
		fi->fh = 0;
		shmfs_transport_open_reply(fs->transport, fi, inode->backing_id);
	} else {
		fi->fh = fh;
		fi->keep_cache = 1;
	}
out:
	if (err && !idle && inode->nopen == 0)
		shmfs_data_put(fs, inode); /* made for this open: not kept */
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
	 * The descriptor becomes the one every open of the segment shares:
	 * none of the caller's own flags (O_TRUNC is done by file_open, which
	 * keeps a daemon-kept size limit's count).
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
		shmfs_names_begin(fs);
		if (!unlinkat(pfd, name, 0))
			shmfs_quota_name_refund(fs->store.quota);
		shmfs_names_end(fs);
	}
	shmfs_inode_fd_put(&fs->inodes, p, pfd);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	err = file_open(fs, req, shmfs_req_inode(req, e.ino), fi, fd);
	if (err) {
		shmfs_forget_inode(fs, shmfs_req_inode(req, e.ino), 1);
		fuse_reply_err(req, -err);
		return;
	}
	fuse_reply_create(req, &e, fi);
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
	buf.buf[0].fd = fh_fd(fi->fh);
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

void shmfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	struct shmfs_segment seg = segment_of(fs, fh_fd(fi->fh));
	ssize_t n;

	atomic_fetch_add_explicit(&fs->nr_write, 1, memory_order_relaxed);
	/* The inode lock keeps the length stable while the write grows it. */
	shmfs_inode_lock(inode);
	n = shmfs_segment_write(&seg, buf, size, off);
	pthread_mutex_unlock(&inode->lock);
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
	struct shmfs_fs *fs = shmfs_req_fs(req);

	if (!fs->passthrough && (fi->fh & FH_OWNED))
		close(fh_fd(fi->fh));
	inode_close(fs, shmfs_req_inode(req, ino));
	fuse_reply_err(req, 0);
}

/*
 * The descriptor that changes inode's data for this request, or -1: the
 * open's own (the kernel asks only through opens for writing), else the
 * shared one if it may write. Inode lock held.
 */
static int data_fd(struct shmfs_fs *fs, struct shmfs_inode *inode, struct fuse_file_info *fi)
{
	if (fi && !fs->passthrough)
		return fh_fd(fi->fh);
	return inode->data_rw ? inode->data_fd : -1;
}

/*
 * Lock inode for a change of its data, and find the descriptor to make
 * it through: the request's handle, the passthrough backing file, or one
 * opened for it (*own, which data_unlock() closes). The descriptor, or
 * -errno with the inode unlocked.
 */
static int data_lock(struct shmfs_fs *fs, struct shmfs_inode *inode, struct fuse_file_info *fi,
		     int *own)
{
	int fd;
	bool rw;

	*own = -1;
	shmfs_inode_lock(inode);
	fd = data_fd(fs, inode, fi);
	if (fd >= 0)
		return fd;
	pthread_mutex_unlock(&inode->lock);
	*own = shmfs_inode_data_open(&fs->inodes, inode, &rw);
	if (*own < 0)
		return *own;
	shmfs_inode_lock(inode);
	return *own;
}

static void data_unlock(struct shmfs_inode *inode, int own)
{
	pthread_mutex_unlock(&inode->lock);
	if (own >= 0)
		close(own);
}

void shmfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			struct fuse_file_info *fi)
{
	struct shmfs_fs *fs = shmfs_req_fs(req);
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	int own, fd = data_lock(fs, inode, fi, &own), err = fd;

	if (fd >= 0) {
		struct shmfs_segment seg = segment_of(fs, fd);

		err = shmfs_segment_fallocate(&seg, mode, offset, length);
		data_unlock(inode, own);
	}
	fuse_reply_err(req, -err);
}

int shmfs_file_truncate(struct shmfs_fs *fs, struct shmfs_inode *inode, struct fuse_file_info *fi,
			off_t size)
{
	struct shmfs_segment seg;
	int own, fd, err;

	if (inode->type != S_IFREG)
		return inode->type == S_IFDIR ? -EISDIR : -EINVAL;
	err = shmfs_fsflags_may_truncate(fs, inode, fi != NULL);
	if (err)
		return err;
	fd = data_lock(fs, inode, fi, &own);
	if (fd < 0)
		return fd;
	seg = segment_of(fs, fd);
	err = shmfs_segment_truncate(&seg, size);
	data_unlock(inode, own);
	return err;
}

int shmfs_file_open(struct shmfs_fs *fs, fuse_req_t req, struct shmfs_inode *inode,
		    struct fuse_file_info *fi, int fd)
{
	return file_open(fs, req, inode, fi, fd);
}
