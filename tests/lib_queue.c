// SPDX-License-Identifier: MIT
/*
 * Checks of the libshmfs queue against $SHMFS_DIR.
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
 *   lib_queue kill-producer K    K producers in turn, each killed with
 *                                SIGKILL at a random moment; the consumer
 *                                gets every message each one committed, in
 *                                order, whole, plus at most the one in flight
 *   lib_queue kill-consumer K M  K consumers in turn (M: copy or zero),
 *                                each killed at a random moment; no message
 *                                is delivered twice, and at most one per
 *                                kill is missing (zero: only as reported)
 *   lib_queue corrupt            hostile header and ring contents give
 *                                errors, never a crash or a hang; a lock
 *                                held by a live process is waited for, by
 *                                a dead one taken over
 */
#include <shmfs.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

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

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *shared_mem(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Write LEN bytes at OFF of segment NAME directly, as another process. */
static void poke(const char *name, size_t off, const void *bytes, size_t len)
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

static void poke64(const char *name, size_t off, uint64_t v)
{
	poke(name, off, &v, sizeof(v));
}

static void poke32(const char *name, size_t off, uint32_t v)
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

static size_t msg_len(uint64_t k)
{
	if (k % 4099 == 7)
		return BIG;
	return sizeof(struct msg_head) + (size_t)((k * 7919) % 200);
}

static unsigned char msg_byte(uint32_t p, uint64_t k, size_t i)
{
	return (unsigned char)((k * 131) ^ (i * 7) ^ (i >> 8) ^ (p << 5));
}

static void msg_fill(unsigned char *buf, uint32_t p, uint64_t k, size_t len)
{
	struct msg_head h = { p, (uint32_t)len, k };

	memcpy(buf, &h, sizeof(h));
	for (size_t i = sizeof(h); i < len; i++)
		buf[i] = msg_byte(p, k, i);
}

/* 0 if buf[0..len) is a whole message; its producer and number. */
static int msg_check(const unsigned char *buf, size_t len, uint32_t *pp,
		     uint64_t *kp)
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
static int msg_send(struct shmfs_queue *q, unsigned char *buf, uint32_t p,
		    uint64_t k, bool zero)
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
	CHECK(shmfs_queue_capacity(q) == 12288, "capacity %zu",
	      shmfs_queue_capacity(q));
	CHECK(shmfs_queue_max_message(q) == 12280, "max %zu",
	      shmfs_queue_max_message(q));
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

		if (producer)	/* fill it: the child waits for room */
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
		      "%s woke within 1 s: status %d",
		      producer ? "producer" : "consumer", status);
		if (producer)	/* take what the child sent */
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
			fprintf(stderr, "producer %u: send %ju: %s\n", p,
				(uintmax_t)k, strerror(-err));
			return 11;
		}
	}
	shmfs_queue_close(q);
	free(buf);
	return 0;
}

/* Take one message, copying or in place; its producer and number. */
static int take(struct shmfs_queue *q, unsigned char *buf, bool zero,
		int timeout_ms, uint32_t *pp, uint64_t *kp)
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

static void check_order(uint64_t total, uint32_t producers)
{
	struct shmfs_queue *q = NULL;
	unsigned char *buf = malloc(BIG);
	uint64_t next[64] = { 0 }, per = total / producers, k, got = 0;
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
	CHECK(got == per * producers, "after %ju messages: %s, producer %u "
	      "message %ju, wanted %ju", (uintmax_t)got, strerror(-err), p,
	      (uintmax_t)k, (uintmax_t)(p < producers ? next[p] : 0));
	for (p = 0; p < producers; p++) {
		waitpid(pids[p], &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "producer %u: status %d", p, status);
	}
	CHECK_ERR(shmfs_queue_recv(q, buf, BIG, NULL, 0), -EAGAIN);
	CHECK(shmfs_queue_lost(q) == 0, "nothing lost");
	printf("order: %ju messages from %u producers, each in order, "
	       "none lost or repeated\n", (uintmax_t)got, producers);
	shmfs_queue_close(q);
	shmfs_segment_unlink("q-order");
	free(buf);
}

