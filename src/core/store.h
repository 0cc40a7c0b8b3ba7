/* SPDX-License-Identifier: MIT */
/*
 * The store: where segments really live. A store is a private directory S
 * (mode 0700, owned by the daemon's user) holding
 *
 *   S/root   the tree that the mount shows, one backing file per segment;
 *   S/lock   flock()ed by the daemon that serves the store.
 *
 * Two kinds sit behind one small table: a tmpfs that shmfs mounts for the
 * store (root only; the kernel enforces size= and nr_inodes=, even for
 * passthrough writes), and a plain directory on an existing filesystem
 * ($XDG_RUNTIME_DIR or /dev/shm for unprivileged users, or any
 * store=DIR). Nothing here knows about FUSE. A store outlives its daemon:
 * only shmfs_store_discard() destroys one.
 */
#ifndef SHMFS_STORE_H
#define SHMFS_STORE_H

#include <stdbool.h>
#include <limits.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "quota.h"
#include "segment.h"
#include "tmpfs_options.h"
#include "usage.h"

/*
 * What the store is asked to be: tmpfs's mount options, under their names
 * (the daemon's option parser fills it in).
 */
struct shmfs_store_config {
	char *dir;	    /* store=DIR, NULL for the default */
	uint64_t size;	    /* bytes of RAM, 0 = the store's default */
	uint64_t nr_inodes; /* 0 = no limit */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool size_set, nr_inodes_set, mode_set, uid_set, gid_set;
	struct shmfs_tmpfs_options tmpfs; /* huge=, noswap, mpol=: a tmpfs store's only */
};
struct shmfs_store;

struct shmfs_store_kind {
	const char *name;
	/* Make S exist and be ready, applying the limits in the options. */
	int (*prepare)(struct shmfs_store *st, const struct shmfs_store_config *o);
	int (*statfs)(struct shmfs_store *st, struct statvfs *sv);
	/* Undo prepare() for good: unmount, remove. Called with no daemon. */
	int (*destroy)(const char *path);
};

struct shmfs_store {
	char *path; /* S */
	int dirfd;  /* S */
	int rootfd; /* S/root, O_PATH */
	int lockfd; /* S/lock, holds the daemon's flock */
	const struct shmfs_store_kind *kind;
	uint64_t size; /* size=: bytes of RAM for the whole mount, 0 for none */
	/* Set when the daemon itself must enforce size= or nr_inodes=. */
	struct shmfs_quota *quota;
	struct shmfs_quota quota_data;
	struct shmfs_usage usage; /* what S/root holds (shmfs_store_usage) */
	bool usage_set_up;
	char why[PATH_MAX + 128]; /* what shmfs_store_open() found wrong */
};

/*
 * The default store path for a mountpoint (absolute): a tmpfs under
 * /run/shmfs for root; otherwise a directory under $XDG_RUNTIME_DIR/shmfs
 * when that is the user's own private directory, else under
 * /dev/shm/shmfs-UID. Returns a malloc()ed string or NULL.
 */
char *shmfs_store_default_path(const char *mountpoint);

/*
 * Open (creating if need be) the store named in the options, or the default
 * one for the mountpoint, and take its lock. Returns 0 or a negative errno;
 * *why is then a one-line message naming what failed and where, valid
 * until st is released. Release st either way.
 */
int shmfs_store_open(struct shmfs_store *st, const struct shmfs_store_config *o,
		     const char *mountpoint, const char **why);
void shmfs_store_release(struct shmfs_store *st);
int shmfs_store_statfs(struct shmfs_store *st, struct statvfs *sv);
/*
 * The huge=, mpol= and noswap options that the store's tmpfs has now
 * (tmpfs_options.h), "" for tmpfs's defaults; false for a directory store.
 */
bool shmfs_store_tmpfs_options(struct shmfs_store *st, char *buf, size_t len);
/*
 * What the store's root holds: a walk, or a recent one's result when
 * walking is dear (usage.h), so any user may ask. 0 or -errno.
 */
int shmfs_store_usage(struct shmfs_store *st, struct shmfs_tree_usage *u);

/*
 * The segment whose backing file in st is open for writing as fd, for
 * shmfs_segment_truncate() and the like: under st's limits, with every
 * page reserved when reserve is set (segment.h).
 */
static inline struct shmfs_segment shmfs_store_segment(struct shmfs_store *st, int fd, bool reserve)
{
	return (struct shmfs_segment){ fd, st->quota, reserve, st->size };
}

/* Destroy the store at path; -EBUSY while a daemon serves it. */
int shmfs_store_discard(const char *path);

#endif
