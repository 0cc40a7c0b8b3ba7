// SPDX-License-Identifier: MIT
/*
 * Holds many segments open at once, as a user who wants to use up the
 * daemon's descriptors would.
 *
 *   t_holdopen DIR N [unlink | tmpfile | dirs | mapped]
 *	Raises its own descriptor limit to the hard one, then creates
 *	DIR/h0 ... DIR/h(N-1), writes to each a pattern of its own (4 KiB)
 *	and keeps every one open; with "unlink" it also removes each name
 *	after its open; with "tmpfile" each is an unnamed segment in DIR
 *	(O_TMPFILE) instead; with "dirs" each is a directory holding one segment
 *	of that pattern, hI/s, and the directory is kept open; with "mapped"
 *	each segment is marked transient, mapped and closed, and only the
 *	mapping is kept (then unmapped after the check). Prints
 *	  holding K of N            K opened (K < N: the first failure follows)
 *	  open DIR/hK: ENAME        the open (or mark, or map) that failed
 *	  unlink DIR/hK: ENAME      a removal that failed (with "unlink")
 *	then waits until its standard input ends, and checks every segment it
 *	holds: reads the pattern back, writes a second one, doubles the
 *	length (a request the daemon serves with a descriptor of its own),
 *	reads the second pattern back:
 *	  intact K                  every held segment kept its bytes (or every
 *	                            held directory lists its segment, and that
 *	                            kept its bytes)
 *	  wrong DIR/hI: WHY         the first one that did not
 *
 * Exit status: 0 when all N were held and intact, 1 otherwise, 2 when a
 * set-up call failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEN 4096

static void fill(char *buf, long i, int round)
{
	char word[64];

	for (int off = 0; off < LEN; off += 16) {
		snprintf(word, sizeof(word), "%c%09ld:%05d", round ? 'B' : 'A', i, off);
		memcpy(buf + off, word, 16);
	}
}

/* Read segment i back as fd and compare with round's pattern; 0 or -errno/-EIO. */
static int same(int fd, long i, int round)
{
	char want[LEN + 1], got[LEN];
	ssize_t n;

	fill(want, i, round);
	n = pread(fd, got, LEN, 0);
	if (n < 0)
		return -errno;
	return n == LEN && !memcmp(want, got, LEN) ? 0 : -EIO;
}

static int put(int fd, long i, int round)
{
	char buf[LEN + 1];
	ssize_t n;

	fill(buf, i, round);
	n = pwrite(fd, buf, LEN, 0);
	if (n < 0)
		return -errno;
	return n == LEN ? 0 : -EIO;
}

static const char *ename(int err)
{
	return strerrorname_np(err) ?: "E?";
}

/* Does the directory open as fd list s alone, with segment i's bytes? 0 or -errno. */
static int dir_same(int fd, long i)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0), sfd, err = 0, found = 0;
	struct dirent *de;
	DIR *d;

	d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			found += strcmp(de->d_name, "s") ? 2 : 1;
	if (found != 1)
		err = -EIO;
	sfd = err ? -1 : openat(fd, "s", O_RDONLY | O_CLOEXEC);
	if (!err && sfd < 0)
		err = -errno;
	if (!err)
		err = same(sfd, i, 0);
	if (sfd >= 0)
		close(sfd);
	closedir(d);
	return err;
}

/* Check the held directories after standard input ends; the count intact. */
static long check_dirs(const char *dir, const int *fds, long held)
{
	char c;
	int err;

	while (read(0, &c, 1) > 0)
		;
	for (long i = 0; i < held; i++) {
		err = dir_same(fds[i], i);
		if (err) {
			printf("wrong %s/h%ld: %s\n", dir, i, ename(-err));
			return i;
		}
	}
	printf("intact %ld\n", held);
	return held;
}

