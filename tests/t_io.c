// SPDX-License-Identifier: MIT
/*
 * Runs a list of system calls and prints, one line each, what every call
 * returned: a number, "ok", or the errno's name. The suites compare these
 * lines with what tmpfs gives for the same list.
 *
 *   t_io STEP...
 *
 * Steps on the current descriptor (set by open):
 *   open PATH FLAGS      FLAGS: comma-separated rdonly wronly rdwr creat
 *                        excl trunc append direct directory nofollow
 *   pwrite OFF LEN [u]   LEN bytes of a pattern; u: from an unaligned buffer
 *   pread OFF LEN [u]    prints the count
 *   check OFF LEN        reads LEN bytes at OFF: "ok" when they are what
 *                        pwrite put there (the pattern is a function of
 *                        the file offset), else the first bad offset
 *   write LEN            at the file position
 *   ftruncate SIZE
 *   fallocate OFF LEN    mode 0
 *   punch OFF LEN        FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
 *   size                 fstat's st_size
 *   mark, unmark         sets or clears the transient mark: the ioctl
 *                        SHMFS_IOC_SET_TRANSIENT, or where that is not
 *                        known (ENOTTY), the attribute user.shmfs.transient
 *   seek data|hole OFF   lseek(SEEK_DATA or SEEK_HOLE): the offset
 *   linkat PATH          gives the descriptor (an O_TMPFILE one) the name
 *                        PATH through /proc/self/fd, as any user can
 *   map LEN              maps LEN bytes shared, stores a byte, unmaps
 *   hold LEN             the same, but keeps the mapping until "unmap"
 *   close
 * Steps on paths:
 *   truncate PATH SIZE, mkdir PATH, rmdir PATH, unlink PATH,
 *   rename OLD NEW, stat PATH (prints the type)
 *   tmpfile DIR FLAGS    opens an unnamed file in DIR (O_TMPFILE | FLAGS,
 *                        mode 0600) as the current descriptor
 *   create PATH MODE, mkfifo PATH MODE, mkdir-mode PATH MODE: make PATH
 *                        with MODE (octal), as the umask leaves it
 *   umask MASK           (octal) for the steps that follow
 *   unmap                ends the mapping "hold" kept
 *   wait PATH            until PATH exists (at most 20 s)
 *
 * Numbers may be negative and take 0x; "max" is the largest off_t.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define ALIGN 4096
/* The daemon's ABI (src/core/transient_mark.h), spelt out so that a change to it shows. */
#define SHMFS_IOC_SET_TRANSIENT _IOW('S', 0x52, int)

static int fd = -1;

static void result(const char *step, long long v)
{
	if (v < 0)
		printf("%s: %s\n", step, strerrorname_np(errno) ?: "E?");
	else
		printf("%s: %lld\n", step, v);
}

static void result_ok(const char *step, int v)
{
	if (v < 0)
		printf("%s: %s\n", step, strerrorname_np(errno) ?: "E?");
	else
		printf("%s: ok\n", step);
}

static long long number(const char *s)
{
	char *end;
	long long v;

	if (!strcmp(s, "max"))
		return INT64_MAX;
	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || *end) {
		fprintf(stderr, "t_io: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static int open_flags(const char *list)
{
	static const struct {
		const char *name;
		int flag;
	} names[] = {
		{ "rdonly", O_RDONLY },	    { "wronly", O_WRONLY }, { "rdwr", O_RDWR },
		{ "creat", O_CREAT },	    { "excl", O_EXCL },	    { "trunc", O_TRUNC },
		{ "append", O_APPEND },	    { "direct", O_DIRECT }, { "directory", O_DIRECTORY },
		{ "nofollow", O_NOFOLLOW },
	};
	char *copy = strdup(list), *save = NULL, *w;
	int flags = 0;
	size_t i;

	for (w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(w, names[i].name))
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			fprintf(stderr, "t_io: unknown open flag '%s'\n", w);
			exit(2);
		}
		flags |= names[i].flag;
	}
	free(copy);
	return flags | O_CLOEXEC;
}

/* A buffer of len pattern bytes, page-aligned or one byte off. */
static unsigned char *pattern(size_t len, bool unaligned, long long off)
{
	unsigned char *buf;

	if (posix_memalign((void **)&buf, ALIGN, len + ALIGN)) {
		perror("t_io");
		exit(2);
	}
	buf += unaligned;
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)((off + (long long)i) * 7 + 1);
	return buf;
}

