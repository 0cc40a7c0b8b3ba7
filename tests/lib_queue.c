// SPDX-License-Identifier: MIT
/*
 * Checks of the libshmfs queue against $SHMFS_DIR: its contract and its
 * traffic (lib_queue_faults.c: dead owners and hostile contents).
 *
 *   lib_queue basic              the API's contract, error by error
 *   lib_queue wake               a consumer blocked on empty and a producer
 *                                blocked on full, in other processes, wake
 *                                within WAKE_BOUND_NS of what unblocks them
 *   lib_queue order N P          P producer processes send N numbered
 *                                messages in all (copying and zero-copy
 *                                alternately, some of 500 KB); the consumer
 *                                checks each producer's order and every
 *                                byte: no loss, no duplicate
 *   lib_queue threads N          one queue object shared by a producer
 *                                thread and a consumer thread, N messages
 *                                in place both ways: each side's open
 *                                message is its own
 */
#include <shmfs.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "queue_test.h"

/* ------------------------------------------------------- basic */

static void check_basic_open(void)
{
	struct shmfs_queue *q = NULL, *r = NULL;
	struct shmfs_segment *seg = NULL;

	shmfs_segment_unlink("q-basic");
	CHECK_ERR(shmfs_queue_open("q-basic", 0, 0, &q), -ENOENT);
	CHECK_ERR(shmfs_segment_open("q-basic", 0, SHMFS_OPEN_CREATE, &seg), 0);
	CHECK_ERR(shmfs_queue_open("q-basic", 0, 0, &q), -EAGAIN);
	CHECK_ERR(shmfs_queue_open("q-basic", 10000, SHMFS_OPEN_CREATE, &q), 0);
	shmfs_segment_close(seg);
	if (!q)
		return;
	CHECK(shmfs_queue_capacity(q) == 12288, "capacity %zu", shmfs_queue_capacity(q));
	CHECK(shmfs_queue_max_message(q) == 12280, "max %zu", shmfs_queue_max_message(q));
	CHECK(shmfs_queue_segment(q) != NULL, "segment accessor");
	CHECK_ERR(shmfs_queue_open("q-basic", 20000, 0, &r), -EFBIG);
	CHECK_ERR(shmfs_queue_open("q-basic", 0, SHMFS_RDONLY, &r), 0);
	if (r) {
		char b[4];

		CHECK_ERR(shmfs_queue_send(r, "x", 1, 0), -EBADF);
		CHECK_ERR(shmfs_queue_recv(r, b, sizeof(b), NULL, 0), -EBADF);
		shmfs_queue_close(r);
	}
	shmfs_queue_close(q);

	/* A mailbox is not a queue; a queue of another version is refused
	 * by name. */
	CHECK_ERR(shmfs_segment_open("q-other", 8192, SHMFS_OPEN_CREATE, &seg), 0);
	shmfs_segment_close(seg);
	poke32("q-other", 0, 0x424d4853u);
	CHECK_ERR(shmfs_queue_open("q-other", 100, SHMFS_OPEN_CREATE, &q), -EPROTO);
	shmfs_segment_unlink("q-other");
	poke("q-basic", OFF_VERSION, "\2\0", 2);
	CHECK_ERR(shmfs_queue_open("q-basic", 0, 0, &q), -EPROTONOSUPPORT);
	poke("q-basic", OFF_VERSION, "\1\0", 2);
	poke64("q-basic", OFF_CAPACITY, 1 << 20);
	CHECK_ERR(shmfs_queue_open("q-basic", 0, 0, &q), -EPROTO);
	poke64("q-basic", OFF_CAPACITY, 12288);
}

