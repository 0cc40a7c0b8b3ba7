/* SPDX-License-Identifier: MIT */
/*
 * What is mounted where: /proc/self/mountinfo, and paths that may name a
 * dead FUSE mount (where stat() fails with ENOTCONN).
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
 * Make path absolute and canonical without looking at its last component,
 * which may be a dead mount. Returns a malloc()ed string, or NULL with
 * errno set.
 */
char *shmfs_abspath(const char *path);

#endif
