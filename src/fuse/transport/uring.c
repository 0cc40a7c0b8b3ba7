// SPDX-License-Identifier: MIT
/*
 * FUSE over io_uring with raw io_uring system calls. See uring.h.
 *
 * The protocol, from the kernel's include/uapi/linux/fuse.h (7.42) and
 * fs/fuse/dev_uring.c:
 *
 *  - The INIT reply carries FUSE_OVER_IO_URING (flags2 bit 9) when the
 *    INIT request offered it (the fuse module's enable_uring is Y).
 *  - Each ring entry is two buffers, registered with an IORING_OP_URING_CMD
 *    on the /dev/fuse descriptor (cmd_op FUSE_IO_URING_CMD_REGISTER, addr
 *    an iovec[2], len 2, struct fuse_uring_cmd_req with its qid in the
 *    SQE's command area, so the ring needs IORING_SETUP_SQE128): a struct
 *    fuse_uring_req_header and a payload buffer of at least
 *    max(8 KiB, max_write, max_pages * page size).
 *  - The kernel queues a request on the queue of the CPU that made it
 *    (qid = CPU number, one queue per possible CPU) and switches to the
 *    ring only once every queue has an entry waiting.
 *  - A request completes the entry's command (res 0): the fuse_in_header
 *    is in in_out, the first argument (the opcode's fixed header, of any
 *    size up to 128) in op_in, the rest in the payload buffer, its size in
 *    ring_ent_in_out.payload_sz. in_header.len is the length of the whole
 *    request as a read of /dev/fuse would return it, so the op_in size is
 *    len - sizeof(in_header) - payload_sz.
 *  - The reply goes back with FUSE_IO_URING_CMD_COMMIT_AND_FETCH: the
 *    fuse_out_header in in_out, all reply arguments in the payload buffer,
 *    their size in payload_sz, and the request's commit_id (its unique) in
 *    the command; the same command waits for the next request.
 *  - When the connection ends, waiting entries complete with -ENOTCONN;
 *    when the daemon dies or closes its ring, io_uring cancels them.
 *  - FORGET, INTERRUPT and notifications still use /dev/fuse.
 *
 * Raw system calls rather than liburing: one opcode on one ring per thread
 * is a few dozen lines, and it keeps the build free of an optional
 * dependency (Debian 12's liburing 2.3 has no helper for URING_CMD either).
 */
#include "uring.h"
#include "fs.h"
#include "fuse_abi.h"
#include "log.h"
#include "tmpfile_compat.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* include/uapi/linux/fuse.h (7.42), newer than the system's copy. */
#define URING_IN_OUT_SZ 128
#define URING_OP_IN_SZ 128
#define URING_CMD_REGISTER 1
#define URING_CMD_COMMIT_AND_FETCH 2
#define URING_MIN_PAYLOAD 8192		/* FUSE_MIN_READ_BUFFER */
#define URING_DEFAULT_MAX_PAGES 32	/* FUSE_DEFAULT_MAX_PAGES_PER_REQ */

struct uring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id;
	uint32_t payload_sz;
	uint32_t padding;
	uint64_t reserved;
};

struct uring_req_header {
	char in_out[URING_IN_OUT_SZ];
	char op_in[URING_OP_IN_SZ];
	struct uring_ent_in_out ent;
};

