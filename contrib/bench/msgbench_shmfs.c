// SPDX-License-Identifier: MIT
/*
 * shmfs-msgbench's libshmfs transports, on the mount $SHMFS_DIR names:
 *   - mailbox: two mailboxes, one each way. A mailbox holds the latest
 *     value, so a receive takes the newest message, whatever came before
 *     it unseen; msgbench.c measures it one way as a stream of latest
 *     values, not as a queue;
 *   - queue: two queues, shmfs_queue_send() and shmfs_queue_recv(), each
 *     message copied in and out;
 *   - queue-zc: the same queues with reserve/commit and read/release: the
 *     message is made and inspected where it lies in the ring, only its
 *     first and last 8 bytes written and read.
 */
#include "msgbench.h"

#include <shmfs.h>

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static int mailbox_setup(struct chan *c)
{
	for (int d = 0; d < 2; d++) {
		snprintf(c->name[d], sizeof(c->name[d]), "msgbench-mb%d.%d", d, (int)getpid());
		int err = shmfs_mailbox_open(c->name[d], c->size, SHMFS_OPEN_CREATE, &c->mb[d]);
		if (err)
			return err;
		c->mb_seen[d] = 0;
	}
	return 0;
}

static int mailbox_send(struct chan *c, int dir, uint64_t n)
{
	shmfs_msgbench_stamp(c->buf, c->size, n);
	return shmfs_mailbox_publish(c->mb[dir], c->buf, c->size, NULL);
}

/* The newest message, once there is one newer than the last taken. */
static int mailbox_recv(struct chan *c, int dir, uint64_t *n)
{
	uint64_t seq;
	size_t len;
	int err;

	err = shmfs_mailbox_wait(c->mb[dir], c->mb_seen[dir], -1);
	if (!err)
		err = shmfs_mailbox_read(c->mb[dir], c->buf, c->size, &len, &seq);
	if (err)
		return err;
	c->mb_seen[dir] = seq;
	return len == c->size ? shmfs_msgbench_unstamp(c->buf, c->size, n) : -EBADMSG;
}

static void mailbox_teardown(struct chan *c)
{
	for (int d = 0; d < 2; d++) {
		shmfs_mailbox_close(c->mb[d]);
		shmfs_segment_unlink(c->name[d]);
	}
}

static int queue_setup(struct chan *c)
{
	for (int d = 0; d < 2; d++) {
		snprintf(c->name[d], sizeof(c->name[d]), "msgbench-q%d.%d", d, (int)getpid());
		int err = shmfs_queue_open(c->name[d], shmfs_msgbench_ring(c->size),
					   SHMFS_OPEN_CREATE, &c->q[d]);
		if (err)
			return err;
	}
	return 0;
}

static int queue_send(struct chan *c, int dir, uint64_t n)
{
	shmfs_msgbench_stamp(c->buf, c->size, n);
	return shmfs_queue_send(c->q[dir], c->buf, c->size, -1);
}

static int queue_recv(struct chan *c, int dir, uint64_t *n)
{
	size_t len;
	int err = shmfs_queue_recv(c->q[dir], c->buf, c->size, &len, -1);

	if (err)
		return err;
	return len == c->size ? shmfs_msgbench_unstamp(c->buf, c->size, n) : -EBADMSG;
}

static int queue_zc_send(struct chan *c, int dir, uint64_t n)
{
	void *slot;
	int err = shmfs_queue_reserve(c->q[dir], c->size, &slot, -1);

	if (err)
		return err;
	shmfs_msgbench_stamp(slot, c->size, n);
	return shmfs_queue_commit(c->q[dir], c->size);
}

static int queue_zc_recv(struct chan *c, int dir, uint64_t *n)
{
	const void *data;
	size_t len;
	int err = shmfs_queue_read(c->q[dir], &data, &len, -1);

	if (err)
		return err;
	err = len == c->size ? shmfs_msgbench_unstamp(data, c->size, n) : -EBADMSG;
	shmfs_queue_release(c->q[dir]);
	return err;
}

static void queue_teardown(struct chan *c)
{
	for (int d = 0; d < 2; d++) {
		shmfs_queue_close(c->q[d]);
		shmfs_segment_unlink(c->name[d]);
	}
}

const struct transport shmfs_msgbench_mailbox = {
	"mailbox", mailbox_setup, mailbox_send, mailbox_recv, mailbox_teardown, true,
};
const struct transport shmfs_msgbench_queue = {
	"queue", queue_setup, queue_send, queue_recv, queue_teardown, false,
};
const struct transport shmfs_msgbench_queue_zc = {
	"queue-zc", queue_setup, queue_zc_send, queue_zc_recv, queue_teardown, false,
};
