// SPDX-License-Identifier: MIT
/*
 * What msync, fsync and fdatasync say about stores into a mapping, before
 * and after something happens that the test makes happen (the daemon is
 * killed, say).
 *
 *   t_sync PATH LEN
 *
 * Opens PATH (creating it, and setting its length to LEN if it is
 * shorter), maps its first LEN bytes, stores 'A' into every byte and
 * prints one line for each of msync(MS_SYNC), fsync and fdatasync:
 * "NAME: ok" or "NAME: ENAME". Then prints "ready" and waits for a line on
 * standard input; stores 'B' into every byte of the same mapping (whose
 * pages are cached by then) and prints the three lines again.
 * Exit status 0 unless a set-up call failed (2).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void say(const char *what, int ret)
{
	if (ret)
		printf("%s: %s\n", what, strerrorname_np(errno) ?: "E?");
	else
		printf("%s: ok\n", what);
}

static void store_and_sync(int fd, char *map, size_t len, char c)
{
	memset(map, c, len);
	say("msync", msync(map, len, MS_SYNC));
	say("fsync", fsync(fd));
	say("fdatasync", fdatasync(fd));
	fflush(stdout);
}

int main(int argc, char **argv)
{
	char line[16];
	struct stat sb;
	size_t len;
	char *map;
	int fd;

	if (argc != 3 || !(len = strtoul(argv[2], NULL, 0))) {
		fprintf(stderr, "usage: t_sync PATH LEN\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &sb) || ((size_t)sb.st_size < len && ftruncate(fd, (off_t)len))) {
		perror("t_sync");
		return 2;
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("t_sync: mmap");
		return 2;
	}
	store_and_sync(fd, map, len, 'A');
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 2;
	store_and_sync(fd, map, len, 'B');
	return 0;
}
