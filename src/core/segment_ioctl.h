/* SPDX-License-Identifier: MIT */
/*
 * The ioctls of a segment on a shmfs mount, for the command line and
 * libshmfs as for the daemon. FUSE forwards them because each encodes its
 * direction and size (a "restricted" FUSE ioctl); a file system other
 * than shmfs answers ENOTTY.
 */
#ifndef SHMFS_SEGMENT_IOCTL_H
#define SHMFS_SEGMENT_IOCTL_H

#include <sys/ioctl.h>

/*
 * Mark the segment transient (an int, 1) or persistent again (0): a
 * transient segment is removed once nobody has it open or mapped. Allowed
 * to whoever may remove the segment, EPERM to others; the mark is the
 * attribute user.shmfs.transient of the segment, which the mount lists.
 */
#define SHMFS_IOC_SET_TRANSIENT _IOW('S', 0x52, int)

#endif
