/* SPDX-License-Identifier: MIT */
/*
 * Logging inside the transport layer, which sees no header of the layer
 * above: straight to libfuse's fuse_log(), whose sink the daemon sets
 * (src/fuse/log.c: stderr or syslog, debug lines only under -d), so these
 * lines go where every other line of the daemon goes.
 */
#ifndef SHMFS_TRANSPORT_LOG_H
#define SHMFS_TRANSPORT_LOG_H

/* The build defines this for src/fuse/transport alone: the rest include transport.h. */
#ifndef SHMFS_TRANSPORT_INTERNAL
#error "a header private to src/fuse/transport: include transport.h"
#endif

#include <string.h>
#include <fuse_log.h>

/* libfuse 3.14 declares it without this: have the formats checked. */
void fuse_log(enum fuse_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define shmfs_tlog(level, fmt, ...) fuse_log(level, fmt "\n", ##__VA_ARGS__)
#define shmfs_tlog_err(fmt, ...) shmfs_tlog(FUSE_LOG_ERR, fmt, ##__VA_ARGS__)
#define shmfs_tlog_warn(fmt, ...) shmfs_tlog(FUSE_LOG_WARNING, fmt, ##__VA_ARGS__)
#define shmfs_tlog_info(fmt, ...) shmfs_tlog(FUSE_LOG_INFO, fmt, ##__VA_ARGS__)
#define shmfs_tlog_debug(fmt, ...) shmfs_tlog(FUSE_LOG_DEBUG, fmt, ##__VA_ARGS__)
/* The same as an error, with the text of a (positive or negative) errno. */
#define shmfs_tlog_errno(err, fmt, ...) \
	fuse_log(FUSE_LOG_ERR, fmt ": %s\n", ##__VA_ARGS__, strerror((err) < 0 ? -(err) : (err)))

#endif
