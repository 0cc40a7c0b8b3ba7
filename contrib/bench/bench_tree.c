// SPDX-License-Identifier: MIT
/*
 * shmfs-bench-tree: many segments in one directory, made, checked and
 * removed by a few processes at once, for the scale benchmark (run-scale)
 * and the 100,000-segment test. Segment i is DIR/sNNNNNNN: empty when i
 * is even, 4 KiB when odd, every 64-bit word of it holding a function of
 * i and its offset, so a segment read back with the wrong bytes is caught.
 *
 *   shmfs-bench-tree [-j JOBS] [-r EVERY] make|check|remove DIR N
 *
 * make creates segments 0..N-1 (O_EXCL); check stats each one (type and
 * size) and reads back every EVERY-th 4 KiB one; remove unlinks them.
 * Prints "OP N segments S seconds RATE/s"; the first failure is named
 * with its errno text and makes the exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SEG_SIZE 4096
#define MAX_JOBS 64

static int dir_fd;
static unsigned long every;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill(uint64_t *w, unsigned long i)
{
	for (size_t k = 0; k < SEG_SIZE / 8; k++)
		w[k] = ((uint64_t)i << 20 | k) * 0x9e3779b97f4a7c15ULL;
}

static int fail(const char *what, const char *name)
{
	fprintf(stderr, "shmfs-bench-tree: %s '%s': %s\n", what, name, strerror(errno));
	return 1;
}

static int make_one(unsigned long i, const char *name)
{
	uint64_t w[SEG_SIZE / 8];
	int fd = openat(dir_fd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);

	if (fd < 0)
		return fail("cannot create", name);
	if (i % 2) {
		fill(w, i);
		if (write(fd, w, sizeof(w)) != (ssize_t)sizeof(w)) {
			close(fd);
			return fail("cannot write", name);
		}
	}
	if (close(fd))
		return fail("cannot close", name);
	return 0;
}

static int check_one(unsigned long i, const char *name)
{
	uint64_t w[SEG_SIZE / 8], want[SEG_SIZE / 8];
	off_t size = i % 2 ? SEG_SIZE : 0;
	struct stat sb;
	ssize_t n;
	int fd;

	if (fstatat(dir_fd, name, &sb, AT_SYMLINK_NOFOLLOW))
		return fail("cannot stat", name);
	if (!S_ISREG(sb.st_mode) || sb.st_size != size) {
		fprintf(stderr,
			"shmfs-bench-tree: '%s' has mode %o and size %lld, not a %lld-byte file\n",
			name, (unsigned int)sb.st_mode, (long long)sb.st_size, (long long)size);
		return 1;
	}
	if (!size || !every || (i / 2) % every)
		return 0;
	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("cannot open", name);
	n = read(fd, w, sizeof(w));
	close(fd);
	if (n != (ssize_t)sizeof(w))
		return fail("cannot read", name);
	fill(want, i);
	if (memcmp(w, want, sizeof(w))) {
		fprintf(stderr, "shmfs-bench-tree: '%s' reads back wrong bytes\n", name);
		return 1;
	}
	return 0;
}

static int remove_one(unsigned long i, const char *name)
{
	(void)i;
	return unlinkat(dir_fd, name, 0) ? fail("cannot remove", name) : 0;
}

/* Run op on segments job, job + jobs, job + 2 jobs... below n. */
static int run_share(int (*op)(unsigned long, const char *), unsigned long n, unsigned int job,
		     unsigned int jobs)
{
	char name[32];

	for (unsigned long i = job; i < n; i += jobs) {
		snprintf(name, sizeof(name), "s%07lu", i);
		if (op(i, name))
			return 1;
	}
	return 0;
}

static int run_jobs(int (*op)(unsigned long, const char *), unsigned long n, unsigned int jobs)
{
	pid_t pids[MAX_JOBS];
	int status, rc = 0;

	for (unsigned int j = 0; j < jobs; j++) {
		pids[j] = fork();
		if (pids[j] < 0)
			return fail("cannot fork for", "-j");
		if (pids[j] == 0)
			_exit(run_share(op, n, j, jobs));
	}
	for (unsigned int j = 0; j < jobs; j++)
		if (waitpid(pids[j], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			rc = 1;
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: shmfs-bench-tree [-j JOBS] [-r EVERY] make|check|remove DIR N\n");
	return 2;
}

int main(int argc, char **argv)
{
	int (*op)(unsigned long, const char *);
	unsigned long jobs = 1, n;
	double t0, t;
	char *end;
	int c, rc;

	while ((c = getopt(argc, argv, "j:r:")) != -1) {
		if (c == 'j')
			jobs = strtoul(optarg, &end, 10);
		else if (c == 'r')
			every = strtoul(optarg, &end, 10);
		else
			return usage();
		if (*end || end == optarg)
			return usage();
	}
	if (argc - optind != 3 || !jobs || jobs > MAX_JOBS)
		return usage();
	if (!strcmp(argv[optind], "make"))
		op = make_one;
	else if (!strcmp(argv[optind], "check"))
		op = check_one;
	else if (!strcmp(argv[optind], "remove"))
		op = remove_one;
	else
		return usage();
	n = strtoul(argv[optind + 2], &end, 10);
	if (*end || end == argv[optind + 2])
		return usage();
	dir_fd = open(argv[optind + 1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return fail("cannot open", argv[optind + 1]);
	t0 = now();
	rc = run_jobs(op, n, (unsigned int)jobs);
	t = now() - t0;
	if (!rc)
		printf("%s %lu segments %.2f seconds %.0f/s\n", argv[optind], n, t,
		       t > 0 ? n / t : 0.0);
	return rc;
}
