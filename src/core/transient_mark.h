/* SPDX-License-Identifier: MIT */
/*
 * The transient mark, as the mount's users see it: the extended attribute
 * that a segment's owner sets (setfattr, shmfs create --transient,
 * SHMFS_TRANSIENT) so that the daemon removes the segment once nobody has
 * it open or mapped. One definition for the daemon, the command line and
 * libshmfs, which takes it through its include path; nothing else lives
 * here, so the library sees none of the daemon's core.
 */
#ifndef SHMFS_TRANSIENT_MARK_H
#define SHMFS_TRANSIENT_MARK_H

#define SHMFS_XATTR_TRANSIENT "user.shmfs.transient"
/* The value it is set to; the daemon goes by the attribute's presence. */
#define SHMFS_XATTR_TRANSIENT_VALUE "1"

#endif