static void check_basic_messages(void)
{
	struct shmfs_queue *q = NULL;
	unsigned char buf[12288], out[12288];
	const void *data;
	void *slot;
	size_t len = 0;
	long long t0;

	CHECK_ERR(shmfs_queue_open("q-basic", 0, 0, &q), 0);
	if (!q)
		return;
	CHECK_ERR(shmfs_queue_recv(q, out, sizeof(out), &len, 0), -EAGAIN);
	t0 = now_ns();
	CHECK_ERR(shmfs_queue_recv(q, out, sizeof(out), &len, 30), -ETIMEDOUT);
	CHECK(now_ns() - t0 >= 30000000LL, "waited the 30 ms");
	CHECK_ERR(shmfs_queue_read(q, &data, &len, 0), -EAGAIN);
	CHECK_ERR(shmfs_queue_send(q, buf, 12281, 0), -EMSGSIZE);
	CHECK_ERR(shmfs_queue_commit(q, 0), -EINVAL);
	CHECK_ERR(shmfs_queue_release(q), -EINVAL);

	/* In order, each whole, across the end of the ring many times:
	 * lengths that do not divide the ring put messages over its end. */
	for (int i = 0; i < 300; i++) {
		size_t n = (size_t)(i * 37) % 5000;

		memset(buf, i, n);
		CHECK_ERR(shmfs_queue_send(q, buf, n, 0), 0);
		if (i % 2) {
			CHECK_ERR(shmfs_queue_recv(q, out, sizeof(out), &len, 0), 0);
			CHECK(len == (size_t)((i - 1) * 37) % 5000, "len %zu", len);
			CHECK_ERR(shmfs_queue_recv(q, out, sizeof(out), &len, 0), 0);
			CHECK(len == n && !memcmp(out, buf, n), "message %d", i);
		}
	}
	/* Full: the ring holds 12288 bytes, a 6136-byte message 6144. */
	CHECK_ERR(shmfs_queue_send(q, buf, 6136, 0), 0);
	CHECK_ERR(shmfs_queue_send(q, buf, 6136, 0), 0);
	CHECK_ERR(shmfs_queue_send(q, buf, 1, 0), -EAGAIN);
	t0 = now_ns();
	CHECK_ERR(shmfs_queue_send(q, buf, 1, 30), -ETIMEDOUT);
	CHECK(now_ns() - t0 >= 30000000LL, "waited the 30 ms");
	CHECK_ERR(shmfs_queue_recv(q, out, 10, &len, 0), -EMSGSIZE);
	CHECK(len == 6136, "EMSGSIZE says %zu", len);
	CHECK_ERR(shmfs_queue_recv(q, out, sizeof(out), &len, 0), 0);
	CHECK_ERR(shmfs_queue_recv(q, out, sizeof(out), &len, 0), 0);

	/* Zero-copy both ways; a shorter commit; a cancel. */
	CHECK_ERR(shmfs_queue_reserve(q, 12280, &slot, 0), 0);
	if (failures)
		return;
	CHECK_ERR(shmfs_queue_send(q, "x", 1, 0), -EDEADLK);
	memcpy(slot, "in place", 8);
	CHECK_ERR(shmfs_queue_commit(q, 12281), -EMSGSIZE);
	CHECK_ERR(shmfs_queue_commit(q, 8), 0);
	CHECK_ERR(shmfs_queue_reserve(q, 100, &slot, 0), 0);
	CHECK_ERR(shmfs_queue_cancel(q), 0);
	CHECK_ERR(shmfs_queue_read(q, &data, &len, 0), 0);
	CHECK(len == 8 && !memcmp(data, "in place", 8), "read in place");
	CHECK_ERR(shmfs_queue_recv(q, out, sizeof(out), &len, 0), -EDEADLK);
	CHECK_ERR(shmfs_queue_release(q), 0);
	CHECK_ERR(shmfs_queue_recv(q, out, sizeof(out), &len, 0), -EAGAIN);
	CHECK(shmfs_queue_lost(q) == 0, "nothing lost");
	shmfs_queue_close(q);
	shmfs_segment_unlink("q-basic");
}

/* -------------------------------------------------------- wake */

/* Child: block in recv (or send, on a full queue) and report how late. */
static int wake_child(bool producer, const long long *when, int ready)
{
	struct shmfs_queue *q;
	char buf[8192];
	long long called, woke, at;
	int err;

	if (shmfs_queue_open("q-wake", 0, 0, &q))
		return 10;
	if (write(ready, "r", 1) != 1)
		return 11;
	called = now_ns();
	if (producer)
		err = shmfs_queue_send(q, buf, 100, 10000);
	else
		err = shmfs_queue_recv(q, buf, sizeof(buf), NULL, 10000);
	woke = now_ns();
	if (err)
		return 12;
	at = __atomic_load_n(when, __ATOMIC_ACQUIRE);
	if (woke - (at > called ? at : called) > WAKE_BOUND_NS)
		return 13;
	shmfs_queue_close(q);
	return 0;
}

static void check_wake(void)
{
	struct shmfs_queue *q = NULL;
	long long *when = shared_mem(sizeof(long long));
	char buf[8192] = "", c;
	int ready[2], status = -1;
	pid_t pid;

	shmfs_segment_unlink("q-wake");
	CHECK_ERR(shmfs_queue_open("q-wake", 4096, SHMFS_OPEN_CREATE, &q), 0);
	if (!q || !when || pipe(ready) < 0)
		return;
	for (int round = 0; round < 6; round++) {
		bool producer = round % 2;

		if (producer) /* fill it: the child waits for room */
			CHECK_ERR(shmfs_queue_send(q, buf, 4000, 0), 0);
		pid = fork();
		if (pid == 0)
			_exit(wake_child(producer, when, ready[1]));
		CHECK(read(ready[0], &c, 1) == 1, "child ready");
		usleep(50000);
		__atomic_store_n(when, now_ns(), __ATOMIC_RELEASE);
		if (producer)
			CHECK_ERR(shmfs_queue_recv(q, buf, sizeof(buf), NULL, 0), 0);
		else
			CHECK_ERR(shmfs_queue_send(q, "wake", 4, 0), 0);
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s woke within 1 s: status %d", producer ? "producer" : "consumer", status);
		if (producer) /* take what the child sent */
			CHECK_ERR(shmfs_queue_recv(q, buf, sizeof(buf), NULL, 0), 0);
	}
	close(ready[0]);
	close(ready[1]);
	shmfs_queue_close(q);
	shmfs_segment_unlink("q-wake");
}

