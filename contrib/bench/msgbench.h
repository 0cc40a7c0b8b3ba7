/* SPDX-License-Identifier: MIT */
/*
 * shmfs-msgbench's transports: each moves numbered messages between a
 * parent and its forked child over two one-way channels, 0 (parent to
 * child) and 1 (back). msgbench.c measures and prints; msgbench_shmfs.c
 * holds the libshmfs transports, msgbench_kernel.c the kernel's,
 * msgbench_boost.cc Boost.Interprocess (built only where Boost is),
 * msgbench_bound.c the bare latest-value pattern the mailbox is held to.
 */
#ifndef SHMFS_MSGBENCH_H
#define SHMFS_MSGBENCH_H

#include <mqueue.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct shmfs_mailbox;
struct shmfs_queue;

struct chan {
	size_t size;
	unsigned char *buf;
	int fd[2][2]; /* pipe/socket: [dir][0 read, 1 write] */
	mqd_t mq[2];
	struct shmfs_mailbox *mb[2];
	uint64_t mb_seen[2];
	struct shmfs_queue *q[2];
	void *peer; /* a transport's own state */
	char name[2][64];
};

struct transport {
	const char *name;
	int (*setup)(struct chan *c);
	int (*send)(struct chan *c, int dir, uint64_t number);
	/* Receive one message; 0 with its number, or -errno (-EBADMSG if
	 * torn). */
	int (*recv)(struct chan *c, int dir, uint64_t *number);
	void (*teardown)(struct chan *c);
	/* A latest-value transport: a message replaces the one before, so
	 * one way the receiver takes the newest, whatever it skipped. */
	bool latest;
};

/* Number the message at P: first and last 8 bytes (they overlap below 16);
 * check a received one. */
void shmfs_msgbench_stamp(unsigned char *p, size_t size, uint64_t n);
int shmfs_msgbench_unstamp(const unsigned char *p, size_t size, uint64_t *n);

/* The byte budget of a queue-like transport for SIZE-byte messages, so
 * that the libshmfs queue and Boost's get the same room. */
size_t shmfs_msgbench_ring(size_t size);

extern const struct transport shmfs_msgbench_mailbox, shmfs_msgbench_queue, shmfs_msgbench_queue_zc,
	shmfs_msgbench_socketpair, shmfs_msgbench_pipe, shmfs_msgbench_mq, shmfs_msgbench_boost,
	shmfs_msgbench_latest_bound;

#ifdef __cplusplus
}
#endif

#endif
