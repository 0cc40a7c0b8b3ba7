// SPDX-License-Identifier: MIT
/*
 * Fills a segment through a shared mapping while a second process reads
 * it, and checks later that the store kept every byte.
 *
 *   t_mapkeep fill PATH LEN
 *	Opens PATH (creating it), sets its length to LEN and maps it, then
 *	stores into every byte, page by page, a pattern of its offset (no
 *	byte of it is 0). A second process with its own open() follows the
 *	stores: it reads each page with pread() once it is stored and checks
 *	it. Then msync(MS_SYNC) of the whole mapping. Prints
 *	  ftruncate: ENAME       the length was refused (exit status 1)
 *	  stored LEN             every store went through
 *	  sigbus OFF             the store at OFF raised SIGBUS
 *	  reader: N pages right, M wrong
 *	  msync: ok | ENAME
 *   t_mapkeep check PATH LEN
 *	Reads the first LEN bytes of PATH: "check: LEN bytes intact", or
 *	"check: wrong at OFF" (exit status 1).
 *
 * Exit status 2: a set-up call failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096L

/* What the two processes share: how far the stores went, what was seen. */
struct progress {
	atomic_long stored; /* pages stored so far */
	atomic_int done;    /* no more stores will come */
	long right, wrong;  /* the reader's tally */
};

static sigjmp_buf on_bus;

static void bus_handler(int sig)
{
	(void)sig;
	siglongjmp(on_bus, 1);
}

static void die(const char *what)
{
	fprintf(stderr, "t_mapkeep: %s: %s\n", what, strerror(errno));
	exit(2);
}

static unsigned char pattern(long off)
{
	return (unsigned char)(off % 251 + 1);
}

static void fill_page(unsigned char *p, long off, long n)
{
	for (long i = 0; i < n; i++)
		p[i] = pattern(off + i);
}

/* The first offset in buf (n bytes read at off) that is not the pattern, or -1. */
static long first_wrong(const unsigned char *buf, long off, long n)
{
	for (long i = 0; i < n; i++)
		if (buf[i] != pattern(off + i))
			return off + i;
	return -1;
}

static void reader(const char *path, long len, struct progress *pr)
{
	unsigned char buf[PAGE];
	int fd = open(path, O_RDONLY);
	long page = 0, n;

	if (fd < 0)
		die("reader open");
	for (;;) {
		int done = atomic_load(&pr->done);

		if (page >= atomic_load(&pr->stored)) {
			if (done)
				break;
			usleep(100);
			continue;
		}
		n = len - page * PAGE < PAGE ? len - page * PAGE : PAGE;
		if (pread(fd, buf, (size_t)n, page * PAGE) != n ||
		    first_wrong(buf, page * PAGE, n) >= 0)
			pr->wrong++;
		else
			pr->right++;
		page++;
	}
	close(fd);
}

static int fill(const char *path, long len)
{
	struct sigaction sa = { .sa_handler = bus_handler };
	struct progress *pr;
	volatile long off = 0;
	unsigned char *map;
	int fd, status;
	pid_t pid;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open");
	if (ftruncate(fd, len)) {
		printf("ftruncate: %s\n", strerrorname_np(errno) ?: "E?");
		return 1;
	}
	map = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	pr = mmap(NULL, sizeof(*pr), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || pr == MAP_FAILED || sigaction(SIGBUS, &sa, NULL))
		die("set-up");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		reader(path, len, pr);
		_exit(0);
	}
	if (sigsetjmp(on_bus, 1)) {
		printf("sigbus %ld\n", off);
	} else {
		for (off = 0; off < len; off += PAGE) {
			fill_page(map + off, off, len - off < PAGE ? len - off : PAGE);
			atomic_fetch_add(&pr->stored, 1);
		}
		printf("stored %ld\n", len);
	}
	atomic_store(&pr->done, 1);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		die("reader");
	printf("reader: %ld pages right, %ld wrong\n", pr->right, pr->wrong);
	if (msync(map, (size_t)len, MS_SYNC))
		printf("msync: %s\n", strerrorname_np(errno) ?: "E?");
	else
		printf("msync: ok\n");
	munmap(map, (size_t)len);
	close(fd);
	return 0;
}

static int check(const char *path, long len)
{
	static unsigned char buf[1 << 20];
	int fd = open(path, O_RDONLY);
	long off = 0, bad;
	ssize_t n;

	if (fd < 0)
		die("open");
	while (off < len) {
		n = pread(fd, buf,
			  (size_t)(len - off < (long)sizeof(buf) ? len - off : (long)sizeof(buf)),
			  off);
		if (n <= 0) {
			printf("check: short at %ld\n", off);
			return 1;
		}
		bad = first_wrong(buf, off, n);
		if (bad >= 0) {
			printf("check: wrong at %ld\n", bad);
			return 1;
		}
		off += n;
	}
	printf("check: %ld bytes intact\n", len);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	long len;

	if (argc != 4 || (len = atol(argv[3])) <= 0) {
		fprintf(stderr, "usage: t_mapkeep fill|check PATH LEN\n");
		return 2;
	}
	if (!strcmp(argv[1], "fill"))
		return fill(argv[2], len);
	if (!strcmp(argv[1], "check"))
		return check(argv[2], len);
	fprintf(stderr, "t_mapkeep: unknown command '%s'\n", argv[1]);
	return 2;
}
