// SPDX-License-Identifier: MIT
/*
 * The transient policy (see transient.h). A segment is found by its
 * current name only as a hint: the name is resolved again beneath the
 * store's root with no symlink followed (beneath.h), checked to still be
 * the segment, and acted on through that directory's descriptor.
 */
#include "transient.h"
#include "beneath.h"
#include "procfd.h"
#include "reclaim.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Does the caller belong to group gid? */
static bool in_groups(gid_t gid, const struct shmfs_caller *c)
{
	if (gid == c->gid)
		return true;
	for (int i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

bool shmfs_caller_may_unlink(const struct shmfs_caller *c, const struct stat *dir,
			     const struct stat *obj)
{
	mode_t need;

	if (c->uid == 0)
		return true;
	if (c->uid == dir->st_uid)
		need = S_IWUSR | S_IXUSR;
	else if (in_groups(dir->st_gid, c))
		need = S_IWGRP | S_IXGRP;
	else
		need = S_IWOTH | S_IXOTH;
	if ((dir->st_mode & need) != need)
		return false;
	return !(dir->st_mode & S_ISVTX) || c->uid == obj->st_uid || c->uid == dir->st_uid;
}

int shmfs_transient_mark_read(int fd)
{
	char path[SHMFS_PROC_PATH_MAX];

	shmfs_proc_path(path, fd);
	if (getxattr(path, SHMFS_XATTR_TRANSIENT, NULL, 0) >= 0)
		return 1;
	return errno == ENODATA || errno == ENOTSUP ? 0 : -1;
}

bool shmfs_transient_marked(struct shmfs_inode_table *t, struct shmfs_inode *inode)
{
	int fd;

	if (inode->type != S_IFREG)
		return false;
	if (inode->transient < 0) {
		fd = shmfs_inode_fd_get(t, inode);
		if (fd < 0)
			return false;
		inode->transient = (signed char)shmfs_transient_mark_read(fd);
		shmfs_inode_fd_put(t, inode, fd);
	}
	return inode->transient > 0;
}

int shmfs_transient_may_mark(struct shmfs_inode_table *t, struct shmfs_inode *inode,
			     const struct shmfs_caller *c)
{
	struct stat dsb, sb;
	char *base;
	int fd, dirfd, err;

	if (c->uid == 0)
		return 0;
	if (inode->type != S_IFREG)
		return -EPERM;
	fd = shmfs_inode_fd_get(t, inode);
	if (fd < 0)
		return fd;
	err = shmfs_beneath_locate(t->rootfd, t->root_path, fd, inode->dev, inode->ino, &dirfd,
				   &base, &sb);
	shmfs_inode_fd_put(t, inode, fd);
	if (err)
		return -EPERM;
	free(base);
	err = fstat(dirfd, &dsb) ? -errno : 0;
	close(dirfd);
	if (err)
		return err;
	/* The right to remove one name is not the right to remove the others. */
	if (sb.st_nlink != 1)
		return -EPERM;
	return shmfs_caller_may_unlink(c, &dsb, &sb) ? 0 : -EPERM;
}

int shmfs_transient_remove(struct shmfs_inode_table *t, struct shmfs_quota *q, int fd, dev_t dev,
			   ino_t ino, struct shmfs_transient_found *f)
{
	struct shmfs_reclaim freed;
	struct stat sb;
	int err;

	*f = (struct shmfs_transient_found){ .dirfd = -1 };
	if (shmfs_inode_table_nopen(t, dev, ino))
		return -EBUSY;
	err = shmfs_beneath_locate(t->rootfd, t->root_path, fd, dev, ino, &f->dirfd, &f->base, &sb);
	if (err) {
		f->dirfd = -1;
		return err;
	}
	f->nlink = sb.st_nlink;
	if (sb.st_nlink != 1)
		return -EMLINK;
	/* The daemon's own removal: root's, with no share to keep to. */
	err = shmfs_reclaim_probe(&freed, q, t, f->dirfd, f->base, 0);
	if (!err)
		err = unlinkat(f->dirfd, f->base, 0) ? -errno : 0;
	shmfs_reclaim_settle(&freed, !err);
	return err;
}

void shmfs_transient_found_release(struct shmfs_transient_found *f)
{
	if (f->dirfd >= 0)
		close(f->dirfd);
	free(f->base);
	*f = (struct shmfs_transient_found){ .dirfd = -1 };
}
