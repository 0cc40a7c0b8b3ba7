// SPDX-License-Identifier: MIT
/*
 * The transport interface (transport.h) over its modules: passthrough
 * (passthrough.c and the shim the build chose), FUSE over io_uring
 * (uring.c), busy polling (busypoll.c), O_TMPFILE for an older libfuse
 * (tmpfile_compat.h), and the custom I/O on /dev/fuse (devio.c) that
 * carries the hooks of the others. This file is the only
 * one that knows them all; none of them knows another.
 */
#include "transport.h"
#include "busypoll.h"
#include "devio.h"
#include "passthrough.h"
#include "passthrough_shim.h"
#include "tmpfile_compat.h"
#include "transport_log.h"
#include "uring.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct shmfs_transport {
	const struct shmfs_transport_config *cfg;
	struct fuse_session *se;
	struct shmfs_passthrough pt;
	const char *uring_why; /* why requests do not come by io_uring */
};

/* One session per daemon. */
static struct shmfs_transport transport;

static ssize_t hook_read(int fd, void *buf, size_t len)
{
	return shmfs_busypoll_enabled() ? shmfs_busypoll_read(fd, buf, len) : read(fd, buf, len);
}

static void hook_init_request(const struct fuse_init_in *in)
{
	shmfs_passthrough_shim_init_request(in);
	shmfs_uring_init_request(in);
}

static void hook_init_reply(struct fuse_init_out *out)
{
	shmfs_passthrough_shim_init_reply(out);
	shmfs_uring_init_reply(out);
}

static const struct shmfs_devio_hooks devio_hooks = {
	.read = hook_read,
	.request = shmfs_tmpfile_compat_request,
	.init_request = hook_init_request,
	.init_reply = hook_init_reply,
	.init_applied = shmfs_uring_start,
	.reply = shmfs_passthrough_shim_reply,
	.divert = shmfs_uring_reply,
};

int shmfs_transport_check(const struct shmfs_transport_config *cfg, char *why, size_t len)
{
	const char *what;
	int err;

	err = shmfs_passthrough_check(cfg->passthrough, &what);
	if (err) {
		snprintf(why, len, "passthrough=on, but %s", what);
		return err;
	}
	if (cfg->uring == SHMFS_URING_ON) {
		err = shmfs_uring_precheck(&what);
		if (err) {
			snprintf(why, len, "uring=on, but %s", what);
			return err;
		}
	}
	return 0;
}

/* Must libfuse's reads and writes of /dev/fuse come through devio.c? */
static bool needs_devio(const struct shmfs_transport_config *cfg)
{
	if (cfg->uring != SHMFS_URING_OFF || cfg->busy_poll_us || shmfs_tmpfile_compat_wanted())
		return true;
	return transport.pt.possible && shmfs_passthrough_shim_needs_devio();
}

struct shmfs_transport *shmfs_transport_attach(struct fuse_session *se,
					       const struct shmfs_transport_config *cfg, char *why,
					       size_t len)
{
	struct shmfs_transport *t = &transport;
	int err;

	t->cfg = cfg;
	t->se = se;
	err = shmfs_passthrough_attach(&t->pt, fuse_session_fd(se), cfg->passthrough,
				       cfg->passthrough_off_why);
	if (err) {
		snprintf(why, len, "passthrough=on, but %s", t->pt.why_not);
		return NULL;
	}
	shmfs_uring_attach(se, cfg, shmfs_tmpfile_compat_request);
	shmfs_busypoll_enable(cfg->busy_poll_us);
	if (needs_devio(cfg)) {
		err = shmfs_devio_attach(se, &devio_hooks);
		if (err) {
			snprintf(why, len, "cannot take over /dev/fuse I/O: %s", strerror(-err));
			return NULL;
		}
	}
	return t;
}

bool shmfs_transport_negotiate(struct shmfs_transport *t, struct fuse_conn_info *conn, char *why,
			       size_t len)
{
	if (!shmfs_passthrough_negotiate(&t->pt, conn)) {
		snprintf(why, len, "passthrough=on, but %s", t->pt.why_not);
		return false;
	}
	if (!shmfs_uring_negotiate(t->pt.active, &t->uring_why)) {
		snprintf(why, len, "uring=on, but %s", t->uring_why);
		return false;
	}
	return true;
}

void shmfs_transport_ready(struct shmfs_transport *t)
{
	const char *mp = t->cfg->mountpoint;

	if (t->pt.active)
		shmfs_tlog_info("'%s' ready, data path: passthrough", mp);
	else
		shmfs_tlog_info("'%s' ready, data path: cached (%s)", mp, t->pt.why_not);
	/* With io_uring, ready once its queues are registered (after the INIT reply). */
	if (shmfs_uring_wanted())
		return;
	shmfs_tlog_info("'%s' requests: /dev/fuse (%s)", mp, t->uring_why);
	t->cfg->report_ready(t->cfg->arg, "ok");
}

void shmfs_transport_stop(struct shmfs_transport *t)
{
	shmfs_uring_stop();
}

bool shmfs_transport_passthrough(const struct shmfs_transport *t)
{
	return t->pt.active;
}

int shmfs_transport_status(const struct shmfs_transport *t, char *buf, size_t len)
{
	int n = shmfs_uring_status(buf, len), m;

	if (n < 0)
		return n;
	m = snprintf(buf + ((size_t)n < len ? (size_t)n : len),
		     (size_t)n < len ? len - (size_t)n : 0, "busy_poll_us=%u\n",
		     shmfs_busypoll_us());
	return m < 0 ? m : n + m;
}

int shmfs_transport_backing_open(struct shmfs_transport *t, int fd)
{
	return shmfs_passthrough_backing_open(&t->pt, fd);
}

void shmfs_transport_backing_close(struct shmfs_transport *t, int id)
{
	shmfs_passthrough_backing_close(&t->pt, id);
}

void shmfs_transport_open_reply(struct shmfs_transport *t, struct fuse_file_info *fi,
				int backing_id)
{
	shmfs_passthrough_prepare_reply(&t->pt, fi, backing_id);
}

void shmfs_transport_yield(void)
{
	shmfs_busypoll_yield();
}
