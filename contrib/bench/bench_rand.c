// SPDX-License-Identifier: MIT
/*
 * The random-load workload: a segment of --rand-size bytes (4 GiB by
 * default) is sized, mapped MAP_SHARED at a 2 MiB boundary and filled
 * with the pattern (not timed); then random 8-byte loads over the whole
 * mapping run for --duration seconds, each loaded word checked against
 * the pattern. A working set that large is far beyond what the TLB
 * covers, so most loads pay for a page-table walk, and the figure shows
 * what 2 MiB pages (tmpfs's huge=within_size; shmfs passes it to its
 * store, whose pages a passthrough mapping is) save over 4 KiB ones.
 *
 * It also reports how much of the mapping the kernel mapped with huge
 * pages (ShmemPmdMapped and FilePmdMapped of its Rss in /proc/self/smaps),
 * so that a figure never stands for pages it did not get.
 *
 * The loads are independent (the next address does not wait for the last
 * word), as a lookup table's are: the processor overlaps their misses.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#define RAND_FILE "shmfs-bench-rand"
#define RAND_HUGE (2UL << 20)
#define RAND_BATCH 4096 /* loads between two looks at the clock */

/* xorshift64*: the next index below n, from the state *x. */
static inline uint64_t rand_next(uint64_t *x, uint64_t n)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return (uint64_t)(((unsigned __int128)(*x * 0x2545f4914f6cdd1dULL) * n) >> 64);
}

/* Percent of the mapping at p that huge pages map, from /proc/self/smaps; -1 if unknown. */
static double rand_pmd_percent(const void *p)
{
	char line[512];
	unsigned long lo, hi;
	long kb, rss = 0, pmd = 0;
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = lo == (uintptr_t)p;
			continue;
		}
		if (!in)
			continue;
		if (sscanf(line, "Rss: %ld kB", &kb) == 1)
			rss = kb;
		else if (sscanf(line, "ShmemPmdMapped: %ld kB", &kb) == 1 ||
			 sscanf(line, "FilePmdMapped: %ld kB", &kb) == 1)
			pmd += kb;
	}
	fclose(f);
	return rss ? 100.0 * (double)pmd / (double)rss : -1;
}

/* The timed loads over the n words at w; 0 or an exit status. */
static int rand_loads(struct shmfs_bench *b, const volatile uint64_t *w, uint64_t n, uint64_t seed)
{
	uint64_t x = seed | 1, done = 0, bad = UINT64_MAX, i, idx;
	double t0 = shmfs_bench_now(), t;

	do {
		for (i = 0; i < RAND_BATCH; i++) {
			idx = rand_next(&x, n);
			if (w[idx] != shmfs_bench_word(idx * 8, seed))
				bad = idx;
		}
		done += RAND_BATCH;
		t = shmfs_bench_now() - t0;
	} while (bad == UINT64_MAX && shmfs_bench_more(b, done, t));
	if (bad != UINT64_MAX)
		return shmfs_bench_mismatch("rand8", "wrong data at offset %" PRIu64, bad * 8);
	shmfs_bench_report("rand8", (double)done / t, "loads/s",
			   "%" PRIu64 " random 8-byte loads over %" PRIu64 " MiB, all checked, "
			   "%.3f s",
			   done, b->rand_size >> 20, t);
	return 0;
}

int shmfs_bench_rand(struct shmfs_bench *b)
{
	uint64_t seed = (uint64_t)(shmfs_bench_now() * 1e9), n = b->rand_size / 8, x;
	size_t span = b->rand_size + RAND_HUGE;
	char *reserve, *at;
	uint64_t *w;
	int fd, ret;

	unlinkat(b->dirfd, RAND_FILE, 0);
	fd = openat(b->dirfd, RAND_FILE, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return shmfs_bench_fail("rand8", "create '%s': %s", RAND_FILE, strerror(errno));
	if (ftruncate(fd, (off_t)b->rand_size) < 0) {
		ret = shmfs_bench_fail("rand8", "ftruncate: %s", strerror(errno));
		goto out_close;
	}
	/* At a 2 MiB boundary, wherever mmap(2) would have put it. */
	reserve = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (reserve == MAP_FAILED) {
		ret = shmfs_bench_fail("rand8", "mmap: %s", strerror(errno));
		goto out_close;
	}
	at = (char *)(((uintptr_t)reserve + RAND_HUGE - 1) & ~(RAND_HUGE - 1));
	w = mmap(at, b->rand_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (w == MAP_FAILED) {
		ret = shmfs_bench_fail("rand8", "mmap: %s", strerror(errno));
		goto out_unmap;
	}
	shmfs_bench_pattern_fill(w, b->rand_size, 0, seed);
	if (b->inject_fault) {
		/* The word the first load reads. */
		x = seed | 1;
		w[rand_next(&x, n)] ^= 0x5a;
	}
	ret = rand_loads(b, w, n, seed);
	if (!ret) {
		double pct = rand_pmd_percent(w);

		shmfs_bench_report("rand-pmd", pct, "%", "%s",
				   pct < 0 ? "not known (smaps)" : "of the mapping in huge pages");
	}
out_unmap:
	munmap(reserve, span);
out_close:
	close(fd);
	unlinkat(b->dirfd, RAND_FILE, 0);
	return ret;
}
