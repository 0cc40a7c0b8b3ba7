// SPDX-License-Identifier: MIT
/*
 * shmfs-msgbench's kernel transports, the peers libshmfs is measured
 * against: an AF_UNIX stream socketpair (one connected pair both ways), two
 * pipes, and two POSIX message queues (mq_open, eight messages deep; the
 * kernel refuses messages above /proc/sys/fs/mqueue/msgsize_max unless the
 * process has CAP_SYS_RESOURCE).
 */
#include "msgbench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = read(fd, p, len);

		if (n <= 0)
			return n ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int stream_send(struct chan *c, int dir, uint64_t n)
{
	shmfs_msgbench_stamp(c->buf, c->size, n);
	return write_all(c->fd[dir][1], c->buf, c->size);
}

static int stream_recv(struct chan *c, int dir, uint64_t *n)
{
	int err = read_all(c->fd[dir][0], c->buf, c->size);

	return err ? err : shmfs_msgbench_unstamp(c->buf, c->size, n);
}

static int socket_setup(struct chan *c)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	/* One connected pair serves both directions. */
	c->fd[0][1] = c->fd[1][0] = sv[0];
	c->fd[0][0] = c->fd[1][1] = sv[1];
	return 0;
}

static void socket_teardown(struct chan *c)
{
	close(c->fd[0][0]);
	close(c->fd[0][1]);
}

static int pipe_setup(struct chan *c)
{
	for (int d = 0; d < 2; d++)
		if (pipe2(c->fd[d], O_CLOEXEC))
			return -errno;
	return 0;
}

static void pipe_teardown(struct chan *c)
{
	for (int d = 0; d < 2; d++) {
		close(c->fd[d][0]);
		close(c->fd[d][1]);
	}
}

static int mq_setup(struct chan *c)
{
	struct mq_attr attr = { .mq_maxmsg = 8, .mq_msgsize = (long)c->size };
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };

	/* Root may pass msgsize_max; the byte limit is raised where we may. */
	setrlimit(RLIMIT_MSGQUEUE, &unlimited);
	for (int d = 0; d < 2; d++) {
		snprintf(c->name[d], sizeof(c->name[d]), "/shmfs-msgbench%d.%d", d, (int)getpid());
		mq_unlink(c->name[d]);
		c->mq[d] = mq_open(c->name[d], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
		if (c->mq[d] == (mqd_t)-1) {
			int err = -errno;

			if (d)
				mq_unlink(c->name[0]);
			return err;
		}
	}
	return 0;
}

static int mq_send_one(struct chan *c, int dir, uint64_t n)
{
	shmfs_msgbench_stamp(c->buf, c->size, n);
	return mq_send(c->mq[dir], (char *)c->buf, c->size, 0) ? -errno : 0;
}

static int mq_recv_one(struct chan *c, int dir, uint64_t *n)
{
	ssize_t len = mq_receive(c->mq[dir], (char *)c->buf, c->size, NULL);

	if (len < 0)
		return -errno;
	return (size_t)len == c->size ? shmfs_msgbench_unstamp(c->buf, c->size, n) : -EBADMSG;
}

static void mq_teardown(struct chan *c)
{
	for (int d = 0; d < 2; d++) {
		mq_close(c->mq[d]);
		mq_unlink(c->name[d]);
	}
}

const struct transport shmfs_msgbench_socketpair = {
	"socketpair", socket_setup, stream_send, stream_recv, socket_teardown, false,
};
const struct transport shmfs_msgbench_pipe = {
	"pipe", pipe_setup, stream_send, stream_recv, pipe_teardown, false,
};
const struct transport shmfs_msgbench_mq = {
	"mq", mq_setup, mq_send_one, mq_recv_one, mq_teardown, false,
};
