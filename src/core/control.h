/* SPDX-License-Identifier: MIT */
/*
 * The control channel between the shmfs command line and a running
 * daemon: an ioctl on the mount's root directory that returns the
 * daemon's status as "key=value" lines. FUSE forwards it because the
 * command encodes its direction and size (a "restricted" FUSE ioctl).
 */
#ifndef SHMFS_CONTROL_H
#define SHMFS_CONTROL_H

#include <sys/ioctl.h>

#define SHMFS_STATUS_MAX 4096
#define SHMFS_STATUS_TIMEOUT_S 5 /* how long the command line waits for it */
#define SHMFS_IOC_STATUS _IOR('S', 0x51, char[SHMFS_STATUS_MAX])

/*
 * Read the status of the mount at mountpoint into buf (NUL-terminated).
 * 0 or -errno: -ENOTCONN when the daemon is gone, -ENOTTY when it is not
 * a shmfs daemon, -ETIMEDOUT when it gave no answer within
 * SHMFS_STATUS_TIMEOUT_S seconds (stopped or wedged).
 */
int shmfs_control_status(const char *mountpoint, char buf[SHMFS_STATUS_MAX]);

#endif