/* ------------------------------------------------------- order */

static int order_producer(uint32_t p, uint64_t count)
{
	struct shmfs_queue *q;
	unsigned char *buf = malloc(BIG);
	int err;

	if (!buf || shmfs_queue_open("q-order", 0, 0, &q))
		return 10;
	for (uint64_t k = 0; k < count; k++) {
		err = msg_send(q, buf, p, k, k % 2);
		if (err) {
			fprintf(stderr, "producer %u: send %ju: %s\n", p, (uintmax_t)k,
				strerror(-err));
			return 11;
		}
	}
	shmfs_queue_close(q);
	free(buf);
	return 0;
}

static void check_order(uint64_t total, uint32_t producers)
{
	struct shmfs_queue *q = NULL;
	unsigned char *buf = malloc(BIG);
	uint64_t next[64] = { 0 }, per = total / producers, k = 0, got = 0;
	uint32_t p;
	pid_t pids[64];
	int status, err = 0;

	if (producers < 1 || producers > 64)
		return;
	shmfs_segment_unlink("q-order");
	CHECK_ERR(shmfs_queue_open("q-order", RING, SHMFS_OPEN_CREATE, &q), 0);
	if (!q || !buf)
		return;
	for (p = 0; p < producers; p++) {
		pids[p] = fork();
		if (pids[p] == 0)
			_exit(order_producer(p, per));
	}
	for (got = 0; got < per * producers; got++) {
		err = take(q, buf, got % 3 == 0, 10000, &p, &k);
		if (err || p >= producers || k != next[p])
			break;
		next[p]++;
	}
	CHECK(got == per * producers,
	      "after %ju messages: %s, producer %u "
	      "message %ju, wanted %ju",
	      (uintmax_t)got, strerror(-err), p, (uintmax_t)k,
	      (uintmax_t)(p < producers ? next[p] : 0));
	for (p = 0; p < producers; p++) {
		waitpid(pids[p], &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "producer %u: status %d", p,
		      status);
	}
	CHECK_ERR(shmfs_queue_recv(q, buf, BIG, NULL, 0), -EAGAIN);
	CHECK(shmfs_queue_lost(q) == 0, "nothing lost");
	printf("order: %ju messages from %u producers, each in order, "
	       "none lost or repeated\n",
	       (uintmax_t)got, producers);
	shmfs_queue_close(q);
	shmfs_segment_unlink("q-order");
	free(buf);
}

/* ----------------------------------------------------- threads */

struct threads_arg {
	struct shmfs_queue *q;
	uint64_t count;
	int err;
};

static void *threads_producer(void *p)
{
	struct threads_arg *a = p;
	unsigned char *buf = malloc(BIG);

	for (uint64_t k = 0; k < a->count && !a->err && buf; k++)
		a->err = msg_send(a->q, buf, 1, k, true);
	free(buf);
	return NULL;
}

/* The same queue object, in place both ways from two threads at once: a
 * reservation and a zero-copy read are open together, each its own. */
static void check_threads(uint64_t count)
{
	struct threads_arg a = { NULL, count, 0 };
	uint64_t k = 0, n = 0;
	pthread_t producer;
	uint32_t p;
	int err = 0;

	shmfs_segment_unlink("q-threads");
	REQUIRE_ERR(shmfs_queue_open("q-threads", RING, SHMFS_OPEN_CREATE, &a.q), 0);
	REQUIRE_ERR(pthread_create(&producer, NULL, threads_producer, &a), 0);
	for (k = 0; k < count; k++) {
		err = take(a.q, NULL, true, 10000, &p, &n);
		if (err || p != 1 || n != k)
			break;
	}
	pthread_join(producer, NULL);
	CHECK(k == count, "after %ju messages: %s, message %ju", (uintmax_t)k, strerror(-err),
	      (uintmax_t)n);
	CHECK_ERR(a.err, 0);
	printf("threads: %ju messages in place between two threads of one "
	       "object, in order\n",
	       (uintmax_t)k);
	shmfs_queue_close(a.q);
	shmfs_segment_unlink("q-threads");
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "basic";
	char label[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(what, "basic")) {
		check_basic_open();
		check_basic_messages();
	} else if (!strcmp(what, "wake")) {
		check_wake();
	} else if (!strcmp(what, "order")) {
		check_order(argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000,
			    argc > 3 ? (uint32_t)atoi(argv[3]) : 4);
	} else if (!strcmp(what, "threads")) {
		check_threads(argc > 2 ? strtoull(argv[2], NULL, 10) : 100000);
	} else {
		fprintf(stderr, "lib_queue: unknown check '%s'\n", what);
		return 2;
	}
	snprintf(label, sizeof(label), "lib_queue %s", what);
	return check_report(label);
}
