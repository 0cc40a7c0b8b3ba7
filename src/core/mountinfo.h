/* SPDX-License-Identifier: MIT */
/*
 * What is mounted where: /proc/self/mountinfo, whether a path is a shmfs
 * mount and whether its daemon lives, and paths that may name a dead FUSE
 * mount (where stat() fails with ENOTCONN).
 */
#ifndef SHMFS_MOUNTINFO_H
#define SHMFS_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * If path (absolute) is a mount point, copy its filesystem type (for
 * example "fuse.shmfs") to fstype and return true.
 */
bool shmfs_mountinfo_lookup(const char *path, char *fstype, size_t len);
/* The same, giving the device ("MAJOR:MINOR") instead. */
bool shmfs_mountinfo_device(const char *path, char *dev, size_t len);
/*
 * The uid that a FUSE mount at path belongs to (its user_id=, which only
 * root or fusermount3 sets): false when path is no such mount.
 */
bool shmfs_mountinfo_owner(const char *path, uid_t *uid);
/*
 * The filesystem type and superblock options ("rw,size=...,huge=...") of
 * the mount at path, as shmfs_mountinfo_lookup() finds it.
 */
bool shmfs_mountinfo_options(const char *path, char *fstype, size_t tlen, char *opts, size_t olen);

/* Whether the topmost mount at path (absolute) is a shmfs mount, live or dead. */
bool shmfs_mountinfo_is_shmfs(const char *path);

enum shmfs_mount_state {
	SHMFS_MOUNT_NONE, /* no shmfs at path: nothing mounted there, or another filesystem */
	SHMFS_MOUNT_LIVE, /* a shmfs mount whose daemon answers, or that this caller may not ask */
	SHMFS_MOUNT_DEAD, /* a shmfs mount whose daemon is gone */
};

/*
 * shmfs_mountinfo_is_shmfs(), then asking the daemon (statfs), which
 * blocks while that daemon is stopped: for "shmfs mount", which must know.
 */
enum shmfs_mount_state shmfs_mountinfo_shmfs_state(const char *path);

/*
 * Make path absolute and canonical without looking at its last component,
 * which may be a dead mount. Returns a malloc()ed string, or NULL with
 * errno set.
 */
char *shmfs_abspath(const char *path);

#endif
