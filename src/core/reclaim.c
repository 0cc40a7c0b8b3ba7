// SPDX-License-Identifier: MIT
/*
 * Who gives a removed segment's bytes back (see reclaim.h). The release
 * lock is taken before the inode table's lock, and held across the
 * removal, so that a forget cannot free the segment between the removal
 * of its last name and the look into the table that follows it.
 */
#include "reclaim.h"

#include <fcntl.h>
#include <sys/stat.h>

/* The quota, when a size limit counts the store's bytes. */
static struct shmfs_quota *byte_quota(struct shmfs_quota *q)
{
	return q && q->max_bytes ? q : NULL;
}

static void refund_bytes(struct shmfs_quota *q, off_t len)
{
	off_t zero = 0;

	shmfs_quota_resize(q, len, &zero, false);
}

void shmfs_reclaim_probe(struct shmfs_reclaim *r, struct shmfs_quota *q, int dirfd,
			 const char *name)
{
	struct stat sb;

	*r = (struct shmfs_reclaim){ .quota = q };
	if (!q)
		return;
	if (byte_quota(q)) {
		pthread_mutex_lock(&q->release_lock);
		r->locked = true;
	}
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW))
		return;
	r->name = true;
	if (S_ISREG(sb.st_mode) && sb.st_nlink == 1) {
		r->last = true;
		r->dev = sb.st_dev;
		r->ino = sb.st_ino;
		r->bytes_of = sb.st_size;
	} else if (S_ISLNK(sb.st_mode) && sb.st_nlink == 1) {
		r->link_len = (size_t)sb.st_size;
	}
}

/*
 * The last name of a segment is gone (release lock held): if the kernel
 * still knows it, pin a descriptor that keeps it in the store until its
 * forget gives the bytes back (the descriptor cache might otherwise close
 * the last one and let the store free it unseen); else give them back now.
 */
static void keep_or_refund(const struct shmfs_reclaim *r, struct shmfs_inode_table *t)
{
	/* Safe to use: a forget takes the release lock before it frees. */
	struct shmfs_inode *inode = shmfs_inode_table_find(t, r->dev, r->ino);
	int fd;

	if (!inode) {
		refund_bytes(r->quota, r->bytes_of);
		return;
	}
	if (inode->unlinked_fd >= 0)
		return;
	fd = shmfs_inode_fd_get(t, inode);
	if (fd >= 0)
		inode->unlinked_fd = fd;
	else
		refund_bytes(r->quota, r->bytes_of); /* already gone from the store */
}

void shmfs_reclaim_settle(struct shmfs_reclaim *r, struct shmfs_inode_table *t, bool done)
{
	if (done && r->name)
		shmfs_quota_name_refund(r->quota);
	/*
	 * The daemon's descriptor of a segment the kernel knows keeps it in
	 * the store: its forget gives the bytes back, at their last length.
	 */
	if (done && r->last && byte_quota(r->quota))
		keep_or_refund(r, t);
	if (done && r->link_len)
		shmfs_quota_link_refund(r->quota, r->link_len);
	if (r->locked)
		pthread_mutex_unlock(&r->quota->release_lock);
	r->locked = false;
}

/*
 * The store frees a segment with no name left when the daemon closes its
 * descriptors: give its bytes back now, deciding under the release lock
 * so that the removal of its last name does not give them back too.
 */
struct shmfs_inode *shmfs_reclaim_forget(struct shmfs_quota *q, struct shmfs_inode_table *t,
					 struct shmfs_inode *inode, uint64_t n)
{
	struct stat sb;

	q = inode->type == S_IFREG ? byte_quota(q) : NULL;
	if (!q)
		return shmfs_inode_table_forget(t, inode, n);
	pthread_mutex_lock(&q->release_lock);
	inode = shmfs_inode_table_forget(t, inode, n);
	if (inode && inode->unlinked_fd >= 0) {
		if (!fstat(inode->unlinked_fd, &sb) && sb.st_nlink == 0)
			refund_bytes(q, sb.st_size);
		shmfs_inode_fd_put(t, inode, inode->unlinked_fd);
		inode->unlinked_fd = -1;
	}
	pthread_mutex_unlock(&q->release_lock);
	return inode;
}
