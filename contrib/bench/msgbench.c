// SPDX-License-Identifier: MIT
/*
 * shmfs-msgbench: messages between two processes, through libshmfs on a
 * shmfs mount and through the kernel's own channels, in one run.
 *
 *   shmfs-msgbench [--duration S] [--rounds N] [--sizes LIST]
 *                  [--only LIST] [--markdown] DIR
 *
 * For each message size and each transport, two figures:
 *   - round trips per second: the parent sends a message, the child sends
 *     it back (ping-pong);
 *   - one-way MB/s: the parent sends for the duration, the child receives;
 *     the clock stops when the child has reported what it received.
 * Transports (msgbench_*.c): mailbox, queue and queue-zc (libshmfs),
 * socketpair, pipe and mq (the kernel's), boost-mq (Boost.Interprocess,
 * where it was built), latest-bound (the mailbox's pattern, three slots
 * and a counter in plain shared memory, with nothing of libshmfs: the
 * bound of latest-value streaming between two CPUs), and memcpy of the
 * same size in one process, the bound of any copy.
 *
 * A mailbox holds the latest value, not a queue of them: one way, its
 * publisher publishes without pause and the reader takes the newest whole
 * message each time, skipping what was replaced before it looked. Its
 * one-way figure counts the messages the reader took, and a second table
 * says how many were published: it measures latest-value streaming, never
 * delivery of every message.
 *
 * Every message carries its number in its first and last 8 bytes; the
 * receiver checks both (so a torn message stops the run: exit 3), and the
 * one-way receiver checks that numbers grow by exactly one (a mailbox's:
 * that they only grow). Each figure is the median of the rounds, the
 * transports interleaved within a round; ratios are to the socket and to
 * memcpy of the same run.
 */
#include "msgbench.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOP UINT64_MAX
#define MAX_SIZES 8
#define MAX_ROUNDS 15
/* The socket, which the ratios divide by, is transports[SOCKET]. */
#define SOCKET 3

static const struct transport *const transports[] = {
	&shmfs_msgbench_mailbox,      &shmfs_msgbench_queue, &shmfs_msgbench_queue_zc,
	&shmfs_msgbench_socketpair,   &shmfs_msgbench_pipe,  &shmfs_msgbench_mq,
#ifdef SHMFS_MSGBENCH_BOOST
	&shmfs_msgbench_boost,
#endif
	&shmfs_msgbench_latest_bound,
};
#define NTRANSPORTS (sizeof(transports) / sizeof(transports[0]))

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void shmfs_msgbench_stamp(unsigned char *p, size_t size, uint64_t n)
{
	memcpy(p + size - 8, &n, 8);
	memcpy(p, &n, 8);
}

int shmfs_msgbench_unstamp(const unsigned char *p, size_t size, uint64_t *n)
{
	uint64_t a, b;

	memcpy(&a, p, 8);
	memcpy(&b, p + size - 8, 8);
	if (a != b && size >= 16)
		return -EBADMSG;
	*n = a;
	return 0;
}

size_t shmfs_msgbench_ring(size_t size)
{
	size_t ring = 4 * (size + 8);

	return ring < 1024 * 1024 ? 1024 * 1024 : ring;
}

/* ------------------------------------------------------- measurement */

/* The child: echo (ping-pong) or count (one-way) until the STOP message;
 * the count goes back through RESULT. */
static int child(const struct transport *t, struct chan *c, bool echo, int result)
{
	uint64_t n, last = 0, got = 0;
	int err;

	for (;;) {
		err = t->recv(c, 0, &n);
		if (err)
			return err == -EBADMSG ? 3 : 1;
		if (n == STOP)
			break;
		if (echo) {
			if (t->send(c, 1, n))
				return 1;
			continue;
		}
		if (got && (t->latest ? n <= last : n != last + 1))
			return 3;
		last = n;
		got++;
	}
	return write(result, &got, sizeof(got)) == sizeof(got) ? 0 : 1;
}

/* One figure: per second, round trips (echo), or one way the messages
 * received and those sent. */
struct rate {
	double got, sent;
};

