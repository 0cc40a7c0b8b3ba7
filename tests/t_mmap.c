// SPDX-License-Identifier: MIT
/*
 * t_mmap FILE SIZE: two processes share FILE (SIZE bytes, created or
 * resized here) through the mount, in lock step over pipes:
 *
 *   1. the mapper stores a new value through its MAP_SHARED mapping; the
 *      other process, with its own open(), must see it with pread() at
 *      once (no msync, no close);
 *   2. the other process changes a byte with pwrite(); the mapper must see
 *      it in its mapping at once;
 *   3. the other process maps the file too and stores through its own
 *      mapping; the mapper must see that store in its mapping at once.
 *
 * Every offset the program touches is checked after every store: the
 * first byte and the last of each page, and a stride of odd offsets.
 * Prints "t_mmap: N stores seen by both processes" and exits 0, or names
 * the first store that was not seen and exits 1 (2: could not run).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum step {
	STORE_MAP,
	STORE_WRITE,
	STORE_PEER_MAP,
	STOP
};

struct order {
	uint32_t step;
	uint32_t value;
	uint64_t offset;
};

static const char *path;
static size_t size;

static void die(const char *what)
{
	fprintf(stderr, "t_mmap: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void put(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		die("pipe write");
}

static int get(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);

	if (n < 0)
		die("pipe read");
	return n == (ssize_t)len ? 0 : -1;
}

static unsigned char *map_file(int fd)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

/*
 * The second process: opens the file itself, then for each order either
 * checks a store of the mapper with pread(), or makes one of its own with
 * pwrite() or through its own mapping. Answers one byte per order: 'y'
 * done and seen, 'n' not seen.
 */
static int peer(int orders, int answers)
{
	int fd = open(path, O_RDWR);
	unsigned char *map, byte;
	struct order o;
	char answer;

	if (fd < 0)
		die("peer open");
	map = map_file(fd);
	while (!get(orders, &o, sizeof(o)) && o.step != STOP) {
		byte = (unsigned char)o.value;
		answer = 'y';
		switch (o.step) {
		case STORE_MAP:
			if (pread(fd, &byte, 1, (off_t)o.offset) != 1)
				die("pread");
			if (byte != (unsigned char)o.value)
				answer = 'n';
			break;
		case STORE_WRITE:
			if (pwrite(fd, &byte, 1, (off_t)o.offset) != 1)
				die("pwrite");
			break;
		case STORE_PEER_MAP: map[o.offset] = byte; break;
		}
		put(answers, &answer, 1);
	}
	munmap(map, size);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int to_peer[2], from_peer[2], fd, status, stores = 0, bad = 0;
	const char *what[] = { "mapping -> pread", "pwrite -> mapping",
			       "second mapping -> mapping" };
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *map;
	struct order o;
	char answer;
	pid_t pid;

	if (argc != 3 || !(size = strtoul(argv[2], NULL, 0))) {
		fprintf(stderr, "usage: t_mmap FILE SIZE\n");
		return 2;
	}
	path = argv[1];
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		die(path);
	if (ftruncate(fd, (off_t)size))
		die("ftruncate");
	map = map_file(fd);
	if (pipe(to_peer) || pipe(from_peer))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(fd);
		close(to_peer[1]);
		close(from_peer[0]);
		_exit(peer(to_peer[0], from_peer[1]));
	}
	close(to_peer[0]);
	close(from_peer[1]);

	for (uint64_t off = 0; off < size && !bad; off++) {
		/* Page edges, and every 61st byte in between. */
		if (off % 61 && off % page && (off + 1) % page && off != size - 1)
			continue;
		for (uint32_t step = STORE_MAP; step <= STORE_PEER_MAP; step++) {
			o.step = step;
			o.offset = off;
			/* A value that differs from the byte's previous one. */
			o.value = (uint32_t)(off * 7 + step * 85 + 1) & 0xff;
			if (o.value == map[off])
				o.value ^= 0x80;
			if (step == STORE_MAP)
				map[off] = (unsigned char)o.value;
			put(to_peer[1], &o, sizeof(o));
			if (get(from_peer[0], &answer, 1))
				die("the second process ended early");
			stores++;
			if (answer != 'y' || map[off] != (unsigned char)o.value) {
				printf("t_mmap: %s: the store of %u at offset %ju "
				       "was not seen (saw %u)\n",
				       what[step], o.value, (uintmax_t)off, map[off]);
				bad = 1;
				break;
			}
		}
	}
	o.step = STOP;
	put(to_peer[1], &o, sizeof(o));
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		die("the second process failed");
	munmap(map, size);
	close(fd);
	if (bad)
		return 1;
	printf("t_mmap: %d stores seen by both processes\n", stores);
	return 0;
}