/* ------------------------------------------------- kill producers */

/* Sends until killed; counts in *done the messages send returned for. */
static int endless_producer(uint32_t p, uint64_t *done)
{
	struct shmfs_queue *q;
	unsigned char *buf = malloc(BIG);

	if (!buf || shmfs_queue_open("q-kill", 0, 0, &q))
		return 10;
	for (uint64_t k = 0;; k++) {
		if (msg_send(q, buf, p, k, k % 2))
			return 11;
		__atomic_store_n(done, k + 1, __ATOMIC_RELEASE);
	}
}

/* Random microseconds in [lo, hi). */
static useconds_t random_us(unsigned int lo, unsigned int hi)
{
	return lo + (useconds_t)(random() % (hi - lo));
}

/* The consumer of kill-producer: takes messages until it has every one
 * committed by the K producers (plus any in flight) and checks order. */
static int kp_consumer(uint32_t rounds, const uint64_t *done, uint64_t *got,
		       const int *finished)
{
	struct shmfs_queue *q;
	unsigned char *buf = malloc(BIG);
	uint32_t p;
	uint64_t k;
	int err, lost = 0, n = 0;

	if (!buf || shmfs_queue_open("q-kill", 0, 0, &q))
		return 20;
	for (;;) {
		err = take(q, buf, n++ % 2, 200, &p, &k);
		if (err == -EOWNERDEAD) {
			lost++;
			continue;
		}
		if (err == -ETIMEDOUT) {
			if (__atomic_load_n(finished, __ATOMIC_ACQUIRE))
				break;
			continue;
		}
		if (err) {
			fprintf(stderr, "consumer: %s\n", strerror(-err));
			return 21;
		}
		if (p >= rounds || k != got[p]) {
			fprintf(stderr, "consumer: producer %u sent %ju after "
				"%ju\n", p, (uintmax_t)k, (uintmax_t)got[p]);
			return 22;
		}
		got[p]++;
	}
	for (p = 0; p < rounds; p++) {
		uint64_t d = __atomic_load_n(&done[p], __ATOMIC_ACQUIRE);

		if (got[p] != d && got[p] != d + 1) {
			fprintf(stderr, "consumer: producer %u committed %ju, "
				"%ju arrived\n", p, (uintmax_t)d,
				(uintmax_t)got[p]);
			return 23;
		}
	}
	printf("kill-producer: %d producers killed; every committed message "
	       "arrived whole and in order\n", rounds);
	fprintf(stderr, "kill-producer: %d losses reported\n", lost);
	return lost > (int)rounds ? 24 : 0;
}

static void check_kill_producer(uint32_t rounds)
{
	struct shmfs_queue *q = NULL;
	uint64_t *done = shared_mem(2 * rounds * sizeof(uint64_t) + 64);
	int *finished = (int *)(done + 2 * rounds);
	int status;
	pid_t consumer, pid;

	shmfs_segment_unlink("q-kill");
	CHECK_ERR(shmfs_queue_open("q-kill", RING, SHMFS_OPEN_CREATE, &q), 0);
	if (!q || !done)
		return;
	consumer = fork();
	if (consumer == 0)
		_exit(kp_consumer(rounds, done, done + rounds, finished));
	for (uint32_t r = 0; r < rounds; r++) {
		pid = fork();
		if (pid == 0)
			_exit(endless_producer(r, &done[r]));
		usleep(random_us(2000, 30000));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		CHECK(WIFSIGNALED(status), "producer %u was killed: %d", r, status);
	}
	/* Everyone is dead: the consumer drains and stops at its timeout. */
	__atomic_store_n(finished, 1, __ATOMIC_RELEASE);
	waitpid(consumer, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "consumer: status %d", status);
	/* A producer after all that: the queue still works. */
	CHECK_ERR(shmfs_queue_send(q, "after", 5, 1000), 0);
	shmfs_queue_close(q);
	shmfs_segment_unlink("q-kill");
}