static void chan_free(const struct transport *t, struct chan *c, int result[2], bool set_up)
{
	if (set_up)
		t->teardown(c);
	free(c->buf);
	close(result[0]);
	close(result[1]);
}

/*
 * Measure one figure into *R. Returns 0, 1 if the transport cannot carry
 * this size, -1 on a failure (message on stderr), -3 for wrong data.
 */
static int measure(const struct transport *t, size_t size, bool echo, double duration,
		   struct rate *r)
{
	struct chan c = { .size = size };
	uint64_t n = 0, back, got = 0;
	int result[2], status, err;
	double t0, t1;
	pid_t pid;

	c.buf = malloc(size);
	if (!c.buf || pipe2(result, O_CLOEXEC))
		return -1;
	memset(c.buf, 0xa5, size);
	err = t->setup(&c);
	if (err) {
		chan_free(t, &c, result, false);
		return err == -EINVAL || err == -EMSGSIZE || err == -ENOMEM ? 1 : -1;
	}
	pid = fork();
	if (pid == 0)
		_exit(child(t, &c, echo, result[1]));
	t0 = now();
	do {
		for (int i = 0; i < 16; i++, n++) {
			if (t->send(&c, 0, n))
				goto out_fail;
			if (echo && (t->recv(&c, 1, &back) || back != n))
				goto out_fail;
		}
		t1 = now();
	} while (t1 - t0 < duration);
	if (t->send(&c, 0, STOP))
		goto out_fail;
	if (!echo && read(result[0], &got, sizeof(got)) != sizeof(got))
		goto out_fail;
	t1 = now();
	waitpid(pid, &status, 0);
	chan_free(t, &c, result, true);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return WIFEXITED(status) && WEXITSTATUS(status) == 3 ? -3 : -1;
	r->got = (echo ? n : got) / (t1 - t0);
	r->sent = n / (t1 - t0);
	return 0;

out_fail:
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	chan_free(t, &c, result, true);
	return -3;
}

