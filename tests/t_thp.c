// SPDX-License-Identifier: MIT
/*
 * Whether a shared mapping of a segment gets transparent huge pages, for
 * tests/46-tmpfs-options.bats.
 *
 *   t_thp map PATH LEN     create PATH (LEN bytes, a multiple of 2 MiB),
 *                          map it MAP_SHARED at a 2 MiB boundary, store a
 *                          pattern into every 8-byte word, check it through
 *                          the mapping, and print the lines of
 *                          /proc/self/smaps for that mapping (its range,
 *                          Rss, AnonHugePages, ShmemPmdMapped,
 *                          FilePmdMapped), then "pmd_kb N": how much of it
 *                          is mapped by huge pages
 *   t_thp check PATH LEN   read PATH with read(2) and check the pattern
 *
 * A huge page maps 2 MiB of the file at a 2 MiB boundary of memory only:
 * so that the test does not depend on where mmap(2) places the mapping of
 * a FUSE file, the program reserves a larger range and maps the file over
 * its aligned part. Exit status 0, 1 on a wrong word, 2 if it could not run.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_SIZE (2UL << 20)

static void die(const char *what)
{
	fprintf(stderr, "t_thp: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t word(uint64_t i)
{
	return (i + 1) * 0x9e3779b97f4a7c15ULL;
}

/* The smaps block of the mapping at addr, as "Key: N kB" lines; its PMD-mapped kB. */
static long smaps_print(void *addr)
{
	char line[512];
	unsigned long lo, hi;
	long pmd = 0, kb;
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		die("/proc/self/smaps");
	while (fgets(line, sizeof(line), f)) {
		/* A mapping's first line is its range; the others are "Key: value". */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = lo == (uintptr_t)addr;
			if (in)
				fputs(line, stdout);
			continue;
		}
		if (!in)
			continue;
		if (!strncmp(line, "Rss:", 4) || !strncmp(line, "AnonHugePages:", 14))
			fputs(line, stdout);
		if (sscanf(line, "ShmemPmdMapped: %ld kB", &kb) == 1 ||
		    sscanf(line, "FilePmdMapped: %ld kB", &kb) == 1) {
			fputs(line, stdout);
			pmd += kb;
		}
	}
	fclose(f);
	return pmd;
}

static int map(const char *path, size_t len)
{
	uint64_t *w;
	char *reserve, *at;
	size_t i;
	long pmd;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		die(path);
	if (ftruncate(fd, (off_t)len))
		die("ftruncate");
	reserve = mmap(NULL, len + HUGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (reserve == MAP_FAILED)
		die("mmap of the reserve");
	at = (char *)(((uintptr_t)reserve + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1));
	w = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (w == MAP_FAILED)
		die("mmap");
	for (i = 0; i < len / 8; i++)
		w[i] = word(i);
	for (i = 0; i < len / 8; i++) {
		if (w[i] != word(i)) {
			fprintf(stderr, "t_thp: word %zu reads %#" PRIx64 " through the mapping\n",
				i, w[i]);
			return 1;
		}
	}
	pmd = smaps_print(w);
	printf("pmd_kb %ld\n", pmd);
	if (msync(w, len, MS_SYNC))
		die("msync");
	close(fd);
	return 0;
}

static int check(const char *path, size_t len)
{
	static uint64_t buf[1 << 16];
	size_t done = 0, i;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die(path);
	while (done < len) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0 || n % 8)
			die(n ? "read" : "read: short file");
		for (i = 0; i < (size_t)n / 8; i++) {
			if (buf[i] != word(done / 8 + i)) {
				fprintf(stderr, "t_thp: word %zu reads %#" PRIx64 " with read()\n",
					done / 8 + i, buf[i]);
				return 1;
			}
		}
		done += (size_t)n;
	}
	printf("checked %zu bytes\n", done);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	char *end;
	unsigned long long len;

	if (argc != 4) {
		fprintf(stderr, "usage: t_thp map|check PATH LEN\n");
		return 2;
	}
	len = strtoull(argv[3], &end, 0);
	if (*end || !len || len % HUGE_SIZE) {
		fprintf(stderr, "t_thp: LEN must be a multiple of 2 MiB\n");
		return 2;
	}
	if (!strcmp(argv[1], "map"))
		return map(argv[2], (size_t)len);
	if (!strcmp(argv[1], "check"))
		return check(argv[2], (size_t)len);
	fprintf(stderr, "usage: t_thp map|check PATH LEN\n");
	return 2;
}
