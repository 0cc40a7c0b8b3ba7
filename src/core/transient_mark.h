/* SPDX-License-Identifier: MIT */
/*
 * The transient mark, as the mount's users see it: the extended attribute
 * of a segment that makes the daemon remove it once nobody has it open or
 * mapped, and the ioctl that sets it (shmfs create --transient,
 * SHMFS_TRANSIENT; setfattr too, with -o xattr). One definition for the
 * daemon, the command line and libshmfs, which takes it through its
 * include path; nothing else lives here, so the library sees none of the
 * daemon's core.
 */
#ifndef SHMFS_TRANSIENT_MARK_H
#define SHMFS_TRANSIENT_MARK_H

#include <sys/ioctl.h>

#define SHMFS_XATTR_TRANSIENT "user.shmfs.transient"
/* The value it is set to; the daemon goes by the attribute's presence. */
#define SHMFS_XATTR_TRANSIENT_VALUE "1"

/*
 * Mark the segment transient (an int, 1) or persistent again (0), for
 * whoever may remove it (EPERM to others), without -o xattr too. FUSE
 * forwards it because it encodes its direction and size (a "restricted"
 * FUSE ioctl); a file system other than shmfs answers ENOTTY.
 */
#define SHMFS_IOC_SET_TRANSIENT _IOW('S', 0x52, int)

#endif
