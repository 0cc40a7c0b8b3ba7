// SPDX-License-Identifier: MIT
/*
 * The mapping workload: one process sizes a segment, maps it MAP_SHARED
 * and stores to every byte (timed: ftruncate, mmap, page faults and
 * stores); then, while that mapping is still in place and without any
 * msync, a second process opens the segment by name, maps it read-only
 * and checks every word (timed in the child: open, mmap, faults, loads).
 * A wrong word makes the child, and so the benchmark, fail. No msync is
 * timed: in shmfs cached mode the second process's close() already
 * writes the dirty pages back to the daemon (outside its timing).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MMAP_FILE "shmfs-bench-mmap"

/* In the child: map the segment by name and check it; never returns. */
static void mmap_child(struct shmfs_bench *b, uint64_t seed, int pipefd)
{
	const char *m = "mmap-read";
	uint64_t bad;
	double t0, t;
	void *p;
	int fd;

	t0 = shmfs_bench_now();
	fd = openat(b->dirfd, MMAP_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		_exit(shmfs_bench_fail(m, "open '%s': %s", MMAP_FILE, strerror(errno)));
	p = mmap(NULL, b->mmap_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		_exit(shmfs_bench_fail(m, "mmap: %s", strerror(errno)));
	if (shmfs_bench_pattern_check(p, b->mmap_size, 0, seed, &bad))
		_exit(shmfs_bench_mismatch(m,
					   "second process saw wrong data at "
					   "offset %" PRIu64,
					   bad));
	t = shmfs_bench_now() - t0;
	munmap(p, b->mmap_size);
	close(fd);
	if (write(pipefd, &t, sizeof(t)) != sizeof(t))
		_exit(shmfs_bench_fail(m, "pipe: %s", strerror(errno)));
	_exit(0);
}

/* Run the checking child; returns 0 or an exit status. */
static int mmap_check(struct shmfs_bench *b, uint64_t seed)
{
	const char *m = "mmap-read";
	int pfd[2], status;
	double t = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return shmfs_bench_fail(m, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return shmfs_bench_fail(m, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(pfd[0]);
		mmap_child(b, seed, pfd[1]);
	}
	close(pfd[1]);
	n = read(pfd[0], &t, sizeof(t));
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return shmfs_bench_fail(m, "waitpid: %s", strerror(errno));
	if (!WIFEXITED(status))
		return shmfs_bench_fail(m, "checking process killed by signal %d",
					WTERMSIG(status));
	if (WEXITSTATUS(status))
		return WEXITSTATUS(status);
	if (n != sizeof(t))
		return shmfs_bench_fail(m, "no figure from the checking process");
	shmfs_bench_report(m, b->mmap_size / t / 1e6, "MB/s",
			   "second process: open, map, every word checked: ok, %.3f s", t);
	return 0;
}

static int mmap_store(struct shmfs_bench *b, int fd, uint64_t seed, void **pp)
{
	const char *m = "mmap-store";
	double t0, t;
	void *p;

	t0 = shmfs_bench_now();
	if (ftruncate(fd, b->mmap_size) < 0)
		return shmfs_bench_fail(m, "ftruncate: %s", strerror(errno));
	p = mmap(NULL, b->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return shmfs_bench_fail(m, "mmap: %s", strerror(errno));
	shmfs_bench_pattern_fill(p, b->mmap_size, 0, seed);
	t = shmfs_bench_now() - t0;
	*pp = p;
	shmfs_bench_report(m, b->mmap_size / t / 1e6, "MB/s",
			   "%" PRIu64 " MiB: size, map, store every byte, %.3f s",
			   b->mmap_size >> 20, t);
	return 0;
}

int shmfs_bench_mmap(struct shmfs_bench *b)
{
	uint64_t seed = (uint64_t)(shmfs_bench_now() * 1e9);
	void *p = NULL;
	int fd, ret;

	unlinkat(b->dirfd, MMAP_FILE, 0);
	fd = openat(b->dirfd, MMAP_FILE, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return shmfs_bench_fail("mmap", "create '%s': %s", MMAP_FILE, strerror(errno));
	ret = mmap_store(b, fd, seed, &p);
	if (ret)
		goto out_close;
	if (b->inject_fault)
		((volatile unsigned char *)p)[b->mmap_size / 2 + 1] ^= 0x5a;
	ret = mmap_check(b, seed);
	munmap(p, b->mmap_size);
out_close:
	close(fd);
	unlinkat(b->dirfd, MMAP_FILE, 0);
	return ret;
}
