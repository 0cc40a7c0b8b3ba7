// SPDX-License-Identifier: MIT
/*
 * Directory listing. A handle keeps its descriptor of the backing
 * directory in the data descriptors' cache (inode.h), so no number of
 * open directories uses up the daemon's descriptors: a request borrows
 * it, opening the directory again if it was closed to make room. Offsets
 * are the backing file system's own cookies (d_off), so every request
 * seeks to where the kernel asks and reads from there; nothing is kept
 * between requests but the descriptor. readdirplus also looks each entry
 * up, saving the lookups that "ls -l" would otherwise send.
 */
#include "ops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY)
/* Room for at least one entry of the longest name: getdents64 needs it. */
#define DIRENTS_MIN 1024

struct dir_handle {
	struct shmfs_fdslot fd; /* in the data descriptors' cache */
};

void shmfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct shmfs_inode_table *t = &shmfs_req_fs(req)->inodes;
	struct dir_handle *d = calloc(1, sizeof(*d));
	int fd;

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Opened now, so that an open that cannot be made fails here. */
	fd = shmfs_inode_open(t, shmfs_req_inode(req, ino), DIR_FLAGS);
	if (fd < 0) {
		free(d);
		fuse_reply_err(req, -fd);
		return;
	}
	shmfs_fdslot_init(&d->fd);
	shmfs_inode_slot_offer(t, &d->fd, fd);
	fi->fh = (uintptr_t)d;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static size_t add_entry(fuse_req_t req, struct shmfs_inode *dir, struct dirent64 *de, char *p,
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

/*
 * Fill buf (size bytes) with the entries of the directory open as fd from
 * off on, read in blocks of esize bytes. Returns the bytes filled; *err
 * tells of an error that stopped it (what came before it stays filled).
 */
static size_t fill(fuse_req_t req, struct shmfs_inode *dir, int fd, off_t off, char *buf,
		   size_t size, char *ents, size_t esize, bool plus, int *err)
{
	size_t rem = size;
	ssize_t n;

	if (lseek(fd, off, SEEK_SET) < 0) {
		*err = -errno;
		return 0;
	}
	while ((n = getdents64(fd, ents, esize)) > 0) {
		for (ssize_t at = 0; at < n;) {
			struct dirent64 *de = (struct dirent64 *)(ents + at);
			size_t used = add_entry(req, dir, de, buf + size - rem, rem, plus, err);

			at += de->d_reclen;
			if (*err == -ENOENT) { /* gone since it was read: skip it */
				*err = 0;
				continue;
			}
			if (*err || used > rem)
				return size - rem;
			rem -= used;
		}
	}
	if (n < 0)
		*err = -errno;
	return size - rem;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	struct shmfs_inode_table *t = &shmfs_req_fs(req)->inodes;
	struct shmfs_inode *dir = shmfs_req_inode(req, ino);
	/* An entry of readdirplus says far more than getdents64 gives for it. */
	size_t esize = plus ? size / 4 : size, n = 0;
	char *buf, *ents;
	int err = 0, fd;

	if (esize < DIRENTS_MIN)
		esize = DIRENTS_MIN;
	buf = malloc(size);
	ents = malloc(esize);
	fd = buf && ents ? shmfs_inode_slot_get(t, dir, &d->fd, DIR_FLAGS) : -ENOMEM;
	if (fd >= 0) {
		n = fill(req, dir, fd, off, buf, size, ents, esize, plus, &err);
		shmfs_inode_slot_put(t, &d->fd, fd);
	} else {
		err = fd;
	}
	if (err && !n)
		fuse_reply_err(req, -err);
	else
		fuse_reply_buf(req, buf, n);
	free(ents);
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

	shmfs_inode_slot_release(&shmfs_req_fs(req)->inodes, &d->fd);
	free(d);
	fuse_reply_err(req, 0);
}
