/* SPDX-License-Identifier: MIT */
/*
 * Handlers that give a segment what tmpfs gives a file: holes for lseek
 * (ops_seek.c), and the segment ioctls, which share the one FUSE ioctl
 * handler with the control channel (ops_ioctl.c).
 */
#ifndef SHMFS_OPS_TMPFS_H
#define SHMFS_OPS_TMPFS_H

#include "fs.h"

void shmfs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		    struct fuse_file_info *fi);
void shmfs_op_ioctl_dispatch(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
			     struct fuse_file_info *fi, unsigned int flags, const void *in_buf,
			     size_t in_bufsz, size_t out_bufsz);

#endif
