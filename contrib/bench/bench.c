// SPDX-License-Identifier: MIT
/*
 * shmfs-bench: command line, timing, output and the data pattern shared
 * by the workloads.
 *
 * Output: one line per figure, "METRIC VALUE UNIT NOTE...", so a driver
 * (run-bench) can take the first three fields. Sizes are in bytes with
 * an optional k/m/g suffix (powers of 1024); MB/s means 10^6 bytes per
 * second. Workloads that loop run for --duration seconds, checking the
 * clock every few iterations, so one figure takes about that long
 * whatever the file system's speed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static const struct shmfs_bench_workload workloads[] = {
	{ "seq", "sequential write, overwrite, read (page cache dropped), re-read", shmfs_bench_seq,
	  0 },
	{ "small", "64-byte pwrite, then 64-byte pread, on one open descriptor", shmfs_bench_small,
	  0 },
	{ "mmap", "MAP_SHARED stores to every byte, then a second process checks", shmfs_bench_mmap,
	  0 },
	{ "msg", "26-byte cycle: open/write/close, open/read/close", shmfs_bench_msg, 0 },
	{ "create", "create, size (4 KiB), close and unlink one segment", shmfs_bench_create, 0 },
	{ "wake", "no file system: a pipe round trip between two processes, then on one CPU",
	  shmfs_bench_wake, 0 },
	{ "rand", "random 8-byte loads over a mapping of --rand-size (only when named)",
	  shmfs_bench_rand, 1 },
};

#define NR_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

double shmfs_bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Whether a looping workload goes on after DONE iterations in ELAPSED s. */
int shmfs_bench_more(const struct shmfs_bench *b, uint64_t done, double elapsed)
{
	return b->count ? done < b->count : elapsed < b->duration;
}

/* Where a batch of iterations between two looks at the clock ends. */
uint64_t shmfs_bench_batch_end(const struct shmfs_bench *b, uint64_t done)
{
	uint64_t end = done + SHMFS_BENCH_CLOCK_EVERY;

	return b->count && end > b->count ? b->count : end;
}

void shmfs_bench_report(const char *metric, double value, const char *unit, const char *fmt, ...)
{
	va_list ap;

	printf("%-14s %14.1f %-6s ", metric, value, unit);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void bench_vwarn(const char *metric, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "shmfs-bench: %s: ", metric);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* A failed system call: print it (the caller passes the errno text). */
int shmfs_bench_fail(const char *metric, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bench_vwarn(metric, fmt, ap);
	va_end(ap);
	return SHMFS_BENCH_EXIT_ERROR;
}

/* Wrong bytes read back. */
int shmfs_bench_mismatch(const char *metric, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bench_vwarn(metric, fmt, ap);
	va_end(ap);
	return SHMFS_BENCH_EXIT_DATA;
}

void shmfs_bench_pattern_fill(void *buf, size_t len, uint64_t off, uint64_t seed)
{
	uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = shmfs_bench_word(off + i * 8, seed);
}

/* Returns 0, or -1 with the offset of the first wrong word in *bad_off. */
int shmfs_bench_pattern_check(const void *buf, size_t len, uint64_t off, uint64_t seed,
			      uint64_t *bad_off)
{
	const uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++) {
		if (w[i] != shmfs_bench_word(off + i * 8, seed)) {
			*bad_off = off + i * 8;
			return -1;
		}
	}
	return 0;
}

static int bench_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	}
	if (*end || v == 0 || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static void bench_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: shmfs-bench [OPTIONS] DIR\n"
		   "Run file and shared-memory workloads in DIR and print one line per\n"
		   "figure: METRIC VALUE UNIT NOTE. Every byte read back is checked.\n"
		   "\n"
		   "  -w, --workload LIST   comma-separated workloads (default, and all: every\n"
		   "                        one but rand, which takes --rand-size of memory)\n"
		   "  -t, --duration SECS   seconds per looping measurement (default 1)\n"
		   "  -n, --count N         run N iterations of each loop instead\n"
		   "      --seq-size SIZE   bytes written and read by seq (default 1g)\n"
		   "      --block SIZE      bytes per seq write/read (default 1m)\n"
		   "      --mmap-size SIZE  bytes of the mapped segment (default 256m)\n"
		   "      --rand-size SIZE  bytes of the segment rand loads from (default 4g,\n"
		   "                        a multiple of 2m)\n"
		   "      --small-file SIZE file size for 64-byte pwrite/pread (default 64k)\n"
		   "      --quick           short run: seq 64m, mmap 32m, rand 64m, duration 0.1\n"
		   "      --inject-fault    corrupt one byte before each check, to prove\n"
		   "                        that checks fail (exit status 3)\n"
		   "  -l, --list            list the workloads\n"
		   "  -h, --help            this text\n"
		   "\nWorkloads:\n");
	for (i = 0; i < NR_WORKLOADS; i++)
		fprintf(f, "  %-8s %s\n", workloads[i].name, workloads[i].help);
	fprintf(f, "\nExit status: 0 ok, 1 system error, 2 usage, 3 wrong data.\n");
}

enum {
	OPT_SEQ_SIZE = 256,
	OPT_BLOCK,
	OPT_MMAP_SIZE,
	OPT_RAND_SIZE,
	OPT_SMALL_FILE,
	OPT_QUICK,
	OPT_INJECT,
};

