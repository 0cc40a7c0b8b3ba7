// SPDX-License-Identifier: MIT
/*
 * The one FUSE ioctl handler: the inode flags (ops_fsflags.c), the
 * transient mark, and the control channel (ops_control.c), which answers
 * everything else.
 *
 * The transient mark is set through an ioctl on the segment rather than
 * by setting its attribute, because attributes are refused without -o
 * xattr (ops_xattr.c). The kernel checks nothing for an ioctl: the mark is
 * a deferred unlink, and setting or clearing it takes the unlink's rights
 * (shmfs_transient_may_mark, through shmfs_xattr_change), exactly as the
 * attribute does.
 */
#include "ops.h"
#include "ops_tmpfs.h"
#include "transient_mark.h"
#include "transient.h"

#include <errno.h>
#include <linux/fs.h>
#include <string.h>

static void set_transient(fuse_req_t req, fuse_ino_t ino, const void *in_buf, size_t in_bufsz)
{
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	int on, err;

	if (in_bufsz != sizeof(on)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	memcpy(&on, in_buf, sizeof(on));
	if (on != 0 && on != 1) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (inode->type != S_IFREG) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	err = shmfs_xattr_change(req, inode, SHMFS_XATTR_TRANSIENT,
				 on ? SHMFS_XATTR_TRANSIENT_VALUE : NULL,
				 on ? sizeof(SHMFS_XATTR_TRANSIENT_VALUE) - 1 : 0, 0);
	if (!on && err == ENODATA)
		err = 0; /* it was not marked */
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_ioctl(req, 0, NULL, 0);
}

void shmfs_op_ioctl_dispatch(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
			     struct fuse_file_info *fi, unsigned int flags, const void *in_buf,
			     size_t in_bufsz, size_t out_bufsz)
{
	switch (cmd) {
	case FS_IOC_GETFLAGS:
	case FS_IOC_SETFLAGS:
	case FS_IOC_FSGETXATTR:
	case FS_IOC_FSSETXATTR:
		shmfs_fsflags_ioctl(req, ino, cmd, in_buf, in_bufsz, out_bufsz);
		break;
	case SHMFS_IOC_SET_TRANSIENT: set_transient(req, ino, in_buf, in_bufsz); break;
	default: shmfs_op_ioctl(req, ino, cmd, arg, fi, flags, in_buf, in_bufsz, out_bufsz);
	}
}
