// SPDX-License-Identifier: MIT
/*
 * Checks of the libshmfs queue against $SHMFS_DIR when things go wrong:
 * owners killed at random moments and hostile header contents
 * (lib_queue.c: the contract and the traffic).
 *
 *   lib_queue_faults kill-producer K    K producers in turn, each killed
 *                                       with SIGKILL at a random moment;
 *                                       the consumer gets every message
 *                                       each one committed, in order,
 *                                       whole, plus at most the one in
 *                                       flight
 *   lib_queue_faults kill-consumer K M  K consumers in turn (M: copy or
 *                                       zero), each killed at a random
 *                                       moment; no message is delivered
 *                                       twice, and at most one per kill is
 *                                       missing (zero: only as reported)
 *   lib_queue_faults corrupt [N]        hostile header and ring contents
 *                                       give errors, never a crash or a
 *                                       hang; a lock held by a live
 *                                       process is waited for, by a dead
 *                                       one taken over
 */
#include <shmfs.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "queue_test.h"

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
static int kp_consumer(uint32_t rounds, const uint64_t *done, uint64_t *got, const int *finished)
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
			fprintf(stderr,
				"consumer: producer %u sent %ju after "
				"%ju\n",
				p, (uintmax_t)k, (uintmax_t)got[p]);
			return 22;
		}
		got[p]++;
	}
	for (p = 0; p < rounds; p++) {
		uint64_t d = __atomic_load_n(&done[p], __ATOMIC_ACQUIRE);

		if (got[p] != d && got[p] != d + 1) {
			fprintf(stderr,
				"consumer: producer %u committed %ju, "
				"%ju arrived\n",
				p, (uintmax_t)d, (uintmax_t)got[p]);
			return 23;
		}
	}
	printf("kill-producer: %d producers killed; every committed message "
	       "arrived whole and in order\n",
	       rounds);
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
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "consumer: status %d", status);
	/* A producer after all that: the queue still works. */
	CHECK_ERR(shmfs_queue_send(q, "after", 5, 1000), 0);
	shmfs_queue_close(q);
	shmfs_segment_unlink("q-kill");
}

/* ------------------------------------------------- kill consumers */

struct kc_shared {
	int lost_reported;
	int finished;	 /* the producer may stop */
	uint64_t total;	 /* messages it sent, once it stopped */
	uint8_t count[]; /* deliveries of each message number */
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
	for (k = 0; k < KC_MAX && !__atomic_load_n(&s->finished, __ATOMIC_ACQUIRE); k++)
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
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "consumer %u: status %d", r,
		      status);
		break;
	}
	waitpid(producer, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "producer: status %d", status);
	CHECK(killed == (int)rounds, "%d of %u consumers killed", killed, rounds);
	for (uint64_t k = 0; k < s->total; k++) {
		missing += s->count[k] == 0;
		twice += s->count[k] > 1;
	}
	CHECK(twice == 0, "%ju messages delivered twice", (uintmax_t)twice);
	CHECK(missing <= (uint64_t)killed, "%ju missing after %d kills", (uintmax_t)missing,
	      killed);
	if (zero)
		CHECK(missing <= (uint64_t)s->lost_reported && s->lost_reported <= killed,
		      "%ju missing, %d reported lost", (uintmax_t)missing, s->lost_reported);
	if (!failures)
		printf("kill-consumer (%s): %d consumers killed; no message twice, "
		       "at most one missing per kill%s\n",
		       zero ? "zero-copy" : "copy", killed, zero ? ", each reported" : "");
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
	return err == 0 || err == -EBADMSG || err == -EAGAIN || err == -ETIMEDOUT ||
	       err == -EOWNERDEAD || err == -EMSGSIZE;
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
				continue; /* capacity: checked at open */
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
	printf("corrupt: %d rounds of random header words, only errors\n", rounds);
	shmfs_segment_unlink("q-bad");
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "corrupt";
	char label[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	srandom((unsigned int)getpid());
	if (!strcmp(what, "kill-producer")) {
		check_kill_producer(argc > 2 ? (uint32_t)atoi(argv[2]) : 20);
	} else if (!strcmp(what, "kill-consumer")) {
		check_kill_consumer(argc > 2 ? (uint32_t)atoi(argv[2]) : 20,
				    argc > 3 && !strcmp(argv[3], "zero"));
	} else if (!strcmp(what, "corrupt")) {
		check_corrupt_cases();
		check_corrupt_locks();
		check_corrupt_fuzz(argc > 2 ? atoi(argv[2]) : 2000);
	} else {
		fprintf(stderr, "lib_queue_faults: unknown check '%s'\n", what);
		return 2;
	}
	snprintf(label, sizeof(label), "lib_queue_faults %s", what);
	return check_report(label);
}
