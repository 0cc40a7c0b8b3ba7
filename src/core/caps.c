// SPDX-License-Identifier: MIT
/*
 * Capability checks. Being uid 0 is not enough: a root process may have
 * dropped CAP_SYS_ADMIN (containers, setpriv), and then neither its own
 * tmpfs store nor FUSE passthrough is possible; and a caller of the mount
 * sees root-only extended attributes only with CAP_SYS_ADMIN, as on tmpfs.
 */
#include "caps.h"

#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

bool shmfs_caps_has(pid_t pid, int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = pid,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap);
}

bool shmfs_caps_in_my_userns(pid_t pid)
{
	char path[48], mine[64], theirs[64];
	ssize_t a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	a = readlink("/proc/self/ns/user", mine, sizeof(mine));
	b = readlink(path, theirs, sizeof(theirs));
	return a > 0 && a == b && !memcmp(mine, theirs, (size_t)a);
}

bool shmfs_caps_sys_admin(void)
{
	return shmfs_caps_has(0, CAP_SYS_ADMIN);
}
