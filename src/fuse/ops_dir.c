// SPDX-License-Identifier: MIT
/*
 * Directory listing. A handle is a DIR stream of the backing directory;
 * offsets are the stream's telldir cookies, so a listing resumed at any
 * offset continues where the kernel left off. readdirplus also looks each
 * entry up, saving the lookups that "ls -l" would otherwise send.
 */
#include "ops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dir_handle {
	DIR *dp;
	off_t offset;	      /* where dp stands */
	struct dirent *entry; /* read ahead, not yet sent; NULL if none */
};

void shmfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct shmfs_inode_table *t = &shmfs_req_fs(req)->inodes;
	struct shmfs_inode *inode = shmfs_req_inode(req, ino);
	struct dir_handle *d = calloc(1, sizeof(*d));
	int pfd, fd, err;

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pfd = shmfs_inode_fd_get(t, inode);
	if (pfd < 0) {
		err = -pfd;
		goto out_err;
	}
	fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	err = fd < 0 ? errno : 0;
	shmfs_inode_fd_put(t, inode, pfd);
	if (fd < 0)
		goto out_err;
	d->dp = fdopendir(fd);
	if (!d->dp) {
		err = errno;
		close(fd);
		goto out_err;
	}
	fi->fh = (uintptr_t)d;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
	return;
out_err:
	free(d);
	fuse_reply_err(req, err);
}

static size_t add_entry(fuse_req_t req, struct shmfs_inode *dir, struct dirent *de, char *p,
			size_t rem, bool plus, int *err)
{
	struct fuse_entry_param e;
	struct stat sb = { .st_ino = de->d_ino, .st_mode = (mode_t)de->d_type << 12 };
	size_t n;

	if (!plus)
		return fuse_add_direntry(req, p, rem, de->d_name, &sb, de->d_off);
	if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
		memset(&e, 0, sizeof(e));
		e.attr = sb;
		return fuse_add_direntry_plus(req, p, rem, de->d_name, &e, de->d_off);
	}
	*err = shmfs_entry_lookup(shmfs_req_fs(req), dir, de->d_name, &e);
	if (*err)
		return 0;
	n = fuse_add_direntry_plus(req, p, rem, de->d_name, &e, de->d_off);
	if (n > rem) /* did not fit: the kernel will not learn of it */
		shmfs_forget_inode(shmfs_req_fs(req), shmfs_req_inode(req, e.ino), 1);
	return n;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	struct shmfs_inode *dir = shmfs_req_inode(req, ino);
	char *buf = malloc(size), *p = buf;
	size_t rem = size;
	int err = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		size_t n;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				err = errno;
				break;
			}
		}
		n = add_entry(req, dir, d->entry, p, rem, plus, &err);
		if (err == -ENOENT) { /* gone since readdir: skip it */
			err = 0;
			d->offset = d->entry->d_off;
			d->entry = NULL;
			continue;
		}
		if (err || n > rem)
			break;
		p += n;
		rem -= n;
		d->offset = d->entry->d_off;
		d->entry = NULL;
	}
	if (err && p == buf)
		fuse_reply_err(req, err < 0 ? -err : err);
	else
		fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

void shmfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

void shmfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

void shmfs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;

	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}
