// SPDX-License-Identifier: MIT
/*
 * Capability checks. Being uid 0 is not enough: a root process may have
 * dropped CAP_SYS_ADMIN (containers, setpriv), and then neither its own
 * tmpfs store nor FUSE passthrough is possible; and a caller of the mount
 * sees root-only extended attributes only with CAP_SYS_ADMIN, as on tmpfs.
 */
#include "caps.h"

#include <linux/capability.h>
#include <stdint.h>
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

/*
 * The kernel's own identity map, "0 0 4294967295" and nothing else, is
 * what only the initial user namespace has unless a privileged process
 * gave a child namespace the same one; such a child is taken for the
 * initial namespace, and the kernel's refusal is what its user then sees.
 */
bool shmfs_caps_in_initial_userns(void)
{
	unsigned long long inside, outside, count;
	char rest[2];
	FILE *f = fopen("/proc/self/uid_map", "re");
	bool initial = false;

	if (!f)
		return false;
	if (fscanf(f, "%llu %llu %llu", &inside, &outside, &count) == 3)
		initial = inside == 0 && outside == 0 && count == UINT32_MAX &&
			  fscanf(f, "%1s", rest) != 1;
	fclose(f);
	return initial;
}
