// SPDX-License-Identifier: MIT
/*
 * Stores into every page of a shared mapping of a file and says how far it
 * got, for the limits suite: what happens when the pages of a mapping
 * cannot all be stored.
 *
 *   t_mapfill PATH LEN
 *
 * Opens PATH (creating it), sets its length to LEN, maps it and writes one
 * byte (the page number + 1, modulo 256) at the start of each page. Prints
 *   stored LEN           every store went through
 *   sigbus OFF           the store at OFF raised SIGBUS (the page had no room)
 * then "msync: ok" or "msync: ENAME" for msync(MS_SYNC) of the whole range.
 * Exit status 0 unless a set-up call failed (2).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096L

static sigjmp_buf on_bus;

static void bus_handler(int sig)
{
	(void)sig;
	siglongjmp(on_bus, 1);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = bus_handler };
	volatile long off = 0;
	unsigned char *map;
	long len;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: t_mapfill PATH LEN\n");
		return 2;
	}
	len = atol(argv[2]);
	fd = open(argv[1], O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, len)) {
		perror("t_mapfill");
		return 2;
	}
	map = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED || sigaction(SIGBUS, &sa, NULL)) {
		perror("t_mapfill");
		return 2;
	}
	if (sigsetjmp(on_bus, 1)) {
		printf("sigbus %ld\n", off);
	} else {
		for (off = 0; off < len; off += PAGE)
			map[off] = (unsigned char)(off / PAGE + 1);
		printf("stored %ld\n", len);
	}
	if (msync(map, (size_t)len, MS_SYNC))
		printf("msync: %s\n", strerrorname_np(errno) ?: "E?");
	else
		printf("msync: ok\n");
	munmap(map, (size_t)len);
	close(fd);
	return 0;
}