/* ------------------------------------------------- kill consumers */

struct kc_shared {
	int lost_reported;
	int finished;		/* the producer may stop */
	uint64_t total;		/* messages it sent, once it stopped */
	uint8_t count[];	/* deliveries of each message number */
};

#define KC_MAX 4000000

/* Consumes, marking each delivery, until the producer's last message
 * (from producer 1). */
static int kc_consumer(struct kc_shared *s, bool zero)
{
	struct shmfs_queue *q;
	unsigned char *buf = malloc(BIG);
	const void *data;
	uint64_t k, last = 0;
	uint32_t p;
	size_t len;
	int err;

	if (!buf || shmfs_queue_open("q-killc", 0, 0, &q))
		return 20;
	for (;;) {
		if (zero) {
			err = shmfs_queue_read(q, &data, &len, 10000);
			if (!err && msg_check(data, len, &p, &k))
				return 21;
		} else {
			err = shmfs_queue_recv(q, buf, BIG, &len, 10000);
			if (!err && msg_check(buf, len, &p, &k))
				return 21;
		}
		if (err == -EOWNERDEAD) {
			__atomic_fetch_add(&s->lost_reported, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		if (err)
			return 22;
		if (p == 1)
			return zero ? -shmfs_queue_release(q) : 0;
		if (k >= KC_MAX || k < last)
			return 23;
		__atomic_fetch_add(&s->count[k], 1, __ATOMIC_SEQ_CST);
		/* Work on the message in place, where most kills land. */
		if (zero)
			usleep(20);
		if (zero && shmfs_queue_release(q))
			return 24;
		last = k;
	}
}

static int kc_producer(struct kc_shared *s)
{
	struct shmfs_queue *q;
	unsigned char *buf = malloc(BIG);
	uint64_t k;

	if (!buf || shmfs_queue_open("q-killc", 0, 0, &q))
		return 10;
	for (k = 0; k < KC_MAX &&
	     !__atomic_load_n(&s->finished, __ATOMIC_ACQUIRE); k++)
		if (msg_send(q, buf, 0, k, k % 2))
			return 11;
	__atomic_store_n(&s->total, k, __ATOMIC_RELEASE);
	return msg_send(q, buf, 1, k, false) ? 12 : 0;
}

static void check_kill_consumer(uint32_t rounds, bool zero)
{
	struct kc_shared *s = shared_mem(sizeof(*s) + KC_MAX);
	struct shmfs_queue *q = NULL;
	uint64_t missing = 0, twice = 0;
	int status, killed = 0;
	pid_t producer, pid;

	shmfs_segment_unlink("q-killc");
	CHECK_ERR(shmfs_queue_open("q-killc", RING, SHMFS_OPEN_CREATE, &q), 0);
	if (!q || !s)
		return;
	producer = fork();
	if (producer == 0)
		_exit(kc_producer(s));
	for (uint32_t r = 0;; r++) {
		if (r == rounds)
			__atomic_store_n(&s->finished, 1, __ATOMIC_RELEASE);
		pid = fork();
		if (pid == 0)
			_exit(kc_consumer(s, zero));
		if (r < rounds) {
			usleep(random_us(2000, 20000));
			kill(pid, SIGKILL);
		}
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status)) {
			killed++;
			continue;
		}
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "consumer %u: status %d", r, status);
		break;
	}
	waitpid(producer, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "producer: status %d", status);
	CHECK(killed == (int)rounds, "%d of %u consumers killed", killed, rounds);
	for (uint64_t k = 0; k < s->total; k++) {
		missing += s->count[k] == 0;
		twice += s->count[k] > 1;
	}
	CHECK(twice == 0, "%ju messages delivered twice", (uintmax_t)twice);
	CHECK(missing <= (uint64_t)killed, "%ju missing after %d kills",
	      (uintmax_t)missing, killed);
	if (zero)
		CHECK(missing <= (uint64_t)s->lost_reported &&
		      s->lost_reported <= killed,
		      "%ju missing, %d reported lost", (uintmax_t)missing,
		      s->lost_reported);
	if (!failures)
		printf("kill-consumer (%s): %d consumers killed; no message twice, "
		       "at most one missing per kill%s\n",
		       zero ? "zero-copy" : "copy", killed,
		       zero ? ", each reported" : "");
	fprintf(stderr, "kill-consumer: %ju messages, %ju missing, %d reported\n",
		(uintmax_t)s->total, (uintmax_t)missing, s->lost_reported);
	shmfs_queue_close(q);
	shmfs_segment_unlink("q-killc");
}

