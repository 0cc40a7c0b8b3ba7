/* SPDX-License-Identifier: MIT */
/* The monotonic clock in nanoseconds, for the library's timeouts. */
#ifndef SHMFS_LIB_CLOCK_H
#define SHMFS_LIB_CLOCK_H

#include <time.h>

static inline long long shmfs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif
