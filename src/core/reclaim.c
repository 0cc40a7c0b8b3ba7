// SPDX-License-Identifier: MIT
/*
 * Who gives a removed segment's bytes back, and which removed segments
 * keep a descriptor (see reclaim.h). The release lock is taken before
 * the inode table's lock, and held across the removal, so that a forget
 * cannot free the segment between the removal of its last name and the
 * look into the table that follows it; so an entry found under it may be
 * used until it is let go.
 */
#include "reclaim.h"

#include <errno.h>
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

	if (byte_quota(q))
		shmfs_quota_resize(q, len, &zero, false);
}

/* Must inode, removed while the kernel knows it, keep a descriptor? */
static bool needs_pin(const struct shmfs_reclaim *r, struct shmfs_inode *inode)
{
	return byte_quota(r->quota) ||
	       (r->table->keep_removed && __atomic_load_n(&inode->nopen, __ATOMIC_RELAXED));
}

/* Whose pin it is: who holds the segment open, else who removes it. */
static uid_t holder(const struct shmfs_reclaim *r, struct shmfs_inode *inode)
{
	return __atomic_load_n(&inode->nopen, __ATOMIC_RELAXED) ? inode->open_uid : r->caller;
}

/* The entry of the segment probed if it would keep a new pin. Release lock held. */
static struct shmfs_inode *to_pin(const struct shmfs_reclaim *r)
{
	struct shmfs_inode *inode = shmfs_inode_table_find(r->table, r->dev, r->ino);

	return inode && inode->unlinked_fd < 0 && needs_pin(r, inode) ? inode : NULL;
}

/* Would removing the segment probed pin one more than its remover's share? */
static bool over_share(const struct shmfs_reclaim *r)
{
	struct shmfs_inode *inode = r->locked ? to_pin(r) : NULL;
	uid_t h = inode ? holder(r, inode) : 0;

	return inode && h == r->caller && !shmfs_pins_room(&r->table->pins, h);
}

int shmfs_reclaim_probe(struct shmfs_reclaim *r, struct shmfs_quota *q, struct shmfs_inode_table *t,
			int dirfd, const char *name, uid_t caller)
{
	struct stat sb;

	*r = (struct shmfs_reclaim){ .quota = q, .table = t, .caller = caller };
	if (!q && !t->keep_removed)
		return 0;
	if (byte_quota(q) || t->keep_removed) {
		pthread_mutex_lock(&t->release_lock);
		r->locked = true;
	}
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW))
		return 0;
	r->name = true;
	if (S_ISREG(sb.st_mode) && sb.st_nlink == 1) {
		r->last = true;
		r->dev = sb.st_dev;
		r->ino = sb.st_ino;
		r->bytes_of = sb.st_size;
		return over_share(r) ? -EBUSY : 0;
	}
	if (S_ISLNK(sb.st_mode) && sb.st_nlink == 1)
		r->link_len = (size_t)sb.st_size;
	return 0;
}

/*
 * The last name of a segment is gone (release lock held): if it must,
 * pin a descriptor that keeps it in the store until its forget (the
 * descriptor caches might otherwise close the last one and let the store
 * free it unseen); else give its bytes back now.
 */
static void keep_or_refund(const struct shmfs_reclaim *r)
{
	struct shmfs_inode_table *t = r->table;
	struct shmfs_inode *inode = shmfs_inode_table_find(t, r->dev, r->ino);
	uid_t h;
	int fd;

	if (!inode) {
		refund_bytes(r->quota, r->bytes_of);
		return;
	}
	/* Already pinned, or nothing to keep (then no byte limit: no refund either). */
	inode = to_pin(r);
	if (!inode)
		return;
	h = holder(r, inode);
	/*
	 * The remover's own was refused at the probe, unless it raced in
	 * since. A holder past its share leaves the remover to pay, if it
	 * can: so no user spends another's share, nor loses the bytes of a
	 * segment it holds too because another holder is past its own.
	 */
	if (!shmfs_pins_take(&t->pins, h, h == r->caller)) {
		h = r->caller;
		if (!shmfs_pins_take(&t->pins, h, false)) {
			refund_bytes(r->quota, r->bytes_of);
			return;
		}
	}
	fd = shmfs_inode_fd_get(t, inode);
	if (fd < 0) {
		shmfs_pins_give(&t->pins, h);
		refund_bytes(r->quota, r->bytes_of); /* already gone from the store */
		return;
	}
	inode->unlinked_fd = fd;
	inode->unlinked_uid = h;
}

void shmfs_reclaim_settle(struct shmfs_reclaim *r, bool done)
{
	if (done && r->name)
		shmfs_quota_name_refund(r->quota);
	/*
	 * The daemon's descriptor of a segment the kernel knows keeps it in
	 * the store: its forget gives the bytes back, at their last length.
	 */
	if (done && r->last && r->locked)
		keep_or_refund(r);
	if (done && r->link_len)
		shmfs_quota_link_refund(r->quota, r->link_len);
	if (r->locked)
		pthread_mutex_unlock(&r->table->release_lock);
	r->locked = false;
}

/* Let inode's pin go. Release lock held. */
static void unpin(struct shmfs_inode_table *t, struct shmfs_inode *inode)
{
	shmfs_inode_fd_put(t, inode, inode->unlinked_fd);
	shmfs_pins_give(&t->pins, inode->unlinked_uid);
	inode->unlinked_fd = -1;
}

int shmfs_reclaim_keep(struct shmfs_inode_table *t, struct shmfs_inode *inode, uid_t uid)
{
	int fd, err = 0;

	if (!t->keep_removed)
		return 0;
	pthread_mutex_lock(&t->release_lock);
	if (inode->unlinked_fd < 0) {
		err = shmfs_pins_take(&t->pins, uid, false) ? 0 : -EMFILE;
		fd = err ? err : shmfs_inode_fd_get(t, inode);
		if (fd >= 0) {
			inode->unlinked_fd = fd;
			inode->unlinked_uid = uid;
		} else if (!err) {
			shmfs_pins_give(&t->pins, uid);
			err = fd;
		}
	}
	pthread_mutex_unlock(&t->release_lock);
	return err;
}

void shmfs_reclaim_closed(struct shmfs_quota *q, struct shmfs_inode_table *t,
			  struct shmfs_inode *inode)
{
	/*
	 * Unlocked first: a pin that a removal makes meanwhile, unseen here,
	 * only lasts until the forget.
	 */
	if (byte_quota(q) || __atomic_load_n(&inode->unlinked_fd, __ATOMIC_RELAXED) < 0)
		return;
	pthread_mutex_lock(&t->release_lock);
	if (inode->unlinked_fd >= 0 && !__atomic_load_n(&inode->nopen, __ATOMIC_RELAXED))
		unpin(t, inode);
	pthread_mutex_unlock(&t->release_lock);
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

	if (inode->type != S_IFREG || (!byte_quota(q) && !t->keep_removed))
		return shmfs_inode_table_forget(t, inode, n);
	pthread_mutex_lock(&t->release_lock);
	inode = shmfs_inode_table_forget(t, inode, n);
	if (inode && inode->unlinked_fd >= 0) {
		if (byte_quota(q) && !fstat(inode->unlinked_fd, &sb) && sb.st_nlink == 0)
			refund_bytes(q, sb.st_size);
		unpin(t, inode);
	}
	pthread_mutex_unlock(&t->release_lock);
	return inode;
}
