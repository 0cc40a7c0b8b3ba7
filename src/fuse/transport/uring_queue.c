// SPDX-License-Identifier: MIT
/*
 * The queues of FUSE over io_uring, through liburing. See uring_queue.h,
 * and uring.h for the protocol.
 *
 * A queue's thread, pinned to its CPU, makes its ring (128-byte SQEs: the
 * command's fuse_uring_cmd_req does not fit a 64-byte one) and waits until
 * the INIT reply has gone; then it registers its entries, each a
 * fuse_uring_req_header and a payload buffer, and serves: every completion
 * is a request, handed to libfuse as a read of /dev/fuse would have
 * delivered it, and its reply is committed with the fetch of the next one.
 *
 * libfuse >= 3.18 has rings of its own; uring.h says when this can go.
 */
#include "uring_queue.h"
#include "fuse_abi.h"
#include "transport_log.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SQE128_SIZE 128
/*
 * Entries per queue. A queue's thread serves one request at a time; a
 * request that comes while it is busy waits in the kernel and is handed
 * over by the commit of the current one, in the same system call.
 */
#define QUEUE_DEPTH 1

enum queue_state {
	Q_SETUP,
	Q_READY,
	Q_FAILED,
	Q_REGISTERED
};
enum phase {
	PHASE_SETUP,
	PHASE_GO,
	PHASE_ABORT
};

struct uring_queue;

struct ring_ent {
	struct uring_queue *q;
	struct fuse_uring_req_header *hdr;
	char *payload;	 /* a page after hdr: room for the headers before it */
	uint64_t unique; /* of the request being served */
	uint64_t commit_id;
	struct iovec iov[2];
};

struct uring_queue {
	unsigned int qid;
	pthread_t thread;
	bool thread_started;
	bool ring_made;
	atomic_bool exited;
	atomic_uint_fast64_t requests;
	enum queue_state state; /* under qs.lock */
	int err;
	struct io_uring ring;
	void *buf;
	size_t buf_len;
	struct ring_ent ent[QUEUE_DEPTH];
};

static struct {
	struct fuse_session *se;
	void (*request)(struct fuse_in_header *in);
	int devfd;
	unsigned int nr_queues;
	struct uring_queue *queues;
	size_t payload_len;
	bool serving;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum phase phase; /* under lock */
	atomic_bool stopping;
	atomic_uint_fast64_t requests;
} qs = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.devfd = -1,
};

/* The ring entry whose request this thread is serving. */
static __thread struct ring_ent *cur_ent;

/*
 * Wakes a queue thread from io_uring_enter at stop. Not a real-time
 * signal: those queue up, one per kill, against RLIMIT_SIGPENDING.
 */
static int stop_signal(void)
{
	return SIGURG;
}

static void wake_handler(int sig)
{
}

/* The kernel's num_possible_cpus(): the number of queues it expects. */
static unsigned int possible_cpus(void)
{
	char line[256], *p = line;
	unsigned int n = 0;
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	while (*p >= '0' && *p <= '9') {
		char *end;
		unsigned long a = strtoul(p, &end, 10), b = a;

		if (*end == '-')
			b = strtoul(end + 1, &end, 10);
		if (b >= a)
			n += (unsigned int)(b - a + 1);
		p = *end == ',' ? end + 1 : end;
		if (*end != ',')
			break;
	}
	return n;
}

static void queue_release(struct uring_queue *q)
{
	if (q->buf)
		munmap(q->buf, q->buf_len);
	if (q->ring_made)
		io_uring_queue_exit(&q->ring); /* cancels what is still registered */
	q->buf = NULL;
	q->ring_made = false;
}