static const struct option bench_options[] = {
	{ "workload", required_argument, NULL, 'w' },
	{ "duration", required_argument, NULL, 't' },
	{ "count", required_argument, NULL, 'n' },
	{ "seq-size", required_argument, NULL, OPT_SEQ_SIZE },
	{ "block", required_argument, NULL, OPT_BLOCK },
	{ "mmap-size", required_argument, NULL, OPT_MMAP_SIZE },
	{ "rand-size", required_argument, NULL, OPT_RAND_SIZE },
	{ "small-file", required_argument, NULL, OPT_SMALL_FILE },
	{ "quick", no_argument, NULL, OPT_QUICK },
	{ "inject-fault", no_argument, NULL, OPT_INJECT },
	{ "list", no_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Mark the workloads named in a comma-separated LIST in sel[]. */
static int bench_select(const char *list, int *sel)
{
	char *copy = strdup(list), *save = NULL, *name;
	size_t i;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < NR_WORKLOADS; i++) {
			if ((!strcmp(name, "all") && !workloads[i].by_name) ||
			    !strcmp(name, workloads[i].name))
				sel[i] = 1;
		}
		if (strcmp(name, "all")) {
			for (i = 0; i < NR_WORKLOADS; i++)
				if (!strcmp(name, workloads[i].name))
					break;
			if (i == NR_WORKLOADS) {
				fprintf(stderr, "shmfs-bench: unknown workload '%s'\n", name);
				ret = -EINVAL;
			}
		}
	}
	free(copy);
	return ret;
}

/* The value of a size option, which must fit in a size_t. */
static int bench_size_opt(const char *opt, const char *arg, uint64_t *out)
{
	if (bench_parse_size(arg, out) < 0 || *out > SIZE_MAX / 2) {
		fprintf(stderr, "shmfs-bench: bad size for --%s: '%s'\n", opt, arg);
		return -EINVAL;
	}
	return 0;
}

static int bench_parse_args(struct shmfs_bench *b, int *sel, int argc, char **argv)
{
	uint64_t v;
	char *end;
	int c, any = 0;

	while ((c = getopt_long(argc, argv, "w:t:n:lh", bench_options, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (bench_select(optarg, sel) < 0)
				return SHMFS_BENCH_EXIT_USAGE;
			any = 1;
			break;
		case 't':
			b->duration = strtod(optarg, &end);
			if (*end || end == optarg || !(b->duration > 0 && b->duration < 3600)) {
				fprintf(stderr, "shmfs-bench: bad duration '%s'\n", optarg);
				return SHMFS_BENCH_EXIT_USAGE;
			}
			break;
		case 'n':
			errno = 0;
			b->count = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || !b->count || optarg[0] == '-') {
				fprintf(stderr, "shmfs-bench: bad count '%s'\n", optarg);
				return SHMFS_BENCH_EXIT_USAGE;
			}
			break;
		case OPT_SEQ_SIZE:
			if (bench_size_opt("seq-size", optarg, &b->seq_size) < 0)
				return SHMFS_BENCH_EXIT_USAGE;
			break;
		case OPT_BLOCK:
			if (bench_size_opt("block", optarg, &v) < 0)
				return SHMFS_BENCH_EXIT_USAGE;
			b->seq_block = v;
			break;
		case OPT_MMAP_SIZE:
			if (bench_size_opt("mmap-size", optarg, &b->mmap_size) < 0)
				return SHMFS_BENCH_EXIT_USAGE;
			break;
		case OPT_RAND_SIZE:
			if (bench_size_opt("rand-size", optarg, &b->rand_size) < 0)
				return SHMFS_BENCH_EXIT_USAGE;
			break;
		case OPT_SMALL_FILE:
			if (bench_size_opt("small-file", optarg, &v) < 0)
				return SHMFS_BENCH_EXIT_USAGE;
			b->small_file = v;
			break;
		case OPT_QUICK:
			b->seq_size = 64 << 20;
			b->mmap_size = 32 << 20;
			b->rand_size = 64 << 20;
			b->duration = 0.1;
			break;
		case OPT_INJECT: b->inject_fault = 1; break;
		case 'l':
			for (c = 0; c < (int)NR_WORKLOADS; c++)
				printf("%s\n", workloads[c].name);
			exit(0);
		case 'h': bench_usage(stdout); exit(0);
		default: bench_usage(stderr); return SHMFS_BENCH_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		bench_usage(stderr);
		return SHMFS_BENCH_EXIT_USAGE;
	}
	if (b->seq_block % 8 || b->seq_size % b->seq_block || b->mmap_size % 8 ||
	    b->small_file < 64 || b->small_file % 64 || b->rand_size % (2 << 20)) {
		fprintf(stderr,
			"shmfs-bench: --seq-size must be a multiple of --block, "
			"--block and --mmap-size of 8, --small-file of 64, --rand-size of 2m\n");
		return SHMFS_BENCH_EXIT_USAGE;
	}
	if (!any)
		for (c = 0; c < (int)NR_WORKLOADS; c++)
			sel[c] = !workloads[c].by_name;
	b->dir = argv[optind];
	return 0;
}

int main(int argc, char **argv)
{
	struct shmfs_bench b = {
		.seq_size = 1ULL << 30,
		.seq_block = 1 << 20,
		.mmap_size = 256ULL << 20,
		.rand_size = 4ULL << 30,
		.small_file = 64 << 10,
		.duration = 1.0,
	};
	int sel[NR_WORKLOADS] = { 0 };
	size_t i;
	int ret;

	ret = bench_parse_args(&b, sel, argc, argv);
	if (ret)
		return ret;
	b.dirfd = open(b.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b.dirfd < 0) {
		fprintf(stderr, "shmfs-bench: cannot open directory '%s': %s\n", b.dir,
			strerror(errno));
		return SHMFS_BENCH_EXIT_ERROR;
	}
	for (i = 0; i < NR_WORKLOADS; i++) {
		if (!sel[i])
			continue;
		ret = workloads[i].run(&b);
		if (ret)
			break;
	}
	close(b.dirfd);
	return ret;
}
