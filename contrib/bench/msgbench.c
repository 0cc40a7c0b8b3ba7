// SPDX-License-Identifier: MIT
/*
 * shmfs-msgbench: messages between two processes, through libshmfs on a
 * shmfs mount and through the kernel's own channels, in one run.
 *
 *   shmfs-msgbench [--duration S] [--rounds N] [--sizes LIST] [--markdown] DIR
 *
 * For each message size and each transport, two figures:
 *   - round trips per second: the parent sends a message, the child sends
 *     it back (ping-pong), both sleeping in the kernel while they wait;
 *   - one-way MB/s: the parent sends for the duration, the child receives;
 *     the clock stops when the child has reported what it received.
 * Transports: mailbox (two libshmfs mailboxes; a mailbox keeps only the
 * newest message, so one way the reader acknowledges each message with an
 * 8-byte one on the other mailbox before the next is sent), queue (two
 * libshmfs queues, send/recv), queue-zc (reserve/commit and read/release:
 * the message is built and inspected in place, its first and last 8 bytes
 * written and read), socketpair (AF_UNIX stream), pipe, mq (POSIX message
 * queues), and memcpy of the same size in one process, the bound.
 *
 * Every message carries its number in its first and last 8 bytes; the
 * receiver checks both (so a torn or lost message stops the run: exit 3),
 * and the one-way receiver checks that numbers only grow (queue, pipe,
 * socket, mq: by exactly one). Each figure is the median of the rounds,
 * the transports interleaved within a round; ratios are to the socket and
 * to memcpy of the same run.
 */
#include <shmfs.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOP UINT64_MAX
#define MAX_SIZES 8
#define MAX_ROUNDS 15

struct chan;

/* A transport: two one-way channels, 0 (parent to child) and 1 (back). */
struct transport {
	const char *name;
	int (*setup)(struct chan *c);
	int (*send)(struct chan *c, int dir, uint64_t number);
	/* Receive one message; its number, or -errno; EBADMSG if torn. */
	int (*recv)(struct chan *c, int dir, uint64_t *number);
	void (*teardown)(struct chan *c);
	bool acked;	/* one way, each message is acknowledged (mailbox) */
};

struct chan {
	size_t size;
	unsigned char *buf;
	int fd[2][2];		/* pipe/socket: [dir][0 read, 1 write] */
	mqd_t mq[2];
	struct shmfs_mailbox *mb[2];
	uint64_t mb_seen[2];
	struct shmfs_queue *q[2];
	char name[2][64];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Number the message at P: first and last 8 bytes (they overlap below 16). */
static void stamp(unsigned char *p, size_t size, uint64_t n)
{
	memcpy(p + size - 8, &n, 8);
	memcpy(p, &n, 8);
}

static int unstamp(const unsigned char *p, size_t size, uint64_t *n)
{
	uint64_t a, b;

	memcpy(&a, p, 8);
	memcpy(&b, p + size - 8, 8);
	if (a != b && size >= 16)
		return -EBADMSG;
	*n = a;
	return 0;
}

/* ------------------------------------------------- libshmfs transports */

static int mailbox_setup(struct chan *c)
{
	for (int d = 0; d < 2; d++) {
		snprintf(c->name[d], sizeof(c->name[d]), "msgbench-mb%d.%d", d,
			 (int)getpid());
		int err = shmfs_mailbox_open(c->name[d], c->size,
					     SHMFS_OPEN_CREATE, &c->mb[d]);
		if (err)
			return err;
		c->mb_seen[d] = 0;
	}
	return 0;
}

static int mailbox_send(struct chan *c, int dir, uint64_t n)
{
	stamp(c->buf, c->size, n);
	return shmfs_mailbox_publish(c->mb[dir], c->buf, c->size, NULL);
}

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
	return len == c->size ? unstamp(c->buf, c->size, n) : -EBADMSG;
}

/* One way: wait for the reader's 8-byte acknowledgement of message N. */
static int mailbox_acked(struct chan *c, uint64_t n)
{
	uint64_t got = 0, seq;
	size_t len;
	int err;

	err = shmfs_mailbox_wait(c->mb[1], c->mb_seen[1], -1);
	if (!err)
		err = shmfs_mailbox_read(c->mb[1], &got, 8, &len, &seq);
	if (err)
		return err;
	c->mb_seen[1] = seq;
	return got == n ? 0 : -EBADMSG;
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
	size_t ring = 4 * (c->size + 8);

	if (ring < 1024 * 1024)
		ring = 1024 * 1024;
	for (int d = 0; d < 2; d++) {
		snprintf(c->name[d], sizeof(c->name[d]), "msgbench-q%d.%d", d,
			 (int)getpid());
		int err = shmfs_queue_open(c->name[d], ring, SHMFS_OPEN_CREATE,
					   &c->q[d]);
		if (err)
			return err;
	}
	return 0;
}