/* In the queue's thread: pin it, make its io_uring. 0 or -errno. */
static int queue_setup(struct uring_queue *q)
{
	struct io_uring_params p;
	cpu_set_t cpus;
	int err;

	CPU_ZERO(&cpus);
	CPU_SET(q->qid, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		shmfs_tlog_debug("io_uring queue %u: cannot pin to CPU %u: %s", q->qid, q->qid,
				 strerror(errno));
	/* Completions run only when this thread asks for them: no IPIs. */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	err = io_uring_queue_init_params(QUEUE_DEPTH, &q->ring, &p);
	if (err == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQE128;
		err = io_uring_queue_init_params(QUEUE_DEPTH, &q->ring, &p);
	}
	if (err)
		return err;
	q->ring_made = true;
	return 0;
}

/* Each entry: one page for the header, then the payload buffer. */
static int queue_buffers(struct uring_queue *q)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t per = page + qs.payload_len;
	char *b;

	q->buf_len = per * QUEUE_DEPTH;
	b = mmap(NULL, q->buf_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED)
		return -errno;
	q->buf = b;
	for (unsigned int i = 0; i < QUEUE_DEPTH; i++) {
		struct ring_ent *e = &q->ent[i];

		e->q = q;
		e->hdr = (struct fuse_uring_req_header *)(b + i * per);
		e->payload = b + i * per + page;
		e->iov[0] = (struct iovec){ e->hdr, sizeof(*e->hdr) };
		e->iov[1] = (struct iovec){ e->payload, qs.payload_len };
	}
	return 0;
}

/* Queue one command on /dev/fuse for the next io_uring_enter. 0 or -EBUSY. */
static int prep_cmd(struct uring_queue *q, struct ring_ent *e, uint32_t op, uint16_t qid)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);
	struct fuse_uring_cmd_req req = { .commit_id = e->commit_id, .qid = qid };

	if (!sqe)
		return -EBUSY; /* one command per entry: cannot happen */
	memset(sqe, 0, SQE128_SIZE);
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, qs.devfd, e->iov, 2, 0);
	sqe->cmd_op = op; /* shares its place with off: after prep_rw */
	io_uring_sqe_set_data(sqe, e);
	/* Into the command area of the 128-byte SQE (cmd has no size of its own). */
	memcpy((char *)sqe + offsetof(struct io_uring_sqe, cmd), &req, sizeof(req));
	return 0;
}

static void commit(struct ring_ent *e, int error, uint32_t payload_sz)
{
	struct fuse_out_header out = {
		.len = (uint32_t)sizeof(out) + payload_sz,
		.error = error,
		.unique = e->unique,
	};

	memcpy(e->hdr->in_out, &out, sizeof(out));
	e->hdr->ring_ent_in_out.payload_sz = payload_sz;
	if (prep_cmd(e->q, e, FUSE_IO_URING_CMD_COMMIT_AND_FETCH, (uint16_t)e->q->qid))
		shmfs_tlog_err("io_uring queue %u: no room to commit a reply", e->q->qid);
}

bool shmfs_uring_queues_reply(const struct iovec *iov, int count, ssize_t *res)
{
	struct ring_ent *e = cur_ent;
	const struct fuse_out_header *out = iov[0].iov_base;
	size_t total = 0, skip = sizeof(*out);
	char *p;

	if (!e || iov[0].iov_len < sizeof(*out) || out->unique != e->unique)
		return false;
	cur_ent = NULL;
	for (int i = 0; i < count; i++)
		total += iov[i].iov_len;
	total -= sizeof(*out);
	*res = (ssize_t)(total + sizeof(*out));
	if (out->error || total == 0) {
		commit(e, out->error, 0);
		return true;
	}
	if (total > qs.payload_len) {
		shmfs_tlog_err("io_uring: a reply of %zu bytes does not fit the ring entry", total);
		commit(e, -EIO, 0);
		return true;
	}
	p = e->payload;
	for (int i = 0; i < count; i++) {
		size_t n = iov[i].iov_len - skip;

		memmove(p, (const char *)iov[i].iov_base + skip, n);
		p += n;
		skip = 0;
	}
	commit(e, 0, (uint32_t)total);
	return true;
}