static void free_pattern(unsigned char *buf, bool unaligned)
{
	free(buf - unaligned);
}

static void check_range(const char *label, const unsigned char *want, size_t len, long long off)
{
	unsigned char *got = malloc(len + 1);
	ssize_t n = pread(fd, got, len, (off_t)off);
	size_t i;

	if (n < 0) {
		result(label, n);
	} else if ((size_t)n != len) {
		printf("%s: short read %zd\n", label, n);
	} else {
		for (i = 0; i < len && got[i] == want[i]; i++)
			;
		if (i == len)
			printf("%s: ok\n", label);
		else
			printf("%s: differs at %lld\n", label, off + (long long)i);
	}
	free(got);
}

/* Map len bytes of fd shared, store into the first, unmap: 0 or -1. */
/* The mapping that "hold" keeps until "unmap". */
static char *held;
static size_t held_len;

/* Map len bytes shared and store a byte; keep the mapping if keep. */
static int map_store(long long len, bool keep)
{
	char *p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -1;
	p[0] = 'm';
	if (!keep)
		return munmap(p, (size_t)len);
	held = p;
	held_len = (size_t)len;
	return 0;
}

/* Wait up to 20 s for path to exist: 0, or -1 with ETIMEDOUT. */
static int wait_for(const char *path)
{
	for (int i = 0; i < 400; i++) {
		if (!access(path, F_OK))
			return 0;
		usleep(50000);
	}
	errno = ETIMEDOUT;
	return -1;
}

/* Make path as op says, with mode: 0 or -1 (errno set). */
static int make_mode(const char *op, const char *path, mode_t mode)
{
	int made;

	if (op[0] == 'c') {
		made = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		return made < 0 ? -1 : close(made);
	}
	return op[2] == 'f' ? mkfifo(path, mode) : mkdir(path, mode);
}

/* The transient mark, on (1) or off (0): 0 or -1 (errno set). */
static int set_mark(int on)
{
	if (!ioctl(fd, SHMFS_IOC_SET_TRANSIENT, &on))
		return 0;
	if (errno != ENOTTY)
		return -1;
	return on ? fsetxattr(fd, "user.shmfs.transient", "1", 1, 0)
		  : fremovexattr(fd, "user.shmfs.transient");
}

/* The steps on the transient mark, holes and unnamed files: words used, or 0. */
static int step_more(char **argv, int left)
{
	const char *op = argv[0];
	char label[64], path[64];

	if (!strcmp(op, "mark") || !strcmp(op, "unmark")) {
		result_ok(op, set_mark(op[0] == 'm'));
		return 1;
	}
	if (!strcmp(op, "seek") && left > 2) {
		snprintf(label, sizeof(label), "seek %s %s", argv[1], argv[2]);
		result(label, lseek(fd, (off_t)number(argv[2]),
				    !strcmp(argv[1], "data") ? SEEK_DATA : SEEK_HOLE));
		return 3;
	}
	if (!strcmp(op, "tmpfile") && left > 2) {
		if (fd >= 0)
			close(fd);
		fd = open(argv[1], O_TMPFILE | open_flags(argv[2]), 0600);
		result_ok("tmpfile", fd);
		return 3;
	}
	if (!strcmp(op, "linkat") && left > 1) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		result_ok("linkat", linkat(AT_FDCWD, path, AT_FDCWD, argv[1], AT_SYMLINK_FOLLOW));
		return 2;
	}
	return 0;
}