/* memcpy of SIZE bytes between two buffers for DURATION: copies per s. */
static double measure_memcpy(size_t size, double duration)
{
	unsigned char *a = malloc(size), *b = malloc(size);
	uint64_t n = 0;
	double t0 = now(), t1;

	if (!a || !b)
		return -1;
	memset(a, 1, size);
	memset(b, 2, size);
	do {
		for (int i = 0; i < 64; i++, n++) {
			memcpy(n % 2 ? a : b, n % 2 ? b : a, size);
			__asm__ volatile("" : : "r"(a), "r"(b) : "memory");
		}
		t1 = now();
	} while (t1 - t0 < duration);
	free(a);
	free(b);
	return n / (t1 - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ----------------------------------------------------------- output */

static void fmt(char *out, size_t len, double v)
{
	if (v <= 0) {
		snprintf(out, len, "-");
	} else if (v >= 1000) {
		char digits[32], *d = digits;
		int n = snprintf(digits, sizeof(digits), "%.0f", v), k = 0;

		for (; *d; d++, n--) {
			out[k++] = *d;
			if (n > 1 && n % 3 == 1)
				out[k++] = ',';
		}
		out[k] = '\0';
	} else {
		snprintf(out, len, "%.1f", v);
	}
}

static void ratio(char *out, size_t len, double a, double b)
{
	if (a <= 0 || b <= 0)
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%.2f", a / b);
}

static const char *size_name(size_t size, char *buf, size_t len)
{
	if (size % 1024 == 0)
		snprintf(buf, len, "%zu KiB", size / 1024);
	else if (size % 1000 == 0)
		snprintf(buf, len, "%zu KB", size / 1000);
	else
		snprintf(buf, len, "%zu B", size);
	return buf;
}

static void print_row(bool md, const char *const cells[7])
{
	if (md)
		printf("| %s | %s | %s | %s | %s | %s | %s |\n", cells[0], cells[1], cells[2],
		       cells[3], cells[4], cells[5], cells[6]);
	else
		printf("%-8s %-12s %11s %8s %11s %8s %8s\n", cells[0], cells[1], cells[2], cells[3],
		       cells[4], cells[5], cells[6]);
}

static void print_header(bool md)
{
	static const char *const h[7] = { "size", "transport", "rt/s",	 "÷sock",
					  "MB/s", "÷sock",     "÷memcpy" };
	static const char *const md_h[7] = { "size",	 "transport",	 "round trips/s",
					     "÷ socket", "one-way MB/s", "÷ socket",
					     "÷ memcpy" };

	print_row(md, md ? md_h : h);
	if (md)
		printf("|:---|:---|---:|---:|---:|---:|---:|\n");
}

struct figures {
	double rt, mbs;	  /* round trips/s; one way, MB/s received */
	double sent, got; /* one way, messages/s sent and received */
};

static void print_size(bool md, size_t size, const struct figures *f, double memcpy_mbs)
{
	const struct figures *sock = &f[SOCKET];
	char sz[32], rt[32], rr[16], mb[32], mr[16], cr[16];

	size_name(size, sz, sizeof(sz));
	for (size_t i = 0; i <= NTRANSPORTS; i++) {
		bool mc = i == NTRANSPORTS;
		const char *cells[7] = {
			sz, mc ? "memcpy" : transports[i]->name, rt, rr, mb, mr, cr
		};

		fmt(rt, sizeof(rt), mc ? 0 : f[i].rt);
		ratio(rr, sizeof(rr), mc ? 0 : f[i].rt, sock->rt);
		fmt(mb, sizeof(mb), mc ? memcpy_mbs : f[i].mbs);
		ratio(mr, sizeof(mr), mc ? memcpy_mbs : f[i].mbs, sock->mbs);
		ratio(cr, sizeof(cr), mc ? memcpy_mbs : f[i].mbs, memcpy_mbs);
		print_row(md, cells);
	}
}

/* The latest-value transports one way: published, taken, their ratio. */
static void print_latest(bool md, int nsizes, const size_t *sizes, struct figures (*f)[NTRANSPORTS])
{
	static const char *const h[5] = { "size", "transport", "published/s", "taken/s",
					  "taken ÷ published" };
	char sz[32], sent[32], got[32], r[16];

	printf("\nLatest value, one way: the publisher publishes without pause, "
	       "the reader takes the newest\nwhole message each time (the "
	       "MB/s above count those), skipping what was replaced unseen.\n");
	printf(md ? "\n| %s | %s | %s | %s | %s |\n|:---|:---|---:|---:|---:|\n"
		  : "%-8s %-12s %12s %12s %18s\n",
	       h[0], h[1], h[2], h[3], h[4]);
	for (int s = 0; s < nsizes; s++) {
		for (size_t i = 0; i < NTRANSPORTS; i++) {
			if (!transports[i]->latest)
				continue;
			size_name(sizes[s], sz, sizeof(sz));
			fmt(sent, sizeof(sent), f[s][i].sent);
			fmt(got, sizeof(got), f[s][i].got);
			ratio(r, sizeof(r), f[s][i].got, f[s][i].sent);
			printf(md ? "| %s | %s | %s | %s | %s |\n" : "%-8s %-12s %12s %12s %18s\n",
			       sz, transports[i]->name, sent, got, r);
		}
	}
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Is transport NAME in the comma-separated LIST (NULL: all)? */
static bool selected(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return true;
	return !list;
}

static int usage(FILE *out, int status)
{
	fputs("usage: shmfs-msgbench [--duration S] [--rounds N] "
	      "[--sizes LIST] [--only LIST] [--markdown] DIR\n"
	      "Messages between two processes: libshmfs on the shmfs mount DIR "
	      "against\nsocketpair, pipe, POSIX mq, Boost.Interprocess (if built), "
	      "the bare latest-value\npattern and memcpy. Sizes default to "
	      "26,4096,65536,500000; --only names\ntransports (mailbox,queue,"
	      "queue-zc,socketpair,pipe,mq,boost-mq,latest-bound;\nthe socket "
	      "is always measured, the ratios need it).\n",
	      out);
	return status;
}

/* Every figure of one size, the median of ROUNDS, into F. Returns 0, or
 * the exit status after a failure. */
static int measure_size(size_t size, int rounds, double duration, const char *only,
			struct figures *f, double *memcpy_mbs)
{
	double v[NTRANSPORTS][3][MAX_ROUNDS], mc[MAX_ROUNDS];

	memset(v, 0, sizeof(v));
	for (int r = 0; r < rounds; r++) {
		for (size_t k = 0; k < NTRANSPORTS; k++) {
			size_t i = (k + (size_t)r) % NTRANSPORTS;

			if (i != SOCKET && !selected(only, transports[i]->name))
				continue;
			for (int echo = 1; echo >= 0; echo--) {
				struct rate x = { 0, 0 };
				int err = measure(transports[i], size, echo, duration, &x);

				if (err < 0) {
					fprintf(stderr, "shmfs-msgbench: %s %s\n",
						transports[i]->name,
						err == -3 ? "delivered wrong data" : "failed");
					return err == -3 ? 3 : 1;
				}
				v[i][echo][r] = x.got;
				if (!echo)
					v[i][2][r] = x.sent;
			}
		}
		mc[r] = measure_memcpy(size, duration);
	}
	for (size_t i = 0; i < NTRANSPORTS; i++) {
		f[i].rt = median(v[i][1], rounds);
		f[i].got = median(v[i][0], rounds);
		f[i].sent = median(v[i][2], rounds);
		f[i].mbs = f[i].got * size / 1e6;
	}
	*memcpy_mbs = median(mc, rounds) * size / 1e6;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, 't' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "sizes", required_argument, NULL, 's' },
		{ "only", required_argument, NULL, 'o' },
		{ "markdown", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	size_t sizes[MAX_SIZES] = { 26, 4096, 65536, 500000 };
	static struct figures f[MAX_SIZES][NTRANSPORTS];
	int nsizes = 4, rounds = 3, c, err;
	double duration = 0.3, memcpy_mbs;
	char *list, *tok, *only = NULL;
	bool md = false;

	while ((c = getopt_long(argc, argv, "t:n:s:o:mh", longopts, NULL)) != -1) {
		switch (c) {
		case 't': duration = atof(optarg); break;
		case 'n': rounds = atoi(optarg); break;
		case 's':
			nsizes = 0;
			list = optarg;
			while ((tok = strsep(&list, ",")) && nsizes < MAX_SIZES)
				sizes[nsizes++] = strtoull(tok, NULL, 10);
			break;
		case 'o': only = optarg; break;
		case 'm': md = true; break;
		case 'h': return usage(stdout, 0);
		default: return usage(stderr, 2);
		}
	}
	if (argc - optind != 1 || rounds < 1 || rounds > MAX_ROUNDS || duration <= 0 || nsizes < 1)
		return usage(stderr, 2);
	for (int i = 0; i < nsizes; i++)
		if (sizes[i] < 8 || sizes[i] > 64 << 20) {
			fprintf(stderr, "shmfs-msgbench: sizes are 8 B to 64 MiB\n");
			return 2;
		}
	setenv("SHMFS_DIR", argv[optind], 1);
	signal(SIGPIPE, SIG_IGN);
	print_header(md);
	for (int s = 0; s < nsizes; s++) {
		err = measure_size(sizes[s], rounds, duration, only, f[s], &memcpy_mbs);
		if (err)
			return err;
		print_size(md, sizes[s], f[s], memcpy_mbs);
	}
	if (selected(only, shmfs_msgbench_mailbox.name))
		print_latest(md, nsizes, sizes, f);
	printf("\nMedian of %d rounds of %.2f s each; MB/s = 10^6 bytes/s one "
	       "way; ratios from the same run.\n",
	       rounds, duration);
	printf("POSIX mq: /proc/sys/fs/mqueue/msgsize_max is %ld here; only "
	       "CAP_SYS_RESOURCE may exceed it, and a '-' means mq_open refused "
	       "that size.\n",
	       read_long("/proc/sys/fs/mqueue/msgsize_max"));
#ifndef SHMFS_MSGBENCH_BOOST
	printf("Boost.Interprocess: not measured, this program was built "
	       "without the Boost headers\n(contrib/install-deps --bench, then "
	       "cmake and build again).\n");
#endif
	return 0;
}
