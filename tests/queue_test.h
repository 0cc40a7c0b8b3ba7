/* SPDX-License-Identifier: MIT */
/*
 * What the queue's test programs (lib_queue.c, lib_queue_faults.c) share:
 * the header offsets of the format, direct writes into a segment as
 * another process would make them, and numbered messages whose every byte
 * can be checked.
 */
#ifndef SHMFS_TESTS_QUEUE_TEST_H
#define SHMFS_TESTS_QUEUE_TEST_H

#include <shmfs.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define WAKE_BOUND_NS 1000000000LL
#define BIG (500 * 1000)
#define RING (2 * 1024 * 1024)

/* Header offsets (the format): producer side at 64, consumer side at 128. */
#define OFF_VERSION 4
#define OFF_CAPACITY 16
#define OFF_TAIL 64
#define OFF_PLOCK 80
#define OFF_POWNER 84
#define OFF_HEAD 128
#define OFF_CLOCK 144

static inline long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void *shared_mem(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Write LEN bytes at OFF of segment NAME directly, as another process. */
static inline void poke(const char *name, size_t off, const void *bytes, size_t len)
{
	struct shmfs_segment *seg;
	struct shmfs_view *v;

	if (shmfs_segment_open(name, 0, 0, &seg))
		return;
	if (!shmfs_view_map(seg, 0, 0, 0, &v)) {
		shmfs_view_write(v, off, bytes, len);
		shmfs_view_unmap(v);
	}
	shmfs_segment_close(seg);
}

static inline void poke64(const char *name, size_t off, uint64_t v)
{
	poke(name, off, &v, sizeof(v));
}

static inline void poke32(const char *name, size_t off, uint32_t v)
{
	poke(name, off, &v, sizeof(v));
}

/* ------------------------------------------------------ messages */

/* A message: producer, number, length, then bytes that depend on all. */
struct msg_head {
	uint32_t producer;
	uint32_t length;
	uint64_t number;
};

static inline size_t msg_len(uint64_t k)
{
	if (k % 4099 == 7)
		return BIG;
	return sizeof(struct msg_head) + (size_t)((k * 7919) % 200);
}

static inline unsigned char msg_byte(uint32_t p, uint64_t k, size_t i)
{
	return (unsigned char)((k * 131) ^ (i * 7) ^ (i >> 8) ^ (p << 5));
}

static inline void msg_fill(unsigned char *buf, uint32_t p, uint64_t k, size_t len)
{
	struct msg_head h = { p, (uint32_t)len, k };

	memcpy(buf, &h, sizeof(h));
	for (size_t i = sizeof(h); i < len; i++)
		buf[i] = msg_byte(p, k, i);
}

/* 0 if buf[0..len) is a whole message; its producer and number. */
static inline int msg_check(const unsigned char *buf, size_t len, uint32_t *pp, uint64_t *kp)
{
	struct msg_head h;

	if (len < sizeof(h))
		return 1;
	memcpy(&h, buf, sizeof(h));
	if (h.length != len || len != msg_len(h.number))
		return 2;
	for (size_t i = sizeof(h); i < len; i++)
		if (buf[i] != msg_byte(h.producer, h.number, i))
			return 3;
	*pp = h.producer;
	*kp = h.number;
	return 0;
}

/* Send message K of producer P, copying or in place. */
static inline int msg_send(struct shmfs_queue *q, unsigned char *buf, uint32_t p, uint64_t k,
			   bool zero)
{
	size_t len = msg_len(k);
	void *slot;
	int err;

	if (!zero) {
		msg_fill(buf, p, k, len);
		return shmfs_queue_send(q, buf, len, 10000);
	}
	err = shmfs_queue_reserve(q, len + 100, &slot, 10000);
	if (err)
		return err;
	msg_fill(slot, p, k, len);
	return shmfs_queue_commit(q, len);
}

/* Take one message, copying or in place; its producer and number. */
static inline int take(struct shmfs_queue *q, unsigned char *buf, bool zero, int timeout_ms,
		       uint32_t *pp, uint64_t *kp)
{
	const void *data;
	size_t len;
	int err, bad;

	if (zero) {
		err = shmfs_queue_read(q, &data, &len, timeout_ms);
		if (err)
			return err;
		bad = msg_check(data, len, pp, kp);
		err = shmfs_queue_release(q);
	} else {
		err = shmfs_queue_recv(q, buf, BIG, &len, timeout_ms);
		if (err)
			return err;
		bad = msg_check(buf, len, pp, kp);
	}
	return bad ? -EBADMSG : err;
}

#endif