struct uring_cmd_req {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

_Static_assert(sizeof(struct uring_req_header) == 288, "fuse_uring_req_header layout");
_Static_assert(sizeof(struct uring_cmd_req) == 24, "fuse_uring_cmd_req layout");

#define SQE128_SIZE 128
#define SQE_CMD_OFFSET 48	/* the 80-byte command area of an SQE128 */
/*
 * Entries per queue. A queue's thread serves one request at a time; a
 * request that comes while it is busy waits in the kernel and is handed
 * over by the commit of the current one, in the same system call.
 */
#define QUEUE_DEPTH 1

enum queue_state { Q_SETUP, Q_READY, Q_FAILED, Q_REGISTERED };
enum phase { PHASE_SETUP, PHASE_GO, PHASE_ABORT };

struct uring_queue;

struct ring_ent {
	struct uring_queue *q;
	struct uring_req_header *hdr;
	char *payload;		/* a page after hdr: room for the headers before it */
	uint64_t unique;	/* of the request being served */
	uint64_t commit_id;
	struct iovec iov[2];
};

struct uring_queue {
	unsigned int qid;
	pthread_t thread;
	bool thread_started;
	atomic_bool exited;
	atomic_uint_fast64_t requests;
	enum queue_state state;	/* under ur.lock */
	int err;
	int ringfd;
	unsigned int *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned int sq_local_tail;
	char *sqes;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
	void *ring_map, *sqe_map, *buf;
	size_t ring_map_len, sqe_map_len, buf_len;
	struct ring_ent ent[QUEUE_DEPTH];
};

static struct {
	struct shmfs_fs *fs;
	enum shmfs_uring_mode mode;
	bool offered;
	bool wanted;
	bool active;
	const char *why;
	char why_buf[160];
	int devfd;
	unsigned int nr_queues;
	struct uring_queue *queues;
	size_t payload_len;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum phase phase;
	atomic_bool stopping;
	atomic_uint_fast64_t requests;
} ur = {
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

static int sys_io_uring_setup(unsigned int entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_io_uring_enter(int fd, unsigned int submit, unsigned int wait, unsigned int flags)
{
	return (int)syscall(__NR_io_uring_enter, fd, submit, wait, flags, NULL, 0);
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
	if (q->sqe_map)
		munmap(q->sqe_map, q->sqe_map_len);
	if (q->ring_map)
		munmap(q->ring_map, q->ring_map_len);
	if (q->ringfd >= 0)
		close(q->ringfd);	/* cancels what is still registered */
	q->buf = q->sqe_map = q->ring_map = NULL;
	q->ringfd = -1;
}

/* In the queue's thread: pin it, make its io_uring. 0 or -errno. */
static int queue_setup(struct uring_queue *q)
{
	struct io_uring_params p;
	cpu_set_t cpus;
	char *r;
	int fd;

	CPU_ZERO(&cpus);
	CPU_SET(q->qid, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		shmfs_debug("io_uring queue %u: cannot pin to CPU %u: %s", q->qid, q->qid,
			    strerror(errno));
	/* Completions run only when this thread asks for them: no IPIs. */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	fd = sys_io_uring_setup(QUEUE_DEPTH, &p);
	if (fd < 0 && errno == EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQE128;
		fd = sys_io_uring_setup(QUEUE_DEPTH, &p);
	}
	if (fd < 0)
		return -errno;
	q->ringfd = fd;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP))
		return -ENOSYS;
	q->ring_map_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	if (q->ring_map_len < p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe))
		q->ring_map_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	r = mmap(NULL, q->ring_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		 IORING_OFF_SQ_RING);
	if (r == MAP_FAILED)
		return -errno;
	q->ring_map = r;
	q->sqe_map_len = (size_t)p.sq_entries * SQE128_SIZE;
	q->sqe_map = mmap(NULL, q->sqe_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			  fd, IORING_OFF_SQES);
	if (q->sqe_map == MAP_FAILED) {
		q->sqe_map = NULL;
		return -errno;
	}
	q->sqes = q->sqe_map;
	q->sq_head = (unsigned int *)(r + p.sq_off.head);
	q->sq_tail = (unsigned int *)(r + p.sq_off.tail);
	q->sq_mask = (unsigned int *)(r + p.sq_off.ring_mask);
	q->sq_array = (unsigned int *)(r + p.sq_off.array);
	q->cq_head = (unsigned int *)(r + p.cq_off.head);
	q->cq_tail = (unsigned int *)(r + p.cq_off.tail);
	q->cq_mask = (unsigned int *)(r + p.cq_off.ring_mask);
	q->cqes = (struct io_uring_cqe *)(r + p.cq_off.cqes);
	q->sq_local_tail = *q->sq_tail;
	return 0;
}

/* Each entry: one page for the header, then the payload buffer. */
static int queue_buffers(struct uring_queue *q)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t per = page + ur.payload_len;
	char *b;

	q->buf_len = per * QUEUE_DEPTH;
	b = mmap(NULL, q->buf_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED)
		return -errno;
	q->buf = b;
	for (unsigned int i = 0; i < QUEUE_DEPTH; i++) {
		struct ring_ent *e = &q->ent[i];

		e->q = q;
		e->hdr = (struct uring_req_header *)(b + i * per);
		e->payload = b + i * per + page;
		e->iov[0] = (struct iovec){ e->hdr, sizeof(*e->hdr) };
		e->iov[1] = (struct iovec){ e->payload, ur.payload_len };
	}
	return 0;
}

