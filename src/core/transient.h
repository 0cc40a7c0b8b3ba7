/* SPDX-License-Identifier: MIT */
/*
 * Transient segments: the lifetime of .NET's non-persisted named mappings.
 * A segment whose backing file carries the mark (transient_mark.h) is
 * removed once the last process has closed and unmapped it; persistent
 * stays the default. This is the policy: which segments carry the mark,
 * who may set it, and the removal itself. When to remove (at the last
 * release, or once the last mapping is gone) is the reaper's, in the
 * daemon. Nothing here knows about FUSE.
 *
 * The daemon is root and the names are chosen by users. Marking is a
 * deferred unlink and gets the unlink's rules: only whoever may remove
 * the segment may mark it, and a segment with several links cannot be
 * marked (the right to remove one name is not the right to remove
 * another), nor is one removed that gained a link after it was marked.
 *
 * Functions that find a segment's name take the store's names lock as
 * their caller holds it (the daemon's fs.h): for reading to look, for
 * writing to remove, so that the name found is the name acted on.
 */
#ifndef SHMFS_TRANSIENT_H
#define SHMFS_TRANSIENT_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "inode.h"
#include "quota.h"
#include "transient_mark.h"

/* Who asks, as the kernel told the daemon. */
struct shmfs_caller {
	uid_t uid;
	gid_t gid;
	int ngroups;
	const gid_t *groups; /* supplementary groups */
};

/*
 * May caller remove a name of the object whose attributes are obj from
 * the directory whose attributes are dir? By the mode bits: write and
 * search permission on the directory, and when it is sticky, ownership
 * of the object or of the directory; root may.
 */
bool shmfs_caller_may_unlink(const struct shmfs_caller *c, const struct stat *dir,
			     const struct stat *obj);

/* Whether the object open as fd has the mark: 1, 0, or -1 (could not tell). */
int shmfs_transient_mark_read(int fd);
/* Whether inode has the mark (read once per inode). Inode lock held. */
bool shmfs_transient_marked(struct shmfs_inode_table *t, struct shmfs_inode *inode);
/*
 * May caller mark inode transient? Only who may remove it: 0 or -EPERM
 * (or another -errno when the segment cannot be looked at). Names lock
 * held for reading.
 */
int shmfs_transient_may_mark(struct shmfs_inode_table *t, struct shmfs_inode *inode,
			     const struct shmfs_caller *c);

/* Where shmfs_transient_remove() found the segment. */
struct shmfs_transient_found {
	int dirfd;     /* its directory, or -1 when it was not found */
	char *base;    /* its name there (malloc()ed), or NULL */
	nlink_t nlink; /* its links then */
};

/*
 * Remove the marked segment open as fd, (dev, ino), giving back what it
 * held (reclaim.h), unless it is open again (-EBUSY: its release
 * decides) or has gained a link (-EMLINK: which name to drop is not the
 * daemon's to pick). 0 when removed; -ENOENT when it has no name left;
 * another -errno when it cannot be found (f->dirfd -1) or not removed.
 * Names lock held for writing. Release f either way.
 */
int shmfs_transient_remove(struct shmfs_inode_table *t, struct shmfs_quota *q, int fd, dev_t dev,
			   ino_t ino, struct shmfs_transient_found *f);
void shmfs_transient_found_release(struct shmfs_transient_found *f);

#endif