/* Make directory path holding segment s with i's bytes, and open it. */
static int dir_make(const char *path, long i)
{
	int fd, sfd, err;

	if (mkdir(path, 0700))
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	sfd = openat(fd, "s", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	err = sfd < 0 ? -errno : put(sfd, i, 0);
	if (sfd >= 0)
		close(sfd);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* The daemon's ABI (src/core/transient_mark.h), spelt out so that a change to it shows. */
#define SHMFS_IOC_SET_TRANSIENT _IOW('S', 0x52, int)

/* Mark segment i, open as fd, transient and map it; close fd. The mapping or NULL. */
static char *map_transient(int fd, int *err)
{
	int on = 1;
	char *p = NULL;

	if (ioctl(fd, SHMFS_IOC_SET_TRANSIENT, &on))
		*err = errno;
	else if ((p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
		*err = errno;
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* Check the held mappings after standard input ends, and unmap them; the count intact. */
static long check_maps(const char *dir, char **maps, long held)
{
	char want[LEN + 1], c;

	while (read(0, &c, 1) > 0)
		;
	for (long i = 0; i < held; i++) {
		fill(want, i, 0);
		if (memcmp(maps[i], want, LEN)) {
			printf("wrong %s/h%ld: EIO\n", dir, i);
			return i;
		}
		munmap(maps[i], LEN);
	}
	printf("intact %ld\n", held);
	return held;
}

/* Check the held segments after standard input ends; the count intact. */
static long check(const char *dir, const int *fds, long held)
{
	struct stat sb;
	char c;
	int err;

	while (read(0, &c, 1) > 0)
		;
	for (long i = 0; i < held; i++) {
		err = same(fds[i], i, 0);
		if (!err)
			err = put(fds[i], i, 1);
		if (!err)
			err = ftruncate(fds[i], 2 * LEN) ? -errno : 0;
		if (!err)
			err = fstat(fds[i], &sb) ? -errno : sb.st_size == 2 * LEN ? 0 : -EIO;
		if (!err)
			err = same(fds[i], i, 1);
		if (err) {
			printf("wrong %s/h%ld: %s\n", dir, i, ename(-err));
			return i;
		}
	}
	printf("intact %ld\n", held);
	return held;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	char path[4096];
	long n, held = 0;
	bool drop, dirs, unnamed, mapped;
	int *fds, err = 0;
	char **maps;

	drop = argc == 4 && !strcmp(argv[3], "unlink");
	dirs = argc == 4 && !strcmp(argv[3], "dirs");
	unnamed = argc == 4 && !strcmp(argv[3], "tmpfile");
	mapped = argc == 4 && !strcmp(argv[3], "mapped");
	if (argc < 3 || argc > 4 || (argc == 4 && !drop && !dirs && !unnamed && !mapped)) {
		fprintf(stderr, "usage: t_holdopen DIR N [unlink | tmpfile | dirs | mapped]\n");
		return 2;
	}
	n = strtol(argv[2], NULL, 10);
	fds = calloc(n > 0 ? (size_t)n : 1, sizeof(*fds));
	maps = calloc(n > 0 ? (size_t)n : 1, sizeof(*maps));
	if (n <= 0 || !fds || !maps || getrlimit(RLIMIT_NOFILE, &rl))
		return 2;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (; dirs && held < n; held++) {
		snprintf(path, sizeof(path), "%s/h%ld", argv[1], held);
		fds[held] = dir_make(path, held);
		if (fds[held] < 0) {
			err = -fds[held];
			break;
		}
	}
	for (; !dirs && held < n; held++) {
		snprintf(path, sizeof(path), "%s/h%ld", argv[1], held);
		if (unnamed)
			fds[held] = open(argv[1], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		else
			fds[held] = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fds[held] < 0) {
			err = errno;
			break;
		}
		err = -put(fds[held], held, 0);
		if (err) {
			close(fds[held]);
			break;
		}
		if (mapped) {
			maps[held] = map_transient(fds[held], &err);
			if (!maps[held])
				break;
			continue;
		}
		if (drop && unlink(path)) {
			err = errno;
			printf("holding %ld of %ld\nunlink %s: %s\n", held, n, path, ename(err));
			close(fds[held]);
			return check(argv[1], fds, held) == n ? 0 : 1;
		}
	}
	printf("holding %ld of %ld\n", held, n);
	if (held < n)
		printf("open %s: %s\n", path, ename(err));
	if (dirs)
		return check_dirs(argv[1], fds, held) == n ? 0 : 1;
	if (mapped)
		return check_maps(argv[1], maps, held) == n ? 0 : 1;
	return check(argv[1], fds, held) == n ? 0 : 1;
}