/* Queue one command for the next io_uring_enter. */
static void prep_cmd(struct uring_queue *q, struct ring_ent *e, uint32_t op, uint16_t qid)
{
	unsigned int idx = q->sq_local_tail & *q->sq_mask;
	struct io_uring_sqe *sqe = (struct io_uring_sqe *)(q->sqes + (size_t)idx * SQE128_SIZE);
	struct uring_cmd_req *req = (struct uring_cmd_req *)((char *)sqe + SQE_CMD_OFFSET);

	memset(sqe, 0, SQE128_SIZE);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = ur.devfd;
	sqe->cmd_op = op;
	sqe->addr = (uintptr_t)e->iov;
	sqe->len = 2;
	sqe->user_data = (uintptr_t)e;
	req->commit_id = e->commit_id;
	req->qid = qid;
	q->sq_array[idx] = idx;
	q->sq_local_tail++;
	__atomic_store_n(q->sq_tail, q->sq_local_tail, __ATOMIC_RELEASE);
}

static unsigned int sq_pending(struct uring_queue *q)
{
	return q->sq_local_tail - __atomic_load_n(q->sq_head, __ATOMIC_ACQUIRE);
}

static void commit(struct ring_ent *e, int error, uint32_t payload_sz)
{
	struct shmfs_fuse_out_header *out = (struct shmfs_fuse_out_header *)e->hdr->in_out;

	out->len = (uint32_t)sizeof(*out) + payload_sz;
	out->error = error;
	out->unique = e->unique;
	e->hdr->ent.payload_sz = payload_sz;
	prep_cmd(e->q, e, URING_CMD_COMMIT_AND_FETCH, (uint16_t)e->q->qid);
}

