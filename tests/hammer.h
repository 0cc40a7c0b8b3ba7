/* SPDX-License-Identifier: MIT */
/*
 * What t_hammer's workers share besides their record formats: a checksum,
 * a per-process random stream, a clock, whole reads and writes that end
 * the process on a system error, and the two kinds of lock.
 */
#ifndef SHMFS_TESTS_HAMMER_H
#define SHMFS_TESTS_HAMMER_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t fnv1a(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= *c++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t rng_state;

static inline uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static inline void seed_rng(uint64_t id)
{
	rng_state = (id + 1) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid() << 20;
	if (!rng_state)
		rng_state = 1;
}

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "t_hammer: %s: %s\n", what, strerror(errno));
	exit(2);
}

static inline int open_file(const char *file, int flags)
{
	int fd = open(file, flags | O_CLOEXEC);

	if (fd < 0)
		die(file);
	return fd;
}

static inline void pwrite_full(int fd, const void *p, size_t n, off_t off)
{
	ssize_t w = pwrite(fd, p, n, off);

	if (w < 0)
		die("pwrite");
	if ((size_t)w != n) {
		fprintf(stderr, "t_hammer: short pwrite at %jd: %zd of %zu\n", (intmax_t)off, w, n);
		exit(2);
	}
}

static inline void pread_full(int fd, void *p, size_t n, off_t off)
{
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = pread(fd, (char *)p + done, n - done, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("pread");
		if (r == 0) {
			fprintf(stderr, "t_hammer: short pread at %jd: %zu of %zu\n", (intmax_t)off,
				done, n);
			exit(1);
		}
		done += (size_t)r;
	}
}

/* fcntl lock (F_RDLCK, F_WRLCK or F_UNLCK) on [off, off + len). */
static inline void range_lock(int fd, short type, off_t off, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = off, .l_len = len };

	while (fcntl(fd, F_SETLKW, &fl)) {
		if (errno != EINTR)
			die("fcntl(F_SETLKW)");
	}
}

static inline void file_lock(int fd, int op)
{
	while (flock(fd, op)) {
		if (errno != EINTR)
			die("flock");
	}
}

static inline void check_size(int fd, off_t need)
{
	struct stat sb;

	if (fstat(fd, &sb))
		die("fstat");
	if (sb.st_size < need) {
		fprintf(stderr, "t_hammer: the file holds %jd bytes, %jd needed\n",
			(intmax_t)sb.st_size, (intmax_t)need);
		exit(2);
	}
}

#endif
