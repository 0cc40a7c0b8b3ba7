// SPDX-License-Identifier: MIT
/*
 * FUSE over io_uring: whether to use it, and its start and end. See
 * uring.h; the queues themselves are uring_queue.c.
 *
 * libfuse >= 3.18 does this job too; see uring.h for when this can go.
 *
 * The protocol, from Documentation/filesystems/fuse-io-uring.rst and
 * fs/fuse/dev_uring.c (the layouts are in fuse_abi.h):
 *
 *  - The INIT reply carries FUSE_OVER_IO_URING when the INIT request
 *    offered it (the fuse module's enable_uring is Y).
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
 *    their size in payload_sz, and the request's commit_id in the command;
 *    the same command waits for the next request.
 *  - When the connection ends, waiting entries complete with -ENOTCONN;
 *    when the daemon dies or closes its ring, io_uring cancels them.
 *  - FORGET, INTERRUPT and notifications still use /dev/fuse.
 */
#include "uring.h"
#include "transport_log.h"
#include "uring_queue.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct {
	struct fuse_session *se;
	const struct shmfs_transport_config *cfg;
	void (*request)(struct fuse_in_header *in);
	enum shmfs_uring_mode mode;
	bool offered;
	bool wanted;
	const char *why;
	char why_buf[160];
} ur;

void shmfs_uring_attach(struct fuse_session *se, const struct shmfs_transport_config *cfg,
			void (*request)(struct fuse_in_header *in))
{
	ur.se = se;
	ur.request = request;
	ur.cfg = cfg;
	ur.mode = cfg->uring;
	ur.why = "disabled by uring=off";
}

void shmfs_uring_init_request(const struct fuse_init_in *in)
{
	ur.offered = shmfs_fuse_init_in_flags(in) & FUSE_OVER_IO_URING;
}

/* One character of a /proc or /sys file, or EOF. */
static int first_char(const char *path)
{
	FILE *f = fopen(path, "re");
	int c;

	if (!f)
		return EOF;
	c = fgetc(f);
	fclose(f);
	return c;
}

int shmfs_uring_precheck(const char **why)
{
	int c;

	/* Until the module is loaded its parameters are unknown: let INIT tell. */
	if (access("/sys/module/fuse", F_OK))
		return 0;
	c = first_char("/sys/module/fuse/parameters/enable_uring");
	if (c == EOF) {
		*why = "this kernel has no FUSE over io_uring (Linux 6.14 or later, "
		       "built with CONFIG_FUSE_IO_URING)";
		return -ENOSYS;
	}
	if (c != 'Y' && c != 'y' && c != '1') {
		*why = "the kernel's FUSE over io_uring is disabled (as root: "
		       "echo Y > /sys/module/fuse/parameters/enable_uring)";
		return -EPERM;
	}
	if (first_char("/proc/sys/kernel/io_uring_disabled") == '2') {
		*why = "io_uring is disabled (sysctl kernel.io_uring_disabled=2)";
		return -EPERM;
	}
	return 0;
}

static const char *set_why(const char *what, int err)
{
	snprintf(ur.why_buf, sizeof(ur.why_buf), "%s: %s", what, strerror(err < 0 ? -err : err));
	return ur.why = ur.why_buf;
}

bool shmfs_uring_negotiate(bool passthrough, const char **why)
{
	int err;

	ur.wanted = false;
	if (ur.mode == SHMFS_URING_OFF) {
		ur.why = "disabled by uring=off";
	} else if (!ur.offered) {
		ur.why = "the kernel does not offer FUSE over io_uring";
		shmfs_uring_precheck(&ur.why);
	} else if (ur.mode == SHMFS_URING_AUTO && !passthrough) {
		/*
		 * Measured: in the cached path (every read and write a request)
		 * the ring was slower than /dev/fuse; uring=on still uses it.
		 */
		ur.why = "the cached data path is faster over /dev/fuse; uring=on to force";
	} else {
		err = shmfs_uring_queues_setup(ur.se, ur.request);
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

void shmfs_uring_init_reply(struct fuse_init_out *out)
{
	if (ur.wanted)
		shmfs_fuse_init_out_want(out, FUSE_OVER_IO_URING);
}

/* The payload buffer a request or reply may fill, from the INIT reply. */
static size_t payload_len(const struct fuse_init_out *out)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = FUSE_MIN_READ_BUFFER;
	size_t pages = SHMFS_FUSE_DEFAULT_MAX_PAGES;

	if (out && out->max_pages > pages)
		pages = out->max_pages;
	if (out && out->max_write > len)
		len = out->max_write;
	if (pages * page > len)
		len = pages * page;
	return (len + page - 1) / page * page;
}

void shmfs_uring_start(const struct fuse_init_out *out)
{
	const char *mp = ur.cfg->mountpoint;
	int err;

	if (!ur.wanted)
		return;
	err = shmfs_uring_queues_register(payload_len(out));
	if (!err) {
		shmfs_tlog_info("'%s' requests: io_uring, %u queues (one per CPU)", mp,
				shmfs_uring_queues_count());
		ur.cfg->report_ready(ur.cfg->arg, "ok");
		return;
	}
	/* A failed registration made the kernel drop io_uring: /dev/fuse serves. */
	set_why("registering the io_uring queues failed", err);
	if (ur.mode == SHMFS_URING_ON) {
		char msg[SHMFS_TRANSPORT_WHY_MAX];

		snprintf(msg, sizeof(msg), "uring=on, but %s", ur.why);
		ur.cfg->report_ready(ur.cfg->arg, msg);
		fuse_session_exit(ur.se);
		return;
	}
	shmfs_tlog_warn("'%s': %s", mp, ur.why);
	shmfs_tlog_info("'%s' requests: /dev/fuse (%s)", mp, ur.why);
	ur.cfg->report_ready(ur.cfg->arg, "ok");
}

bool shmfs_uring_reply(const struct iovec *iov, int count, ssize_t *res)
{
	return shmfs_uring_queues_reply(iov, count, res);
}

void shmfs_uring_stop(void)
{
	shmfs_uring_queues_stop();
}

int shmfs_uring_status(char *buf, size_t len)
{
	unsigned int queues = shmfs_uring_queues_count();
	char each[256];

	shmfs_uring_queues_each(each, sizeof(each));
	return snprintf(buf, len,
			"uring=%s\nuring_queues=%u\nuring_requests=%" PRIu64
			"\nuring_queue_requests=%s\n",
			queues ? "on" : "off", queues, shmfs_uring_queues_requests(), each);
}