/* ------------------------------------------------------ corrupt */

/* A fresh queue with a few messages in it. */
static struct shmfs_queue *fresh(void)
{
	struct shmfs_queue *q = NULL;

	shmfs_segment_unlink("q-bad");
	if (shmfs_queue_open("q-bad", 8192, SHMFS_OPEN_CREATE, &q))
		return NULL;
	for (int i = 0; i < 5; i++)
		shmfs_queue_send(q, "0123456789", 10, 0);
	return q;
}

static bool allowed(int err)
{
	return err == 0 || err == -EBADMSG || err == -EAGAIN ||
	       err == -ETIMEDOUT || err == -EOWNERDEAD || err == -EMSGSIZE;
}

static void check_corrupt_cases(void)
{
	struct shmfs_queue *q;
	char buf[8192];
	size_t len;

	q = fresh();
	CHECK(q != NULL, "fresh queue");
	if (!q)
		return;
	/* TAIL more than a ring ahead of HEAD; misaligned; behind. */
	poke64("q-bad", OFF_TAIL, 1 << 20);
	CHECK_ERR(shmfs_queue_recv(q, buf, sizeof(buf), &len, 0), -EBADMSG);
	CHECK_ERR(shmfs_queue_send(q, "x", 1, 0), -EBADMSG);
	poke64("q-bad", OFF_TAIL, 13);
	CHECK_ERR(shmfs_queue_recv(q, buf, sizeof(buf), &len, 0), -EBADMSG);
	poke64("q-bad", OFF_TAIL, 64);
	poke64("q-bad", OFF_HEAD, 128);
	CHECK_ERR(shmfs_queue_recv(q, buf, sizeof(buf), &len, 0), -EBADMSG);
	poke64("q-bad", OFF_HEAD, 0);
	/* A record longer than what is in the ring. */
	poke32("q-bad", SHMFS_QUEUE_HEADER_SIZE, 0xfffffff0u);
	CHECK_ERR(shmfs_queue_recv(q, buf, sizeof(buf), &len, 0), -EBADMSG);
	poke32("q-bad", SHMFS_QUEUE_HEADER_SIZE, 10);
	CHECK_ERR(shmfs_queue_recv(q, buf, sizeof(buf), &len, 0), 0);
	CHECK(len == 10 && !memcmp(buf, "0123456789", 10), "repaired, readable");
	/* The capacity in the header changes nothing for an open queue. */
	poke64("q-bad", OFF_CAPACITY, 1ull << 39);
	CHECK_ERR(shmfs_queue_recv(q, buf, sizeof(buf), &len, 0), 0);
	shmfs_queue_close(q);
}

/* A lock word naming a live thread is waited for; once it is gone, taken. */
static void check_corrupt_locks(void)
{
	struct shmfs_queue *q = fresh();
	char buf[64];
	int status;
	pid_t pid;

	if (!q)
		return;
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	poke32("q-bad", OFF_CLOCK, (uint32_t)pid);
	CHECK_ERR(shmfs_queue_recv(q, buf, sizeof(buf), NULL, 0), -EAGAIN);
	CHECK_ERR(shmfs_queue_recv(q, buf, sizeof(buf), NULL, 100), -ETIMEDOUT);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	CHECK_ERR(shmfs_queue_recv(q, buf, sizeof(buf), NULL, 1000), 0);
	/* An owner start time that is not the thread's: a reused id. */
	poke32("q-bad", OFF_PLOCK, (uint32_t)getppid());
	poke32("q-bad", OFF_POWNER, 12345);
	CHECK_ERR(shmfs_queue_send(q, "x", 1, 1000), 0);
	/* Garbage that is no thread at all. */
	poke32("q-bad", OFF_PLOCK, 0x7fffffffu);
	CHECK_ERR(shmfs_queue_send(q, "x", 1, 1000), 0);
	shmfs_queue_close(q);
}

/* Random words anywhere in the header and the first ring bytes, then every
 * operation, many times: only errors, never a crash or a hang (an alarm
 * would kill us). */
static void check_corrupt_fuzz(int rounds)
{
	char buf[8192];
	const void *data;
	void *slot;
	size_t len;
	int bad = 0, err;

	srandom(42);
	for (int i = 0; i < rounds; i++) {
		struct shmfs_queue *q = fresh();

		if (!q)
			return;
		for (int w = 0; w < 3; w++) {
			size_t off = (size_t)(random() % 48) * 4;
			uint32_t v = (uint32_t)random();

			if (off >= 16 && off < 24)
				continue;	/* capacity: checked at open */
			if (random() % 2)
				off = SHMFS_QUEUE_HEADER_SIZE + (size_t)(random() % 64);
			if (random() % 3 == 0)
				v %= 64;
			poke32("q-bad", off, v);
		}
		alarm(10);
		err = shmfs_queue_recv(q, buf, sizeof(buf), &len, 5);
		bad += !allowed(err) || (!err && len > sizeof(buf));
		err = shmfs_queue_read(q, &data, &len, 5);
		bad += !allowed(err);
		if (!err)
			bad += shmfs_queue_release(q) != 0;
		err = shmfs_queue_reserve(q, 100, &slot, 5);
		bad += !allowed(err);
		if (!err)
			bad += shmfs_queue_commit(q, 50) != 0;
		err = shmfs_queue_send(q, buf, 3000, 5);
		bad += !allowed(err);
		alarm(0);
		shmfs_queue_close(q);
	}
	CHECK(bad == 0, "%d operations gave an unexpected result", bad);
	printf("corrupt: %d rounds of random header words, only errors\n",
	       rounds);
	shmfs_segment_unlink("q-bad");
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "basic";
	char label[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	srandom((unsigned int)getpid());
	if (!strcmp(what, "basic")) {
		check_basic_open();
		check_basic_messages();
	} else if (!strcmp(what, "wake")) {
		check_wake();
	} else if (!strcmp(what, "order")) {
		check_order(argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000,
			    argc > 3 ? (uint32_t)atoi(argv[3]) : 4);
	} else if (!strcmp(what, "kill-producer")) {
		check_kill_producer(argc > 2 ? (uint32_t)atoi(argv[2]) : 20);
	} else if (!strcmp(what, "kill-consumer")) {
		check_kill_consumer(argc > 2 ? (uint32_t)atoi(argv[2]) : 20,
				    argc > 3 && !strcmp(argv[3], "zero"));
	} else if (!strcmp(what, "corrupt")) {
		check_corrupt_cases();
		check_corrupt_locks();
		check_corrupt_fuzz(argc > 2 ? atoi(argv[2]) : 2000);
	} else {
		fprintf(stderr, "lib_queue: unknown check '%s'\n", what);
		return 2;
	}
	snprintf(label, sizeof(label), "lib_queue %s", what);
	return check_report(label);
}
