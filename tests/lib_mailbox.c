// SPDX-License-Identifier: MIT
/*
 * Checks of the libshmfs mailbox against $SHMFS_DIR.
 *
 *   lib_mailbox basic          the API's contract, error by error
 *   lib_mailbox wake           a reader blocked in shmfs_mailbox_wait() in
 *                              another process wakes when a message comes
 *   lib_mailbox stress [N [R]] one publisher, N numbered messages (default
 *                              100000) of varying length, now and then
 *                              about 500 KB; R reader processes (default 4,
 *                              half blocking in wait, half spinning) check
 *                              that every message they read is whole and
 *                              that sequence numbers only grow; the
 *                              publisher pauses now and then so that
 *                              waiting readers block, and every wait must
 *                              return within WAKE_BOUND_NS of the publish
 *                              it waited for (or of its call, if that
 *                              publish came first)
 *
 * With no argument, runs all three.
 */
#include <shmfs.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/*
 * The bound on a wake-up: generous (no performance threshold), but a lost
 * wake-up that only a timeout or a later publish would end is caught.
 */
#define WAKE_BOUND_NS 1000000000LL

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Memory shared by the processes of one check: publish times by number. */
static long long *shared_times(size_t n)
{
	void *p = mmap(NULL, n * sizeof(long long), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * How long a wait called at CALLED and returned at WOKE took to notice
 * message number SEQ, published (by the clock) at times[SEQ].
 */
static long long wake_latency(const long long *times, uint64_t seq, long long called,
			      long long woke)
{
	long long published = __atomic_load_n(&times[seq], __ATOMIC_ACQUIRE);

	return woke - (published > called ? published : called);
}

/* ------------------------------------------------------------- basic */

static void check_basic_errors(void)
{
	struct shmfs_mailbox *mb = NULL, *rd = NULL;
	struct shmfs_segment *seg = NULL;

	shmfs_segment_unlink("mb-basic");
	CHECK_ERR(shmfs_mailbox_open("mb-basic", 0, SHMFS_RDONLY, &rd), -ENOENT);
	CHECK_ERR(shmfs_mailbox_open("mb-basic", 100, 0, &mb), -ENOENT);

	/* An empty segment is not set up yet; an opener with a capacity and
	 * write access sets it up. */
	REQUIRE_ERR(shmfs_segment_open("mb-basic", 0, SHMFS_OPEN_CREATE, &seg), 0);
	CHECK_ERR(shmfs_mailbox_open("mb-basic", 0, 0, &rd), -EAGAIN);
	CHECK_ERR(shmfs_mailbox_open("mb-basic", 0, SHMFS_RDONLY, &rd), -EAGAIN);
	REQUIRE_ERR(shmfs_mailbox_open("mb-basic", 100, SHMFS_OPEN_CREATE, &mb), 0);
	if (!mb)
		return;
	CHECK(shmfs_mailbox_capacity(mb) == 128,
	      "capacity %zu (100 rounded up "
	      "to 64s)",
	      shmfs_mailbox_capacity(mb));
	CHECK(shmfs_mailbox_segment(mb) != NULL, "segment accessor");
	CHECK_ERR(shmfs_mailbox_open("mb-basic", 1000, 0, &rd), -EFBIG);
	REQUIRE_ERR(shmfs_mailbox_open("mb-basic", 50, SHMFS_RDONLY, &rd), 0);
	shmfs_mailbox_close(rd);
	REQUIRE_ERR(shmfs_mailbox_open("mb-basic", 0, SHMFS_RDONLY, &rd), 0);
	shmfs_mailbox_close(mb);
	shmfs_segment_close(seg);
	if (rd) {
		uint8_t b = 0;

		CHECK_ERR(shmfs_mailbox_publish(rd, &b, 1, NULL), -EBADF);
		shmfs_mailbox_close(rd);
	}

	/* Something else under that name is not a mailbox. */
	shmfs_segment_unlink("mb-other");
	REQUIRE_ERR(shmfs_segment_open("mb-other", 300, SHMFS_OPEN_CREATE, &seg), 0);
	if (seg) {
		struct shmfs_view *v;

		if (!shmfs_view_map(seg, 0, 0, 0, &v)) {
			memset(shmfs_view_addr(v), 'x', 300);
			shmfs_view_unmap(v);
		}
		shmfs_segment_close(seg);
	}
	CHECK_ERR(shmfs_mailbox_open("mb-other", 100, SHMFS_OPEN_CREATE, &mb), -EPROTO);
	CHECK_ERR(shmfs_mailbox_open("mb-other", 0, SHMFS_RDONLY, &mb), -EPROTO);
	shmfs_segment_unlink("mb-other");
}

/* Poke the shared header directly, as a broken or dead publisher would. */
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

/* Where the slot of message N starts in the segment (three slots, each a
 * 64-byte header and the capacity). */
static size_t slot_offset(const struct shmfs_mailbox *mb, uint64_t n)
{
	return 64 + (size_t)(n % 3) * (64 + shmfs_mailbox_capacity(mb));
}

static void check_basic_messages(void)
{
	struct shmfs_mailbox *mb = NULL, *rd = NULL;
	struct shmfs_mailbox_token tok;
	const void *data;
	char buf[256];
	size_t len = 0;
	uint64_t seq = 99, odd, big;

	REQUIRE_ERR(shmfs_mailbox_open("mb-basic", 0, 0, &mb), 0);
	REQUIRE_ERR(shmfs_mailbox_open("mb-basic", 0, SHMFS_RDONLY, &rd), 0);
	if (!mb || !rd)
		return;
	CHECK(shmfs_mailbox_seq(rd) == 0, "nothing published yet");
	CHECK_ERR(shmfs_mailbox_read(rd, buf, sizeof(buf), &len, &seq), -ENOMSG);
	CHECK_ERR(shmfs_mailbox_wait(rd, 0, 0), -ETIMEDOUT);
	CHECK_ERR(shmfs_mailbox_wait(rd, 0, 30), -ETIMEDOUT);

	CHECK_ERR(shmfs_mailbox_publish(mb, buf, shmfs_mailbox_capacity(mb) + 1, NULL), -EMSGSIZE);
	CHECK_ERR(shmfs_mailbox_publish(mb, "hello", 5, &seq), 0);
	CHECK(seq == 1, "first message is 1, got %ju", (uintmax_t)seq);
	CHECK_ERR(shmfs_mailbox_wait(rd, 0, -1), 0);
	CHECK_ERR(shmfs_mailbox_wait(rd, 1, 0), -ETIMEDOUT);
	CHECK_ERR(shmfs_mailbox_read(rd, buf, 2, &len, &seq), -EMSGSIZE);
	CHECK(len == 5 && seq == 1, "EMSGSIZE reports len %zu seq %ju", len, (uintmax_t)seq);
	memset(buf, 0, sizeof(buf));
	CHECK_ERR(shmfs_mailbox_read(rd, buf, sizeof(buf), &len, &seq), 0);
	CHECK(len == 5 && seq == 1 && !memcmp(buf, "hello", 5), "read hello");
	CHECK_ERR(shmfs_mailbox_publish(mb, "", 0, &seq), 0);
	CHECK_ERR(shmfs_mailbox_read(rd, buf, 0, &len, &seq), 0);
	CHECK(len == 0 && seq == 2, "empty message");
	CHECK_ERR(shmfs_mailbox_publish(mb, buf, shmfs_mailbox_capacity(mb), &seq), 0);
	CHECK_ERR(shmfs_mailbox_read(rd, buf, sizeof(buf), &len, NULL), 0);
	CHECK(len == shmfs_mailbox_capacity(mb), "a message of full capacity");

	/* A length past the capacity, written by a broken publisher, is
	 * refused, never copied. Message 3 is in slot 0. */
	big = 1ull << 40;
	poke("mb-basic", slot_offset(mb, 3) + 8, &big, 8);
	CHECK_ERR(shmfs_mailbox_read(rd, buf, sizeof(buf), &len, &seq), -EBADMSG);
	CHECK_ERR(shmfs_mailbox_read_begin(rd, &data, &len, &tok), -EBADMSG);
	CHECK_ERR(shmfs_mailbox_publish(mb, "again", 5, &seq), 0);
	CHECK_ERR(shmfs_mailbox_read(rd, buf, sizeof(buf), &len, &seq), 0);
	CHECK(len == 5 && !memcmp(buf, "again", 5) && seq == 4, "the next message reads: seq %ju",
	      (uintmax_t)seq);

	/* A publisher that died half-way through message 5 leaves slot 2's
	 * counter odd and its bytes half written: readers still read message
	 * 4, whole, and the next publish writes slot 2 again. */
	odd = 2 * 5 - 1;
	poke("mb-basic", slot_offset(mb, 5), &odd, 8);
	poke("mb-basic", slot_offset(mb, 5) + 64, "torn!", 5);
	CHECK_ERR(shmfs_mailbox_read(rd, buf, sizeof(buf), &len, &seq), 0);
	CHECK(len == 5 && !memcmp(buf, "again", 5) && seq == 4,
	      "a dead publisher leaves the message before: seq %ju", (uintmax_t)seq);

	/* Zero-copy: the bytes in place, valid until the publisher comes
	 * round to their slot again, three publishes on. */
	CHECK_ERR(shmfs_mailbox_read_begin(rd, &data, &len, &tok), 0);
	CHECK(len == 5 && !memcmp(data, "again", 5) && tok.seq == 4, "in place: len %zu seq %ju",
	      len, (uintmax_t)tok.seq);
	CHECK_ERR(shmfs_mailbox_read_validate(rd, &tok), 0);
	CHECK_ERR(shmfs_mailbox_publish(mb, "third", 5, &seq), 0);
	CHECK(seq == 5, "the repaired slot's message is 5: %ju", (uintmax_t)seq);
	CHECK_ERR(shmfs_mailbox_read_validate(rd, &tok), 0);
	CHECK_ERR(shmfs_mailbox_publish(mb, "fourth", 6, &seq), 0);
	CHECK_ERR(shmfs_mailbox_read_validate(rd, &tok), 0);
	CHECK_ERR(shmfs_mailbox_publish(mb, "fifth", 5, &seq), 0);
	CHECK_ERR(shmfs_mailbox_read_validate(rd, &tok), -ESTALE);
	CHECK_ERR(shmfs_mailbox_read_begin(rd, &data, &len, &tok), 0);
	CHECK(len == 5 && !memcmp(data, "fifth", 5) && tok.seq == 7, "in place again: seq %ju",
	      (uintmax_t)tok.seq);
	CHECK_ERR(shmfs_mailbox_read_validate(rd, &tok), 0);

	/* The newest number naming a slot whose counter is older breaks
	 * the protocol: an error, not a loop and not a copy. */
	big = 100;
	poke("mb-basic", 24, &big, 8);
	CHECK_ERR(shmfs_mailbox_read(rd, buf, sizeof(buf), &len, &seq), -EBADMSG);
	CHECK_ERR(shmfs_mailbox_read_begin(rd, &data, &len, &tok), -EBADMSG);
	big = UINT64_MAX;
	poke("mb-basic", 24, &big, 8);
	CHECK_ERR(shmfs_mailbox_read(rd, buf, sizeof(buf), &len, &seq), -EBADMSG);
	CHECK_ERR(shmfs_mailbox_publish(mb, "x", 1, &seq), -EBADMSG);
	big = 7;
	poke("mb-basic", 24, &big, 8);
	CHECK_ERR(shmfs_mailbox_read(rd, buf, sizeof(buf), &len, &seq), 0);
	CHECK(seq == 7 && len == 5, "restored: seq %ju", (uintmax_t)seq);
	shmfs_mailbox_close(rd);
	shmfs_mailbox_close(mb);
	shmfs_segment_unlink("mb-basic");
}

/* Mailboxes of format versions 1 (with a checksum) and 2 (one slot) are
 * refused by name. */
static void check_basic_version(void)
{
	struct shmfs_mailbox *mb = NULL;

	for (uint16_t v = 1; v <= 2; v++) {
		shmfs_segment_unlink("mb-old");
		CHECK_ERR(shmfs_mailbox_open("mb-old", 64, SHMFS_OPEN_CREATE, &mb), 0);
		shmfs_mailbox_close(mb);
		poke("mb-old", 4, &v, 2);
		CHECK_ERR(shmfs_mailbox_open("mb-old", 0, 0, &mb), -EPROTONOSUPPORT);
		CHECK_ERR(shmfs_mailbox_open("mb-old", 64, SHMFS_OPEN_CREATE, &mb),
			  -EPROTONOSUPPORT);
		CHECK_ERR(shmfs_mailbox_open("mb-old", 0, SHMFS_RDONLY, &mb), -EPROTONOSUPPORT);
	}
	shmfs_segment_unlink("mb-old");
}

/* -------------------------------------------------------------- wake */

static void check_wake(void)
{
	struct shmfs_mailbox *mb = NULL;
	int ready[2], status = -1;
	long long *times = shared_times(8);
	char c;
	pid_t pid;

	CHECK(times != NULL, "shared memory for the publish times");
	if (!times)
		return;
	shmfs_segment_unlink("mb-wake");
	REQUIRE_ERR(shmfs_mailbox_open("mb-wake", 64, SHMFS_OPEN_CREATE, &mb), 0);
	if (!mb || pipe(ready) < 0)
		return;
	for (int round = 0; round < 5; round++) {
		pid = fork();
		if (pid == 0) {
			struct shmfs_mailbox *rd;
			long long called, woke;
			uint64_t seen;
			int err;

			if (shmfs_mailbox_open("mb-wake", 0, SHMFS_RDONLY, &rd))
				_exit(10);
			seen = shmfs_mailbox_seq(rd);
			if (write(ready[1], "r", 1) != 1)
				_exit(11);
			/* Blocks in the futex until the publish below. */
			called = now_ns();
			err = shmfs_mailbox_wait(rd, seen, 10000);
			woke = now_ns();
			if (err)
				_exit(err == -ETIMEDOUT ? 12 : 13);
			if (shmfs_mailbox_seq(rd) <= seen)
				_exit(14);
			if (wake_latency(times, seen + 1, called, woke) > WAKE_BOUND_NS)
				_exit(15);
			_exit(0);
		}
		CHECK(read(ready[0], &c, 1) == 1, "child ready");
		/* Give the child time to block; correctness does not depend on
		 * it, it only makes the futex path the one usually taken. */
		usleep(50000);
		__atomic_store_n(&times[shmfs_mailbox_seq(mb) + 1], now_ns(), __ATOMIC_RELEASE);
		CHECK_ERR(shmfs_mailbox_publish(mb, "wake up", 7, NULL), 0);
		waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "waiter woke within 1 s: status %d", status);
	}
	munmap(times, 8 * sizeof(long long));
	close(ready[0]);
	close(ready[1]);
	shmfs_mailbox_close(mb);
	shmfs_segment_unlink("mb-wake");
}

/* ------------------------------------------------------------ stress */

#define STRESS_CAP (512 * 1024)

/* A message: its number, its length, then bytes that depend on both. */
struct stress_head {
	uint64_t number;
	uint64_t length;
};

static size_t stress_len(uint64_t k)
{
	if (k % 997 == 0)
		return 400 * 1024 + (size_t)(k % 100) * 1024; /* ~500 KB */
	return sizeof(struct stress_head) + (size_t)((k * 7919) % 4096);
}

static unsigned char stress_byte(uint64_t k, size_t i)
{
	return (unsigned char)((k * 131) ^ (i * 7) ^ (i >> 8));
}

static void stress_fill(unsigned char *buf, uint64_t k, size_t len)
{
	struct stress_head h = { k, len };

	memcpy(buf, &h, sizeof(h));
	for (size_t i = sizeof(h); i < len; i++)
		buf[i] = stress_byte(k, i);
}

/* 0 if buf[0..len) is exactly message number SEQ. */
static int stress_verify(const unsigned char *buf, size_t len, uint64_t seq)
{
	struct stress_head h;

	if (len < sizeof(h))
		return 1;
	memcpy(&h, buf, sizeof(h));
	if (h.number != seq || h.length != len || len != stress_len(seq))
		return 2;
	for (size_t i = sizeof(h); i < len; i++)
		if (buf[i] != stress_byte(seq, i))
			return 3;
	return 0;
}

/* A reader process: reads until it has seen message TOTAL. */
static int stress_reader(int id, uint64_t total, bool blocking, int ready, const long long *times)
{
	struct shmfs_mailbox *mb;
	unsigned char *buf = malloc(STRESS_CAP);
	uint64_t last = 0, seq, seen = 0, waits = 0, blocked = 0;
	long long called, woke, latency;
	size_t len;
	int err;

	if (!buf || shmfs_mailbox_open("mb-stress", 0, SHMFS_RDONLY, &mb))
		return 10;
	if (write(ready, "r", 1) != 1)
		return 11;
	while (last < total) {
		if (blocking) {
			called = now_ns();
			err = shmfs_mailbox_wait(mb, last, 10000);
			woke = now_ns();
			waits++;
			if (err) {
				fprintf(stderr, "reader %d: wait after %ju: %s\n", id,
					(uintmax_t)last, strerror(-err));
				return 12;
			}
			latency = wake_latency(times, last + 1, called, woke);
			if (latency > WAKE_BOUND_NS) {
				fprintf(stderr,
					"reader %d: the wait for message "
					"%ju woke %lld ms after its publish\n",
					id, (uintmax_t)last + 1, latency / 1000000);
				return 16;
			}
			blocked += __atomic_load_n(&times[last + 1], __ATOMIC_ACQUIRE) > called;
		}
		err = shmfs_mailbox_read(mb, buf, STRESS_CAP, &len, &seq);
		if (err == -ENOMSG && !blocking) {
			sched_yield();
			continue;
		}
		if (err) {
			fprintf(stderr, "reader %d: read: %s\n", id, strerror(-err));
			return 13;
		}
		if (seq < last || (blocking && seq == last)) {
			fprintf(stderr, "reader %d: sequence went from %ju to %ju\n", id,
				(uintmax_t)last, (uintmax_t)seq);
			return 14;
		}
		if (seq == last) {
			sched_yield();
			continue;
		}
		err = stress_verify(buf, len, seq);
		if (err) {
			fprintf(stderr,
				"reader %d: message %ju (%zu bytes) is "
				"torn (check %d)\n",
				id, (uintmax_t)seq, len, err);
			return 15;
		}
		last = seq;
		seen++;
	}
	if (blocking)
		printf("reader %d (waiting): %ju whole messages, last %ju, "
		       "%ju waits (%ju blocked), each woke within 1 s\n",
		       id, (uintmax_t)seen, (uintmax_t)last, (uintmax_t)waits, (uintmax_t)blocked);
	else
		printf("reader %d (spinning): %ju whole messages, last %ju\n", id, (uintmax_t)seen,
		       (uintmax_t)last);
	shmfs_mailbox_close(mb);
	free(buf);
	return 0;
}

static void check_stress(uint64_t total, int readers)
{
	struct shmfs_mailbox *mb = NULL;
	unsigned char *buf = malloc(STRESS_CAP);
	long long *times = shared_times(total + 2);
	pid_t pids[64];
	int ready[2], status, bad = 0;
	uint64_t seq = 0, big = 0;
	char c;

	if (readers > 64)
		readers = 64;
	shmfs_segment_unlink("mb-stress");
	REQUIRE_ERR(shmfs_mailbox_open("mb-stress", STRESS_CAP, SHMFS_OPEN_CREATE, &mb), 0);
	CHECK(times != NULL, "shared memory for the publish times");
	if (!mb || !buf || !times || pipe(ready) < 0)
		return;
	for (int r = 0; r < readers; r++) {
		pids[r] = fork();
		if (pids[r] == 0) {
			fflush(stdout);
			_exit(stress_reader(r, total, r % 2 == 0, ready[1], times));
		}
	}
	for (int r = 0; r < readers; r++)
		CHECK(read(ready[0], &c, 1) == 1, "reader ready");
	for (uint64_t k = 1; k <= total; k++) {
		size_t len = stress_len(k);
		int err;

		/* Now and then a pause, so waiting readers catch up and
		 * block in the futex; the next publish must wake them. */
		if (k % 500 == 0)
			usleep(2000);
		stress_fill(buf, k, len);
		__atomic_store_n(&times[k], now_ns(), __ATOMIC_RELEASE);
		err = shmfs_mailbox_publish(mb, buf, len, &seq);
		if (err || seq != k) {
			CHECK(0, "publish %ju: %d, seq %ju", (uintmax_t)k, err, (uintmax_t)seq);
			break;
		}
		big += len >= 400 * 1024;
	}
	for (int r = 0; r < readers; r++) {
		if (waitpid(pids[r], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			bad++;
			fprintf(stderr, "reader %d failed: status %d\n", r, status);
		}
	}
	CHECK(bad == 0, "%d readers failed", bad);
	printf("stress: published %ju messages (%ju of about 500 KB) to %d "
	       "readers\n",
	       (uintmax_t)seq, (uintmax_t)big, readers);
	close(ready[0]);
	close(ready[1]);
	shmfs_mailbox_close(mb);
	shmfs_segment_unlink("mb-stress");
	munmap(times, (total + 2) * sizeof(long long));
	free(buf);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	bool all = !strcmp(what, "all");
	char label[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (all || !strcmp(what, "basic")) {
		check_basic_errors();
		check_basic_messages();
		check_basic_version();
	}
	if (all || !strcmp(what, "wake"))
		check_wake();
	if (all || !strcmp(what, "stress"))
		check_stress(argc > 2 ? strtoull(argv[2], NULL, 0) : 100000,
			     argc > 3 ? atoi(argv[3]) : 4);
	if (!checks) {
		fprintf(stderr, "usage: lib_mailbox [basic|wake|stress [N [R]]]\n");
		return 2;
	}
	snprintf(label, sizeof(label), "lib_mailbox %s", what);
	return check_report(label);
}
