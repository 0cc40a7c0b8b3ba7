/* SPDX-License-Identifier: MIT */
/*
 * How requests and replies travel between the kernel and the handlers:
 * the one header of src/fuse/transport that the rest of the daemon uses.
 *
 * Behind it: reads and writes of /dev/fuse through libfuse's custom I/O
 * (devio.c), FUSE over io_uring (uring*.c), busy polling of /dev/fuse
 * (busypoll.c), and passthrough, which registers backing files with the
 * kernel and names them in open replies (passthrough*.c). The handlers
 * never learn which of them serves a request; they call the hooks below,
 * which do what the transports in use need.
 *
 * The order of events:
 *   check()      before mounting: what can be refused before anything is
 *                mounted (passthrough=on without CAP_SYS_ADMIN, uring=on
 *                on a kernel that cannot);
 *   attach()     after fuse_session_mount(), before the loop;
 *   negotiate()  from the init() handler, given the connection;
 *   ready()      at the end of init(): logs the data path and transport,
 *                and reports the mount ready (with io_uring, once its
 *                queues are registered, after the INIT reply);
 *   stop()       after the loop and the unmount.
 * One session per daemon: attach() returns the same object every time.
 */
#ifndef SHMFS_TRANSPORT_H
#define SHMFS_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <fuse_lowlevel.h>

/* -o passthrough=: how reads, writes and mmap reach the store's pages. */
enum shmfs_passthrough_mode {
	SHMFS_PASSTHROUGH_AUTO,
	SHMFS_PASSTHROUGH_ON,
	SHMFS_PASSTHROUGH_OFF,
};

/* -o uring=: FUSE over io_uring, or reads of /dev/fuse. */
enum shmfs_uring_mode {
	SHMFS_URING_AUTO,
	SHMFS_URING_ON,
	SHMFS_URING_OFF,
};

/* The largest -o busy_poll=, microseconds. */
#define SHMFS_BUSY_POLL_MAX_US 1000

/* What a line the transport writes for the user may hold. */
#define SHMFS_TRANSPORT_WHY_MAX 200

struct shmfs_transport_config {
	enum shmfs_passthrough_mode passthrough;
	/* With passthrough off: why, when not by passthrough=off (for the log). */
	const char *passthrough_off_why;
	enum shmfs_uring_mode uring;
	unsigned int busy_poll_us; /* 0: off */
	const char *mountpoint;	   /* for the log */
	/* Tell whoever waits for the mount: "ok", or a line that fails it. */
	void (*report_ready)(void *arg, const char *msg);
	void *arg;
};

struct shmfs_transport;

/* Before mounting: 0, or -errno with a line for the user in why. */
int shmfs_transport_check(const struct shmfs_transport_config *cfg, char *why, size_t len);
/*
 * After fuse_session_mount(se): take what the transports need of se (cfg
 * must stay valid until stop). NULL, with a line for the user in why,
 * when the configuration cannot be had.
 */
struct shmfs_transport *shmfs_transport_attach(struct fuse_session *se,
					       const struct shmfs_transport_config *cfg, char *why,
					       size_t len);
/*
 * From init(): settle with the kernel what this connection uses. false,
 * with a line in why, when an option that says "on" cannot be had.
 */
bool shmfs_transport_negotiate(struct shmfs_transport *t, struct fuse_conn_info *conn, char *why,
			       size_t len);
/* At the end of init(): log what was settled, report ready (see above). */
void shmfs_transport_ready(struct shmfs_transport *t);
/* After the loop and the unmount: let the transports' threads go. */
void shmfs_transport_stop(struct shmfs_transport *t);

/* Does this connection pass reads, writes and mmap through (since negotiate)? */
bool shmfs_transport_passthrough(const struct shmfs_transport *t);
/*
 * For the status ioctl: the transports' "key=value\n" lines into buf, as
 * snprintf (the length they need).
 */
int shmfs_transport_status(const struct shmfs_transport *t, char *buf, size_t len);

/*
 * Passthrough: register fd (the backing file, open read-write) with the
 * kernel: an id > 0, or -errno. Give it back with backing_close().
 */
int shmfs_transport_backing_open(struct shmfs_transport *t, int fd);
void shmfs_transport_backing_close(struct shmfs_transport *t, int id);
/*
 * The open reply this thread sends next (fuse_reply_open or
 * fuse_reply_create with fi) passes through to backing_id.
 */
void shmfs_transport_open_reply(struct shmfs_transport *t, struct fuse_file_info *fi,
				int backing_id);

/*
 * This thread's request is about to wait (for a lock another request
 * holds): hand on whatever other requests need from this thread.
 */
void shmfs_transport_yield(void);

/* The handler of an O_TMPFILE open (FUSE_TMPFILE). */
typedef void shmfs_tmpfile_handler(fuse_req_t req, fuse_ino_t parent, mode_t mode,
				   struct fuse_file_info *fi);
/*
 * Put fn into ops where this libfuse has the tmpfile operation; with an
 * older one, tmpfile_compat.c hands FUSE_TMPFILE to ops' create instead.
 */
void shmfs_transport_ops_tmpfile(struct fuse_lowlevel_ops *ops, shmfs_tmpfile_handler *fn);

#endif
