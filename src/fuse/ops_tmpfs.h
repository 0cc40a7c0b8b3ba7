/* SPDX-License-Identifier: MIT */
/*
 * Handlers that give a segment what tmpfs gives a file: holes for lseek
 * (ops_seek.c), the inode flags of chattr (ops_fsflags.c), unnamed files
 * for O_TMPFILE (ops_tmpfile.c), and the segment ioctls, which share the
 * one FUSE ioctl handler with the control channel (ops_ioctl.c).
 */
#ifndef SHMFS_OPS_TMPFS_H
#define SHMFS_OPS_TMPFS_H

#include "fs.h"

void shmfs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		    struct fuse_file_info *fi);
void shmfs_op_tmpfile(fuse_req_t req, fuse_ino_t parent, mode_t mode, struct fuse_file_info *fi);
void shmfs_op_ioctl_dispatch(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
			     struct fuse_file_info *fi, unsigned int flags, const void *in_buf,
			     size_t in_bufsz, size_t out_bufsz);

/*
 * Set fi up for an open of inode, with fd (read-write, taken; or -1) the
 * descriptor that this request made it with (ops_file.c). 0 or -errno.
 */
int shmfs_file_open(struct shmfs_fs *fs, fuse_req_t req, struct shmfs_inode *inode,
		    struct fuse_file_info *fi, int fd);

/* FS_IOC_GETFLAGS or FS_IOC_SETFLAGS on ino: answers the request. */
void shmfs_fsflags_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, const void *in_buf,
			 size_t in_bufsz, size_t out_bufsz);
/*
 * May inode be opened for writing or truncating (made: this request made
 * it)? 0, -EPERM when it is immutable or append-only, or another -errno.
 * Inode lock held.
 */
int shmfs_fsflags_may_write(struct shmfs_fs *fs, struct shmfs_inode *inode, bool made);
/*
 * May inode be truncated (opened: through a descriptor open for writing)?
 * 0 or -EPERM, as tmpfs answers truncate() and ftruncate(), or another
 * -errno. Inode lock not held.
 */
int shmfs_fsflags_may_truncate(struct shmfs_fs *fs, struct shmfs_inode *inode, bool opened);

#endif
