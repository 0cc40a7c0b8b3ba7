// SPDX-License-Identifier: MIT
/*
 * The client side of the control channel (see control.h). A daemon that is
 * stopped (SIGSTOP) or wedged never answers, and a process waiting for a
 * FUSE request can only be killed, not interrupted: the question is asked
 * by a child process, which is killed when no answer comes in time.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int query(const char *mountpoint, char buf[SHMFS_STATUS_MAX])
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

/*
 * The child: ask, and send the result and then the text down fd. It may
 * outlive the command, stuck on the daemon: it keeps none of the command's
 * descriptors, so nobody waits for their end because of it.
 */
static void ask(const char *mountpoint, int fd)
{
	char buf[SHMFS_STATUS_MAX];
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), err;

	fd = fcntl(fd, F_DUPFD, 3); /* out of the way of 0, 1 and 2 */
	if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
	    (fd != 3 && dup2(fd, 3) < 0) || close_range(4, ~0U, 0))
		_exit(1);
	fd = 3;
	err = query(mountpoint, buf);
	if (write(fd, &err, sizeof(err)) == sizeof(err) && !err && write(fd, buf, sizeof(buf)) < 0)
		_exit(1);
	_exit(0);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Read want bytes from fd before the deadline: 0, -ETIMEDOUT or -EIO. */
static int read_by(int fd, void *dst, size_t want, const struct timespec *t0)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < want) {
		long left = SHMFS_STATUS_TIMEOUT_S * 1000L - ms_since(t0);
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!p.revents)
			continue;
		n = read(fd, (char *)dst + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO; /* the child died without a word */
		got += (size_t)n;
	}
	return 0;
}

/*
 * Kill the child and let it go, so that it holds the mount busy no more. A
 * child stuck on a request that the daemon already took cannot go before
 * the daemon answers or the connection ends: it is waited for only a
 * moment, then left behind.
 */
static void reap_killed(pid_t pid)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	kill(pid, SIGKILL);
	for (int i = 0; i < 100 && waitpid(pid, NULL, WNOHANG) == 0; i++)
		nanosleep(&ts, NULL);
}

int shmfs_control_status(const char *mountpoint, char buf[SHMFS_STATUS_MAX])
{
	struct timespec t0;
	int pfd[2], err, answer;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0)
		ask(mountpoint, pfd[1]);
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return -errno;
	}
	err = read_by(pfd[0], &answer, sizeof(answer), &t0);
	if (!err)
		err = answer ? answer : read_by(pfd[0], buf, SHMFS_STATUS_MAX, &t0);
	close(pfd[0]);
	if (err == -ETIMEDOUT)
		reap_killed(pid);
	else
		waitpid(pid, NULL, 0);
	buf[SHMFS_STATUS_MAX - 1] = '\0';
	return err;
}