bool shmfs_uring_reply(const struct iovec *iov, int count, ssize_t *res)
{
	struct ring_ent *e = cur_ent;
	const struct shmfs_fuse_out_header *out = iov[0].iov_base;
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
	if (total > ur.payload_len) {
		shmfs_err("io_uring: a reply of %zu bytes does not fit the ring entry", total);
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
	struct shmfs_fuse_in_header in;
	struct fuse_buf buf;
	uint32_t psz = e->hdr->ent.payload_sz;
	size_t opsz;
	char *start;

	memcpy(&in, e->hdr->in_out, sizeof(in));
	shmfs_tmpfile_compat_request(&in);
	e->unique = in.unique;
	e->commit_id = e->hdr->ent.commit_id;
	if (in.len < sizeof(in) + (size_t)psz || in.len - sizeof(in) - psz > URING_OP_IN_SZ ||
	    psz > ur.payload_len) {
		shmfs_err("io_uring queue %u: malformed request (opcode %u, len %u, payload %u)",
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
	atomic_fetch_add_explicit(&ur.requests, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&q->requests, 1, memory_order_relaxed);
	cur_ent = e;
	fuse_session_process_buf(ur.fs->se, &buf);
	if (cur_ent) {
		/* Every request that comes by the ring is answered by its thread. */
		cur_ent = NULL;
		shmfs_err("io_uring queue %u: opcode %u was not answered", q->qid, in.opcode);
		commit(e, -EIO, 0);
	}
}

static void queue_serve(struct uring_queue *q)
{
	for (;;) {
		unsigned int head, tail;
		bool gone = false;

		if (atomic_load(&ur.stopping))
			return;
		if (sys_io_uring_enter(q->ringfd, sq_pending(q), 1, IORING_ENTER_GETEVENTS) < 0 &&
		    errno != EINTR && errno != EAGAIN && errno != EBUSY) {
			shmfs_err_errno(errno, "io_uring queue %u", q->qid);
			return;
		}
		head = *q->cq_head;
		tail = __atomic_load_n(q->cq_tail, __ATOMIC_ACQUIRE);
		for (; head != tail; head++) {
			struct io_uring_cqe *cqe = &q->cqes[head & *q->cq_mask];
			struct ring_ent *e = (struct ring_ent *)(uintptr_t)cqe->user_data;
			int res = cqe->res;

			__atomic_store_n(q->cq_head, head + 1, __ATOMIC_RELEASE);
			if (res < 0) {
				/* The connection ended (or the ring is being closed). */
				if (res != -ENOTCONN && res != -ECONNABORTED && res != -ECANCELED)
					shmfs_err_errno(res, "io_uring queue %u", q->qid);
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
	int err = queue_buffers(q);
	unsigned int head, tail;

	if (err) {
		/*
		 * The kernel waits for every queue before it uses the ring,
		 * and gives io_uring up on a failed registration: make one.
		 */
		static struct ring_ent poison;

		prep_cmd(q, &poison, URING_CMD_REGISTER, UINT16_MAX);
	} else {
		for (unsigned int i = 0; i < QUEUE_DEPTH; i++)
			prep_cmd(q, &q->ent[i], URING_CMD_REGISTER, (uint16_t)q->qid);
	}
	if (sys_io_uring_enter(q->ringfd, sq_pending(q), 0, 0) < 0)
		return -errno;
	head = *q->cq_head;
	tail = __atomic_load_n(q->cq_tail, __ATOMIC_ACQUIRE);
	if (head != tail && q->cqes[head & *q->cq_mask].res < 0) {
		err = err ? err : q->cqes[head & *q->cq_mask].res;
		__atomic_store_n(q->cq_head, head + 1, __ATOMIC_RELEASE);
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
	pthread_mutex_lock(&ur.lock);
	q->err = err;
	q->state = err ? Q_FAILED : Q_READY;
	pthread_cond_broadcast(&ur.cond);
	while (ur.phase == PHASE_SETUP)
		pthread_cond_wait(&ur.cond, &ur.lock);
	phase = ur.phase;
	pthread_mutex_unlock(&ur.lock);
	if (!err && phase == PHASE_GO) {
		err = queue_register(q);
		pthread_mutex_lock(&ur.lock);
		q->err = err;
		q->state = err ? Q_FAILED : Q_REGISTERED;
		pthread_cond_broadcast(&ur.cond);
		pthread_mutex_unlock(&ur.lock);
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

	for (unsigned int i = 0; i < ur.nr_queues; i++) {
		struct uring_queue *q = &ur.queues[i];

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
			shmfs_err("io_uring queue %u: its thread does not stop", q->qid);
			pthread_detach(q->thread);
			leaked = true;
		}
		q->thread_started = false;
	}
	ur.active = false;
	if (leaked)
		return;	/* a detached thread still uses its queue */
	free(ur.queues);
	ur.queues = NULL;
	ur.nr_queues = 0;
}

static const char *set_why(const char *what, int err)
{
	snprintf(ur.why_buf, sizeof(ur.why_buf), "%s: %s", what, strerror(err < 0 ? -err : err));
	return ur.why = ur.why_buf;
}

/* One thread and ring per possible CPU, or none: 0 or -errno. */
static int start_queues(void)
{
	unsigned int n = possible_cpus();
	int err = 0;

	if (n == 0 || n > UINT16_MAX)
		return -ENOSYS;
	ur.queues = calloc(n, sizeof(*ur.queues));
	if (!ur.queues)
		return -ENOMEM;
	ur.nr_queues = n;
	ur.phase = PHASE_SETUP;
	for (unsigned int i = 0; i < n && !err; i++) {
		struct uring_queue *q = &ur.queues[i];

		q->qid = i;
		q->ringfd = -1;
		err = -pthread_create(&q->thread, NULL, queue_main, q);
		if (err) {
			q->state = Q_FAILED;
			q->err = err;
		} else {
			q->thread_started = true;
		}
	}
	pthread_mutex_lock(&ur.lock);
	for (unsigned int i = 0; i < n; i++) {
		struct uring_queue *q = &ur.queues[i];

		while (q->thread_started && q->state == Q_SETUP)
			pthread_cond_wait(&ur.cond, &ur.lock);
		if (!err && q->state == Q_FAILED)
			err = q->err;
	}
	if (err) {
		ur.phase = PHASE_ABORT;
		pthread_cond_broadcast(&ur.cond);
	}
	pthread_mutex_unlock(&ur.lock);
	if (err)
		join_queues();
	return err;
}

void shmfs_uring_attach(struct shmfs_fs *fs, enum shmfs_uring_mode mode)
{
	struct sigaction sa;

	ur.fs = fs;
	ur.mode = mode;
	ur.devfd = fuse_session_fd(fs->se);
	ur.why = "disabled by uring=off";
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake_handler;	/* no SA_RESTART: io_uring_enter returns */
	sigemptyset(&sa.sa_mask);
	sigaction(stop_signal(), &sa, NULL);
}

void shmfs_uring_note_offer(bool offered)
{
	ur.offered = offered;
}

int shmfs_uring_precheck(const char **why)
{
	FILE *f;
	int c;

	/* Until the module is loaded its parameters are unknown: let INIT tell. */
	if (access("/sys/module/fuse", F_OK))
		return 0;
	f = fopen("/sys/module/fuse/parameters/enable_uring", "re");
	if (!f) {
		*why = "this kernel has no FUSE over io_uring (Linux 6.14 or later, "
		       "built with CONFIG_FUSE_IO_URING)";
		return -ENOSYS;
	}
	c = fgetc(f);
	fclose(f);
	if (c != 'Y' && c != 'y' && c != '1') {
		*why = "the kernel's FUSE over io_uring is disabled (as root: "
		       "echo Y > /sys/module/fuse/parameters/enable_uring)";
		return -EPERM;
	}
	f = fopen("/proc/sys/kernel/io_uring_disabled", "re");
	if (f) {
		c = fgetc(f);
		fclose(f);
		if (c == '2') {
			*why = "io_uring is disabled (sysctl kernel.io_uring_disabled=2)";
			return -EPERM;
		}
	}
	return 0;
}

bool shmfs_uring_negotiate(const char **why)
{
	int err;

	ur.wanted = false;
	if (ur.mode == SHMFS_URING_OFF) {
		ur.why = "disabled by uring=off";
	} else if (!ur.offered) {
		ur.why = "the kernel does not offer FUSE over io_uring";
		shmfs_uring_precheck(&ur.why);
	} else if (ur.mode == SHMFS_URING_AUTO && !ur.fs->pt.active) {
		/*
		 * Measured: in the cached path (every read and write a request)
		 * the ring was slower than /dev/fuse; uring=on still uses it.
		 */
		ur.why = "the cached data path is faster over /dev/fuse; uring=on to force";
	} else {
		err = start_queues();
		if (err)
			set_why("cannot set up io_uring", err);
		else
			ur.wanted = true;
	}
	*why = ur.why;
	return ur.wanted || ur.mode != SHMFS_URING_ON;
}

bool shmfs_uring_wanted(void)
{
	return ur.wanted;
}

void shmfs_uring_start(uint32_t max_write, uint16_t max_pages)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = URING_MIN_PAYLOAD;
	size_t pages = max_pages > URING_DEFAULT_MAX_PAGES ? max_pages : URING_DEFAULT_MAX_PAGES;
	int err = 0;

	if (max_write > len)
		len = max_write;
	if (pages * page > len)
		len = pages * page;
	ur.payload_len = (len + page - 1) / page * page;
	pthread_mutex_lock(&ur.lock);
	ur.phase = PHASE_GO;
	pthread_cond_broadcast(&ur.cond);
	for (unsigned int i = 0; i < ur.nr_queues; i++) {
		struct uring_queue *q = &ur.queues[i];

		while (q->state == Q_READY)
			pthread_cond_wait(&ur.cond, &ur.lock);
		if (!err && q->state == Q_FAILED)
			err = q->err;
	}
	pthread_mutex_unlock(&ur.lock);
	if (!err) {
		ur.active = true;
		shmfs_info("'%s' requests: io_uring, %u queues (one per CPU)",
			   ur.fs->mountpoint, ur.nr_queues);
		shmfs_fs_report_ready(ur.fs, "ok");
		return;
	}
	/* A failed registration made the kernel drop io_uring: /dev/fuse serves. */
	set_why("registering the io_uring queues failed", err);
	if (ur.mode == SHMFS_URING_ON) {
		char msg[200];

		snprintf(msg, sizeof(msg), "uring=on, but %s", ur.why);
		shmfs_fs_report_ready(ur.fs, msg);
		fuse_session_exit(ur.fs->se);
		return;
	}
	shmfs_warn("'%s': %s", ur.fs->mountpoint, ur.why);
	shmfs_info("'%s' requests: /dev/fuse (%s)", ur.fs->mountpoint, ur.why);
	shmfs_fs_report_ready(ur.fs, "ok");
}

void shmfs_uring_stop(void)
{
	if (!ur.queues)
		return;
	atomic_store(&ur.stopping, true);
	pthread_mutex_lock(&ur.lock);
	if (ur.phase == PHASE_SETUP)
		ur.phase = PHASE_ABORT;
	pthread_cond_broadcast(&ur.cond);
	pthread_mutex_unlock(&ur.lock);
	join_queues();
}

bool shmfs_uring_active(void)
{
	return ur.active;
}

unsigned int shmfs_uring_queues(void)
{
	return ur.active ? ur.nr_queues : 0;
}

uint64_t shmfs_uring_requests(void)
{
	return atomic_load_explicit(&ur.requests, memory_order_relaxed);
}

size_t shmfs_uring_queue_requests(char *buf, size_t len)
{
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	for (unsigned int i = 0; ur.active && i < ur.nr_queues && n < len; i++) {
		int k = snprintf(buf + n, len - n, "%s%" PRIuFAST64, i ? "," : "",
				 atomic_load_explicit(&ur.queues[i].requests, memory_order_relaxed));

		if (k < 0)
			break;
		n += (size_t)k;
	}
	return n < len ? n : len;
}
