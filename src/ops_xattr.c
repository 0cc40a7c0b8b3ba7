// SPDX-License-Identifier: MIT
/*
 * Extended attributes, stored by the backing inodes, and the read-only
 * attribute "user.shmfs.status" of the root directory, through which
 * "shmfs status" and "shmfs umount" learn about the daemon.
 */
#include "ops.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#define STATUS_XATTR "user.shmfs.status"
#define STATUS_MAX 4096

/* Segments and their bytes: a walk of the store, for status only. */
static _Thread_local uint64_t walk_files, walk_bytes;

static int count_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	if (type == FTW_F && S_ISREG(sb->st_mode)) {
		walk_files++;
		walk_bytes += (uint64_t)sb->st_blocks * 512;
	}
	return 0;
}

static size_t status_text(struct shmfs_fs *fs, char *buf, size_t len)
{
	char root[PATH_MAX];
	struct statvfs sv;
	int n;

	walk_files = walk_bytes = 0;
	snprintf(root, sizeof(root), "%s/root", fs->store.path);
	nftw(root, count_entry, 16, FTW_PHYS | FTW_MOUNT);
	if (shmfs_store_statfs(&fs->store, &sv))
		memset(&sv, 0, sizeof(sv));
	n = snprintf(buf, len,
		     "pid=%d\nmountpoint=%s\ndata_path=%s\nstore=%s\nstore_kind=%s\n"
		     "segments=%" PRIu64 "\nsegment_bytes=%" PRIu64 "\n"
		     "bytes_used=%" PRIu64 "\nbytes_limit=%" PRIu64 "\n"
		     "inodes_used=%" PRIu64 "\ninodes_limit=%" PRIu64 "\n"
		     "open_handles=%" PRIuFAST64 "\nread_requests=%" PRIuFAST64
		     "\nwrite_requests=%" PRIuFAST64 "\n",
		     (int)getpid(), fs->mountpoint, fs->pt.active ? "passthrough" : "cached",
		     fs->store.path, fs->store.kind->name, walk_files, walk_bytes,
		     (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize,
		     (uint64_t)sv.f_blocks * sv.f_frsize,
		     (uint64_t)(sv.f_files - sv.f_ffree), (uint64_t)sv.f_files,
		     atomic_load_explicit(&fs->nr_open, memory_order_relaxed),
		     atomic_load_explicit(&fs->nr_read, memory_order_relaxed),
		     atomic_load_explicit(&fs->nr_write, memory_order_relaxed));
	return n < 0 ? 0 : ((size_t)n < len ? (size_t)n : len - 1);
}

static bool is_status(fuse_ino_t ino, const char *name)
{
	return ino == FUSE_ROOT_ID && !strcmp(name, STATUS_XATTR);
}

void shmfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char path[SHMFS_PROC_PATH_MAX];
	char *buf = NULL;
	ssize_t n;

	if (is_status(ino, name)) {
		char text[STATUS_MAX];

		/* The size probe gets a bound: the figures may change between calls. */
		n = (ssize_t)status_text(shmfs_req_fs(req), text, sizeof(text));
		if (!size)
			fuse_reply_xattr(req, STATUS_MAX);
		else if ((size_t)n > size)
			fuse_reply_err(req, ERANGE);
		else
			fuse_reply_buf(req, text, (size_t)n);
		return;
	}
	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	shmfs_proc_path(path, shmfs_req_inode(req, ino)->fd);
	n = getxattr(path, name, buf, size);
	if (n < 0)
		fuse_reply_err(req, errno);
	else if (!size)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

void shmfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char path[SHMFS_PROC_PATH_MAX];
	char *buf = NULL;
	ssize_t n;

	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	shmfs_proc_path(path, shmfs_req_inode(req, ino)->fd);
	n = listxattr(path, buf, size);
	if (n < 0)
		fuse_reply_err(req, errno);
	else if (!size)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

void shmfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		       const char *value, size_t size, int flags)
{
	char path[SHMFS_PROC_PATH_MAX];

	if (is_status(ino, name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	shmfs_proc_path(path, shmfs_req_inode(req, ino)->fd);
	fuse_reply_err(req, setxattr(path, name, value, size, flags) ? errno : 0);
}

void shmfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	char path[SHMFS_PROC_PATH_MAX];

	if (is_status(ino, name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	shmfs_proc_path(path, shmfs_req_inode(req, ino)->fd);
	fuse_reply_err(req, removexattr(path, name) ? errno : 0);
}
