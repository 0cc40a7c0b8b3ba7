/* SPDX-License-Identifier: MIT */
/*
 * Logging for the daemon and the command line: one sink over fuse_log, so
 * libfuse's own messages and ours go the same way (stderr in the
 * foreground, syslog once the daemon is in the background).
 */
#ifndef SHMFS_LOG_H
#define SHMFS_LOG_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <fuse_log.h>

void shmfs_log_init(bool to_syslog, bool debug);
bool shmfs_log_debug_enabled(void);
void shmfs_log(enum fuse_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define shmfs_err(fmt, ...) shmfs_log(FUSE_LOG_ERR, fmt "\n", ##__VA_ARGS__)
#define shmfs_warn(fmt, ...) shmfs_log(FUSE_LOG_WARNING, fmt "\n", ##__VA_ARGS__)
#define shmfs_info(fmt, ...) shmfs_log(FUSE_LOG_INFO, fmt "\n", ##__VA_ARGS__)
#define shmfs_debug(fmt, ...)                                               \
	do {                                                                \
		if (shmfs_log_debug_enabled())                              \
			shmfs_log(FUSE_LOG_DEBUG, fmt "\n", ##__VA_ARGS__); \
	} while (0)
/* The same, with the text of a (positive or negative) errno appended. */
#define shmfs_err_errno(err, fmt, ...) \
	shmfs_log(FUSE_LOG_ERR, fmt ": %s\n", ##__VA_ARGS__, strerror((err) < 0 ? -(err) : (err)))
#define shmfs_warn_errno(err, fmt, ...)                          \
	shmfs_log(FUSE_LOG_WARNING, fmt ": %s\n", ##__VA_ARGS__, \
		  strerror((err) < 0 ? -(err) : (err)))

#endif
