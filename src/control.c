// SPDX-License-Identifier: MIT
/* The client side of the control channel (see control.h). */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int shmfs_control_status(const char *mountpoint, char buf[SHMFS_STATUS_MAX])
{
	int fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	memset(buf, 0, SHMFS_STATUS_MAX);
	if (ioctl(fd, SHMFS_IOC_STATUS, buf) < 0)
		err = -errno;
	buf[SHMFS_STATUS_MAX - 1] = '\0';
	close(fd);
	return err;
}