/* Runs the step at argv[0]; returns how many words it used. */
static int step(char **argv, int left)
{
	const char *op = argv[0];
	char label[64];
	bool u;
	long long a, b;
	unsigned char *buf;
	ssize_t n;
	struct stat sb;

#define NEED(k)                                                                  \
	do {                                                                     \
		if (left < (k) + 1) {                                            \
			fprintf(stderr, "t_io: %s needs %d arguments\n", op, k); \
			exit(2);                                                 \
		}                                                                \
	} while (0)

	if (!strcmp(op, "open")) {
		NEED(2);
		if (fd >= 0)
			close(fd);
		fd = open(argv[1], open_flags(argv[2]), 0644);
		result_ok("open", fd);
		return 3;
	}
	if (!strcmp(op, "pwrite") || !strcmp(op, "pread")) {
		NEED(2);
		a = number(argv[1]);
		b = number(argv[2]);
		u = left > 3 && !strcmp(argv[3], "u");
		snprintf(label, sizeof(label), "%s %s %s%s", op, argv[1], argv[2], u ? " u" : "");
		buf = pattern((size_t)b, u, a);
		if (op[1] == 'w') {
			n = pwrite(fd, buf, (size_t)b, (off_t)a);
		} else {
			memset(buf, 0, (size_t)b);
			n = pread(fd, buf, (size_t)b, (off_t)a);
		}
		result(label, n);
		free_pattern(buf, u);
		return 3 + u;
	}
	if (!strcmp(op, "check")) {
		NEED(2);
		a = number(argv[1]);
		b = number(argv[2]);
		snprintf(label, sizeof(label), "check %s %s", argv[1], argv[2]);
		buf = pattern((size_t)b, false, a);
		check_range(label, buf, (size_t)b, a);
		free_pattern(buf, false);
		return 3;
	}
	if (!strcmp(op, "write")) {
		NEED(1);
		b = number(argv[1]);
		buf = pattern((size_t)b, false, 0);
		snprintf(label, sizeof(label), "write %s", argv[1]);
		result(label, write(fd, buf, (size_t)b));
		free_pattern(buf, false);
		return 2;
	}
	if (!strcmp(op, "ftruncate")) {
		NEED(1);
		snprintf(label, sizeof(label), "ftruncate %s", argv[1]);
		result_ok(label, ftruncate(fd, (off_t)number(argv[1])));
		return 2;
	}
	if (!strcmp(op, "fallocate") || !strcmp(op, "punch")) {
		NEED(2);
		snprintf(label, sizeof(label), "%s %s %s", op, argv[1], argv[2]);
		result_ok(label,
			  fallocate(fd,
				    op[0] == 'p' ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : 0,
				    (off_t)number(argv[1]), (off_t)number(argv[2])));
		return 3;
	}
	if (!strcmp(op, "size")) {
		result("size", fstat(fd, &sb) ? -1 : (long long)sb.st_size);
		return 1;
	}
	if (!strcmp(op, "map") || !strcmp(op, "hold")) {
		NEED(1);
		snprintf(label, sizeof(label), "%s %s", op, argv[1]);
		result_ok(label, map_store(number(argv[1]), op[0] == 'h'));
		return 2;
	}
	if (!strcmp(op, "unmap")) {
		result_ok("unmap", held ? munmap(held, held_len) : 0);
		held = NULL;
		return 1;
	}
	if (!strcmp(op, "wait")) {
		NEED(1);
		result_ok("wait", wait_for(argv[1]));
		return 2;
	}
	if (!strcmp(op, "close")) {
		result_ok("close", close(fd));
		fd = -1;
		return 1;
	}
	if (!strcmp(op, "truncate")) {
		NEED(2);
		snprintf(label, sizeof(label), "truncate %s", argv[2]);
		result_ok(label, truncate(argv[1], (off_t)number(argv[2])));
		return 3;
	}
	if (!strcmp(op, "mkdir") || !strcmp(op, "rmdir") || !strcmp(op, "unlink")) {
		NEED(1);
		result_ok(op, op[0] == 'm'   ? mkdir(argv[1], 0755)
			      : op[0] == 'r' ? rmdir(argv[1])
					     : unlink(argv[1]));
		return 2;
	}
	if (!strcmp(op, "create") || !strcmp(op, "mkfifo") || !strcmp(op, "mkdir-mode")) {
		NEED(2);
		result_ok(op, make_mode(op, argv[1], (mode_t)strtoul(argv[2], NULL, 8)));
		return 3;
	}
	if (!strcmp(op, "umask")) {
		NEED(1);
		umask((mode_t)strtoul(argv[1], NULL, 8));
		printf("umask: ok\n");
		return 2;
	}
	if (!strcmp(op, "rename")) {
		NEED(2);
		result_ok("rename", rename(argv[1], argv[2]));
		return 3;
	}
	if (!strcmp(op, "stat")) {
		NEED(1);
		if (lstat(argv[1], &sb))
			result_ok("stat", -1);
		else
			printf("stat: %s\n", S_ISDIR(sb.st_mode)   ? "directory"
					     : S_ISREG(sb.st_mode) ? "file"
								   : "other");
		return 2;
	}
	n = step_more(argv, left);
	if (n)
		return (int)n;
	fprintf(stderr, "t_io: unknown step '%s'\n", op);
	exit(2);
#undef NEED
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* a watcher reads the steps as they happen */
	int i = 1;

	if (argc < 2) {
		fprintf(stderr, "usage: t_io STEP...\n");
		return 2;
	}
	while (i < argc)
		i += step(argv + i, argc - i);
	return 0;
}
