// SPDX-License-Identifier: MIT
/*
 * Unmounting (umount.h). fusermount3 runs as a child with the caller's
 * own rights; it checks, as the kernel would for root, that the mount is
 * the caller's to end.
 */
#include "umount.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

static int run_fusermount(const char *mp, unsigned int flags)
{
	const char *argv[6] = { "fusermount3", "-u" };
	int argc = 2, status;
	pid_t pid;

	if (flags & SHMFS_UMOUNT_LAZY)
		argv[argc++] = "-z";
	if (flags & SHMFS_UMOUNT_QUIET)
		argv[argc++] = "-q";
	argv[argc++] = mp;
	argv[argc] = NULL;
	pid = fork();
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EBUSY;
}

int shmfs_umount(const char *mp, unsigned int flags)
{
	if (geteuid() == 0)
		return umount2(mp, flags & SHMFS_UMOUNT_LAZY ? MNT_DETACH : 0) ? -errno : 0;
	return run_fusermount(mp, flags);
}