static int queue_send(struct chan *c, int dir, uint64_t n)
{
	stamp(c->buf, c->size, n);
	return shmfs_queue_send(c->q[dir], c->buf, c->size, -1);
}

static int queue_recv(struct chan *c, int dir, uint64_t *n)
{
	size_t len;
	int err = shmfs_queue_recv(c->q[dir], c->buf, c->size, &len, -1);

	if (err)
		return err;
	return len == c->size ? unstamp(c->buf, c->size, n) : -EBADMSG;
}

static int queue_zc_send(struct chan *c, int dir, uint64_t n)
{
	void *slot;
	int err = shmfs_queue_reserve(c->q[dir], c->size, &slot, -1);

	if (err)
		return err;
	stamp(slot, c->size, n);
	return shmfs_queue_commit(c->q[dir], c->size);
}

static int queue_zc_recv(struct chan *c, int dir, uint64_t *n)
{
	const void *data;
	size_t len;
	int err = shmfs_queue_read(c->q[dir], &data, &len, -1);

	if (err)
		return err;
	err = len == c->size ? unstamp(data, c->size, n) : -EBADMSG;
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

/* ---------------------------------------------------- kernel transports */

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
	stamp(c->buf, c->size, n);
	return write_all(c->fd[dir][1], c->buf, c->size);
}

static int stream_recv(struct chan *c, int dir, uint64_t *n)
{
	int err = read_all(c->fd[dir][0], c->buf, c->size);

	return err ? err : unstamp(c->buf, c->size, n);
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
		snprintf(c->name[d], sizeof(c->name[d]), "/shmfs-msgbench%d.%d",
			 d, (int)getpid());
		mq_unlink(c->name[d]);
		c->mq[d] = mq_open(c->name[d], O_RDWR | O_CREAT | O_EXCL |
				   O_CLOEXEC, 0600, &attr);
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
	stamp(c->buf, c->size, n);
	return mq_send(c->mq[dir], (char *)c->buf, c->size, 0) ? -errno : 0;
}

static int mq_recv_one(struct chan *c, int dir, uint64_t *n)
{
	ssize_t len = mq_receive(c->mq[dir], (char *)c->buf, c->size, NULL);

	if (len < 0)
		return -errno;
	return (size_t)len == c->size ? unstamp(c->buf, c->size, n) : -EBADMSG;
}

static void mq_teardown(struct chan *c)
{
	for (int d = 0; d < 2; d++) {
		mq_close(c->mq[d]);
		mq_unlink(c->name[d]);
	}
}

static const struct transport transports[] = {
	{ "mailbox", mailbox_setup, mailbox_send, mailbox_recv,
	  mailbox_teardown, true },
	{ "queue", queue_setup, queue_send, queue_recv, queue_teardown, false },
	{ "queue-zc", queue_setup, queue_zc_send, queue_zc_recv,
	  queue_teardown, false },
	{ "socketpair", socket_setup, stream_send, stream_recv,
	  socket_teardown, false },
	{ "pipe", pipe_setup, stream_send, stream_recv, pipe_teardown, false },
	{ "mq", mq_setup, mq_send_one, mq_recv_one, mq_teardown, false },
};
#define NTRANSPORTS (sizeof(transports) / sizeof(transports[0]))

/* ------------------------------------------------------- measurement */

/* The child: echo (ping-pong) or count (one-way) until the STOP message;
 * the count goes back through RESULT. */
static int child(const struct transport *t, struct chan *c, bool echo,
		 int result)
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
		if (got && n != last + 1)
			return 3;
		if (t->acked && shmfs_mailbox_publish(c->mb[1], &n, 8, NULL))
			return 1;
		last = n;
		got++;
	}
	return write(result, &got, sizeof(got)) == sizeof(got) ? 0 : 1;
}

/*
 * One figure: round trips per second (echo) or messages per second
 * received one way. 0 if the transport cannot carry this size; -1 on a
 * failure (message on stderr), -3 for wrong data.
 */
static double measure(const struct transport *t, size_t size, bool echo,
		      double duration)
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
		free(c.buf);
		close(result[0]);
		close(result[1]);
		return err == -EINVAL || err == -EMSGSIZE || err == -ENOMEM ? 0 : -1;
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
			if (!echo && t->acked && mailbox_acked(&c, n))
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
	t->teardown(&c);
	free(c.buf);
	close(result[0]);
	close(result[1]);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return WIFEXITED(status) && WEXITSTATUS(status) == 3 ? -3 : -1;
	return (echo ? n : got) / (t1 - t0);

out_fail:
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	t->teardown(&c);
	free(c.buf);
	close(result[0]);
	close(result[1]);
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
		printf("| %s | %s | %s | %s | %s | %s | %s |\n", cells[0],
		       cells[1], cells[2], cells[3], cells[4], cells[5],
		       cells[6]);
	else
		printf("%-8s %-11s %11s %8s %11s %8s %8s\n", cells[0],
		       cells[1], cells[2], cells[3], cells[4], cells[5],
		       cells[6]);
}