/* Hand one request to libfuse, laid out as a read of /dev/fuse gives it. */
static void serve_one(struct uring_queue *q, struct ring_ent *e)
{
	struct fuse_in_header in;
	struct fuse_buf buf;
	uint32_t psz = e->hdr->ring_ent_in_out.payload_sz;
	size_t opsz;
	char *start;

	memcpy(&in, e->hdr->in_out, sizeof(in));
	if (qs.request)
		qs.request(&in);
	e->unique = in.unique;
	e->commit_id = e->hdr->ring_ent_in_out.commit_id;
	if (in.len < sizeof(in) + (size_t)psz ||
	    in.len - sizeof(in) - psz > FUSE_URING_OP_IN_OUT_SZ || psz > qs.payload_len) {
		shmfs_tlog_err("io_uring queue %u: malformed request (opcode %u, len %u, "
			       "payload %u)",
			       q->qid, in.opcode, in.len, psz);
		commit(e, -EIO, 0);
		return;
	}
	opsz = in.len - sizeof(in) - psz;
	start = e->payload - sizeof(in) - opsz;
	memcpy(start, &in, sizeof(in));
	memcpy(start + sizeof(in), e->hdr->op_in, opsz);
	memset(&buf, 0, sizeof(buf));
	buf.size = in.len;
	buf.mem = start;
	atomic_fetch_add_explicit(&qs.requests, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&q->requests, 1, memory_order_relaxed);
	cur_ent = e;
	fuse_session_process_buf(qs.se, &buf);
	if (cur_ent) {
		/* Every request that comes by the ring is answered by its thread. */
		cur_ent = NULL;
		shmfs_tlog_err("io_uring queue %u: opcode %u was not answered", q->qid, in.opcode);
		commit(e, -EIO, 0);
	}
}

static void queue_serve(struct uring_queue *q)
{
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned int head;
		bool gone = false;
		int err;

		if (atomic_load(&qs.stopping))
			return;
		/* Send the commits, wait for a request. */
		err = io_uring_submit_and_wait(&q->ring, 1);
		if (err < 0 && err != -EINTR && err != -EAGAIN && err != -EBUSY) {
			shmfs_tlog_errno(err, "io_uring queue %u", q->qid);
			return;
		}
		io_uring_for_each_cqe(&q->ring, head, cqe)
		{
			struct ring_ent *e = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&q->ring, cqe);
			if (res < 0) {
				/* The connection ended (or the ring is being closed). */
				if (res != -ENOTCONN && res != -ECONNABORTED && res != -ECANCELED)
					shmfs_tlog_errno(res, "io_uring queue %u", q->qid);
				gone = true;
				continue;
			}
			serve_one(q, e);
		}
		if (gone)
			return;
	}
}

/* Register the entries; an error completion comes at once. 0 or -errno. */
static int queue_register(struct uring_queue *q)
{
	struct io_uring_cqe *cqe;
	int err = queue_buffers(q), submitted;

	if (err) {
		/*
		 * The kernel waits for every queue before it uses the ring,
		 * and gives io_uring up on a failed registration: make one.
		 */
		static struct ring_ent poison;

		prep_cmd(q, &poison, FUSE_IO_URING_CMD_REGISTER, UINT16_MAX);
	} else {
		for (unsigned int i = 0; i < QUEUE_DEPTH && !err; i++)
			err = prep_cmd(q, &q->ent[i], FUSE_IO_URING_CMD_REGISTER, (uint16_t)q->qid);
	}
	submitted = io_uring_submit(&q->ring);
	if (submitted < 0 && !err)
		err = submitted;
	if (io_uring_peek_cqe(&q->ring, &cqe) == 0) {
		if (cqe->res < 0 && !err)
			err = cqe->res;
		io_uring_cqe_seen(&q->ring, cqe);
	}
	return err;
}

static void *queue_main(void *arg)
{
	struct uring_queue *q = arg;
	sigset_t wake;
	enum phase phase;
	int err;

	/* libfuse's workers block every signal; the stop signal must come through. */
	sigemptyset(&wake);
	sigaddset(&wake, stop_signal());
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	err = queue_setup(q);
	pthread_mutex_lock(&qs.lock);
	q->err = err;
	q->state = err ? Q_FAILED : Q_READY;
	pthread_cond_broadcast(&qs.cond);
	while (qs.phase == PHASE_SETUP)
		pthread_cond_wait(&qs.cond, &qs.lock);
	phase = qs.phase;
	pthread_mutex_unlock(&qs.lock);
	if (!err && phase == PHASE_GO) {
		err = queue_register(q);
		pthread_mutex_lock(&qs.lock);
		q->err = err;
		q->state = err ? Q_FAILED : Q_REGISTERED;
		pthread_cond_broadcast(&qs.cond);
		pthread_mutex_unlock(&qs.lock);
		if (!err)
			queue_serve(q);
	}
	queue_release(q);
	atomic_store(&q->exited, true);
	return NULL;
}

