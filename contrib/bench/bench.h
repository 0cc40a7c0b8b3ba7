/* SPDX-License-Identifier: MIT */
/*
 * shmfs-bench: workloads that measure one directory (a shmfs mount, or a
 * tmpfs for reference). Each workload prints one line per figure and
 * checks every byte it reads back; wrong data is a failure, never a
 * figure. bench.c owns the command line, timing and output; bench_io.c
 * the read/write/open workloads; bench_mmap.c the mapping workload;
 * bench_rand.c random loads over a large mapping.
 */
#ifndef SHMFS_BENCH_H
#define SHMFS_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Exit statuses. */
#define SHMFS_BENCH_EXIT_ERROR 1 /* a system call failed */
#define SHMFS_BENCH_EXIT_USAGE 2 /* bad command line */
#define SHMFS_BENCH_EXIT_DATA 3	 /* wrong bytes read back */

#define SHMFS_BENCH_CLOCK_EVERY 64 /* loop iterations between clock reads */

struct shmfs_bench {
	const char *dir; /* directory the workloads run in */
	int dirfd;
	uint64_t seq_size;  /* bytes written and read by "seq" */
	size_t seq_block;   /* bytes per write() / read() */
	uint64_t mmap_size; /* bytes of the mapped segment */
	uint64_t rand_size; /* bytes of the segment that "rand" loads from */
	size_t small_file;  /* file size for 64-byte pwrite/pread */
	double duration;    /* seconds per time-bounded measurement */
	uint64_t count;	    /* if not 0: iterations instead of duration */
	int inject_fault;   /* corrupt one byte before each check */
};

/* A workload: runs, prints its figures, returns 0 or an exit status. */
struct shmfs_bench_workload {
	const char *name;
	const char *help;
	int (*run)(struct shmfs_bench *b);
	int by_name; /* left out of "all" and the default: run only when named */
};

double shmfs_bench_now(void);
int shmfs_bench_more(const struct shmfs_bench *b, uint64_t done, double elapsed);
uint64_t shmfs_bench_batch_end(const struct shmfs_bench *b, uint64_t done);
void shmfs_bench_report(const char *metric, double value, const char *unit, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int shmfs_bench_fail(const char *metric, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int shmfs_bench_mismatch(const char *metric, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Every aligned 64-bit word holds its file offset mixed with a seed, so a
 * byte that is stale, misplaced or from another run is caught.
 */
static inline uint64_t shmfs_bench_word(uint64_t off, uint64_t seed)
{
	return (off ^ seed) * 0x9e3779b97f4a7c15ULL;
}

/* Fill / check a buffer whose every 64-bit word encodes its file offset. */
void shmfs_bench_pattern_fill(void *buf, size_t len, uint64_t off, uint64_t seed);
int shmfs_bench_pattern_check(const void *buf, size_t len, uint64_t off, uint64_t seed,
			      uint64_t *bad_off);

int shmfs_bench_seq(struct shmfs_bench *b);
int shmfs_bench_small(struct shmfs_bench *b);
int shmfs_bench_msg(struct shmfs_bench *b);
int shmfs_bench_create(struct shmfs_bench *b);
int shmfs_bench_mmap(struct shmfs_bench *b);
int shmfs_bench_rand(struct shmfs_bench *b);
int shmfs_bench_wake(struct shmfs_bench *b);

#endif
