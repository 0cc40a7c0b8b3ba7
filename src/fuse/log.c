// SPDX-License-Identifier: MIT
/*
 * The log sink. Messages are one line each, prefixed with "shmfs: " on
 * stderr; syslog adds its own tag. Debug lines appear only under -d.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

static bool log_syslog;
static bool log_debug;
static bool log_midline; /* libfuse writes some lines in pieces */

static int syslog_priority(enum fuse_log_level level)
{
	/* fuse_log_level uses syslog's numbering. */
	return (int)level;
}

static void log_sink(enum fuse_log_level level, const char *fmt, va_list ap)
{
	if (level == FUSE_LOG_DEBUG && !log_debug)
		return;
	if (log_syslog) {
		vsyslog(syslog_priority(level), fmt, ap);
		return;
	}
	if (!log_midline)
		fputs("shmfs: ", stderr);
	vfprintf(stderr, fmt, ap);
	log_midline = fmt[0] && fmt[strlen(fmt) - 1] != '\n';
}

void shmfs_log_init(bool to_syslog, bool debug)
{
	log_syslog = to_syslog;
	log_debug = debug;
	if (to_syslog)
		openlog("shmfs", LOG_PID, LOG_DAEMON);
	fuse_set_log_func(log_sink);
}

bool shmfs_log_debug_enabled(void)
{
	return log_debug;
}

void shmfs_log(enum fuse_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_sink(level, fmt, ap);
	va_end(ap);
}