static void join_queues(void)
{
	bool leaked = false;

	for (unsigned int i = 0; i < qs.nr_queues; i++) {
		struct uring_queue *q = &qs.queues[i];

		if (!q->thread_started)
			continue;
		/* A thread waiting in io_uring_enter needs a signal to look up. */
		for (int ms = 0; !atomic_load(&q->exited) && ms < 5000; ms++) {
			pthread_kill(q->thread, stop_signal());
			usleep(1000);
		}
		if (atomic_load(&q->exited)) {
			pthread_join(q->thread, NULL);
		} else {
			/* Stuck in a request: leave it to the exit of the process. */
			shmfs_tlog_err("io_uring queue %u: its thread does not stop", q->qid);
			pthread_detach(q->thread);
			leaked = true;
		}
		q->thread_started = false;
	}
	qs.serving = false;
	if (leaked)
		return; /* a detached thread still uses its queue */
	free(qs.queues);
	qs.queues = NULL;
	qs.nr_queues = 0;
}

static void start_threads(unsigned int n, int *err)
{
	for (unsigned int i = 0; i < n && !*err; i++) {
		struct uring_queue *q = &qs.queues[i];

		q->qid = i;
		*err = -pthread_create(&q->thread, NULL, queue_main, q);
		if (*err) {
			q->state = Q_FAILED;
			q->err = *err;
		} else {
			q->thread_started = true;
		}
	}
}

int shmfs_uring_queues_setup(struct fuse_session *se, void (*request)(struct fuse_in_header *))
{
	unsigned int n = possible_cpus();
	struct sigaction sa;
	int err = 0;

	if (n == 0 || n > UINT16_MAX)
		return -ENOSYS;
	qs.se = se;
	qs.request = request;
	qs.devfd = fuse_session_fd(se);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake_handler; /* no SA_RESTART: io_uring_enter returns */
	sigemptyset(&sa.sa_mask);
	sigaction(stop_signal(), &sa, NULL);
	qs.queues = calloc(n, sizeof(*qs.queues));
	if (!qs.queues)
		return -ENOMEM;
	qs.nr_queues = n;
	qs.phase = PHASE_SETUP;
	start_threads(n, &err);
	pthread_mutex_lock(&qs.lock);
	for (unsigned int i = 0; i < n; i++) {
		struct uring_queue *q = &qs.queues[i];

		while (q->thread_started && q->state == Q_SETUP)
			pthread_cond_wait(&qs.cond, &qs.lock);
		if (!err && q->state == Q_FAILED)
			err = q->err;
	}
	if (err) {
		qs.phase = PHASE_ABORT;
		pthread_cond_broadcast(&qs.cond);
	}
	pthread_mutex_unlock(&qs.lock);
	if (err)
		join_queues();
	return err;
}

int shmfs_uring_queues_register(size_t payload_len)
{
	int err = 0;

	qs.payload_len = payload_len;
	pthread_mutex_lock(&qs.lock);
	qs.phase = PHASE_GO;
	pthread_cond_broadcast(&qs.cond);
	for (unsigned int i = 0; i < qs.nr_queues; i++) {
		struct uring_queue *q = &qs.queues[i];

		while (q->state == Q_READY)
			pthread_cond_wait(&qs.cond, &qs.lock);
		if (!err && q->state == Q_FAILED)
			err = q->err;
	}
	pthread_mutex_unlock(&qs.lock);
	qs.serving = !err;
	return err;
}

void shmfs_uring_queues_stop(void)
{
	if (!qs.queues)
		return;
	atomic_store(&qs.stopping, true);
	pthread_mutex_lock(&qs.lock);
	if (qs.phase == PHASE_SETUP)
		qs.phase = PHASE_ABORT;
	pthread_cond_broadcast(&qs.cond);
	pthread_mutex_unlock(&qs.lock);
	join_queues();
}

unsigned int shmfs_uring_queues_count(void)
{
	return qs.serving ? qs.nr_queues : 0;
}

uint64_t shmfs_uring_queues_requests(void)
{
	return atomic_load_explicit(&qs.requests, memory_order_relaxed);
}

void shmfs_uring_queues_each(char *buf, size_t len)
{
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	for (unsigned int i = 0; qs.serving && i < qs.nr_queues && n < len; i++) {
		int k = snprintf(
			buf + n, len - n, "%s%" PRIuFAST64, i ? "," : "",
			atomic_load_explicit(&qs.queues[i].requests, memory_order_relaxed));

		if (k < 0)
			break;
		n += (size_t)k;
	}
}