static void print_header(bool md)
{
	static const char *const h[7] = { "size", "transport", "rt/s",
		"÷sock", "MB/s", "÷sock", "÷memcpy" };
	static const char *const md_h[7] = { "size", "transport",
		"round trips/s", "÷ socket", "one-way MB/s", "÷ socket",
		"÷ memcpy" };

	print_row(md, md ? md_h : h);
	if (md)
		printf("|:---|:---|---:|---:|---:|---:|---:|\n");
}

struct figures {
	double rt, mbs;
};

static void print_size(bool md, size_t size, const struct figures *f,
		       double memcpy_mbs)
{
	const struct figures *sock = &f[3];
	char sz[32], rt[32], rr[16], mb[32], mr[16], cr[16];

	size_name(size, sz, sizeof(sz));
	for (size_t i = 0; i <= NTRANSPORTS; i++) {
		bool mc = i == NTRANSPORTS;
		const char *cells[7] = { sz, mc ? "memcpy" : transports[i].name,
					 rt, rr, mb, mr, cr };

		fmt(rt, sizeof(rt), mc ? 0 : f[i].rt);
		ratio(rr, sizeof(rr), mc ? 0 : f[i].rt, sock->rt);
		fmt(mb, sizeof(mb), mc ? memcpy_mbs : f[i].mbs);
		ratio(mr, sizeof(mr), mc ? memcpy_mbs : f[i].mbs, sock->mbs);
		ratio(cr, sizeof(cr), mc ? memcpy_mbs : f[i].mbs, memcpy_mbs);
		print_row(md, cells);
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

static int usage(FILE *out, int status)
{
	fputs("usage: shmfs-msgbench [--duration S] [--rounds N] "
	      "[--sizes LIST] [--markdown] DIR\n"
	      "Messages between two processes: libshmfs on the shmfs mount DIR "
	      "against\nsocketpair, pipe, POSIX mq and memcpy. Sizes default "
	      "to 26,4096,65536,500000.\n", out);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, 't' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "sizes", required_argument, NULL, 's' },
		{ "markdown", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	size_t sizes[MAX_SIZES] = { 26, 4096, 65536, 500000 };
	int nsizes = 4, rounds = 3, c;
	double duration = 0.3;
	bool md = false;
	char *list, *tok;

	while ((c = getopt_long(argc, argv, "t:n:s:mh", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			duration = atof(optarg);
			break;
		case 'n':
			rounds = atoi(optarg);
			break;
		case 's':
			nsizes = 0;
			list = optarg;
			while ((tok = strsep(&list, ",")) && nsizes < MAX_SIZES)
				sizes[nsizes++] = strtoull(tok, NULL, 10);
			break;
		case 'm':
			md = true;
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			return usage(stderr, 2);
		}
	}
	if (argc - optind != 1 || rounds < 1 || rounds > MAX_ROUNDS ||
	    duration <= 0)
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
		double v[NTRANSPORTS][2][MAX_ROUNDS], mc[MAX_ROUNDS];
		struct figures f[NTRANSPORTS];

		for (int r = 0; r < rounds; r++) {
			for (size_t k = 0; k < NTRANSPORTS; k++) {
				size_t i = (k + (size_t)r) % NTRANSPORTS;

				for (int echo = 1; echo >= 0; echo--) {
					double x = measure(&transports[i], sizes[s],
							   echo, duration);

					if (x == -3) {
						fprintf(stderr, "shmfs-msgbench: %s "
							"delivered wrong data\n",
							transports[i].name);
						return 3;
					}
					if (x < 0) {
						fprintf(stderr, "shmfs-msgbench: %s "
							"failed\n",
							transports[i].name);
						return 1;
					}
					v[i][echo][r] = x;
				}
			}
			mc[r] = measure_memcpy(sizes[s], duration);
		}
		for (size_t i = 0; i < NTRANSPORTS; i++) {
			f[i].rt = median(v[i][1], rounds);
			f[i].mbs = median(v[i][0], rounds) * sizes[s] / 1e6;
		}
		print_size(md, sizes[s], f, median(mc, rounds) * sizes[s] / 1e6);
	}
	printf("\nMedian of %d rounds of %.2f s each; MB/s = 10^6 bytes/s one "
	       "way; ratios from the same run.\n", rounds, duration);
	printf("POSIX mq: /proc/sys/fs/mqueue/msgsize_max is %ld here; only "
	       "CAP_SYS_RESOURCE may exceed it, and a '-' means mq_open refused "
	       "that size.\n", read_long("/proc/sys/fs/mqueue/msgsize_max"));
	return 0;
}
