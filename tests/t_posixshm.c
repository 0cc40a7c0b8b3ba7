// SPDX-License-Identifier: MIT
/*
 * POSIX shared memory and semaphores, as glibc keeps them in /dev/shm,
 * between two processes that find each other by name only.
 *
 *   t_posixshm shm NAME SIZE
 *	shm_open(O_CREAT | O_EXCL) + ftruncate(SIZE) + mmap, and a pattern in
 *	the first half. A second program (this one, run again) shm_opens NAME,
 *	checks the size and the first half through its own mapping and writes
 *	another pattern into the second half; the first then checks the
 *	second half through its mapping and through pread() of a new
 *	shm_open(), and shm_unlinks NAME. Prints
 *	  fstype: fuse           the segment's file system (fstatfs)
 *	  peer: SIZE bytes, first half right
 *	  second half right (mapping and pread)
 *	  unlinked
 *   t_posixshm sem NAME ROUNDS
 *	sem_open NAME.ping and NAME.pong (O_CREAT | O_EXCL, value 0) and a
 *	segment NAME.turn; the second program sem_opens them by name; ROUNDS
 *	times the first posts ping and waits for pong, the second waits for
 *	ping and posts pong, and each checks, through the segment, that the
 *	other moved last. Prints
 *	  fstype: fuse           the file system of /dev/shm/sem.NAME.ping
 *	  ROUNDS rounds
 *	  unlinked
 *
 * Every wait gives up after 10 s. Exit status 1 when a check fails, 2 when
 * a set-up call fails; a line on stderr says which.
 */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FUSE_MAGIC 0x65735546
#define WAIT_S 10

/* This program, run again as the second process. */
static const char *self = "/proc/self/exe";

static void die(int status, const char *what, const char *name)
{
	fprintf(stderr, "%s '%s': %s\n", what, name, strerror(errno));
	exit(status);
}

static unsigned char pattern(size_t i, unsigned int seed)
{
	return (unsigned char)(i * 131 + seed * 7 + 1);
}

static void fill(unsigned char *p, size_t from, size_t to, unsigned int seed)
{
	for (size_t i = from; i < to; i++)
		p[i] = pattern(i, seed);
}

/* The first offset in [from, to) without the pattern, or to. */
static size_t check(const unsigned char *p, size_t from, size_t to, unsigned int seed)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != pattern(i, seed))
			return i;
	return to;
}

static void say_fstype(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf))
		die(2, "fstatfs", "fd");
	printf("fstype: %s\n", sf.f_type == FUSE_MAGIC ? "fuse" : "other");
}

/* Start this program again with args, as the second process. */
static pid_t spawn_peer(char *const args[])
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die(2, "fork", self);
	if (pid == 0) {
		execv(self, args);
		_exit(2);
	}
	return pid;
}

/* Wait for the second process: its exit status. */
static int wait_peer(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		die(2, "waitpid", self);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

static unsigned char *map(int fd, size_t size, const char *name)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die(2, "mmap", name);
	return p;
}

static int shm_peer(const char *name, size_t size)
{
	int fd = shm_open(name, O_RDWR, 0);
	struct stat st;
	unsigned char *p;
	size_t bad;

	if (fd < 0)
		die(1, "peer: shm_open", name);
	if (fstat(fd, &st))
		die(2, "fstat", name);
	if ((size_t)st.st_size != size) {
		printf("peer: size %jd, not %zu\n", (intmax_t)st.st_size, size);
		return 1;
	}
	p = map(fd, size, name);
	bad = check(p, 0, size / 2, 1);
	if (bad != size / 2) {
		printf("peer: first half wrong at %zu\n", bad);
		return 1;
	}
	printf("peer: %zu bytes, first half right\n", size);
	fill(p, size / 2, size, 2);
	return 0;
}

static int shm_main(const char *name, size_t size)
{
	char sizearg[32], *args[] = { (char *)self, "shm-peer", (char *)name, sizearg, NULL };
	unsigned char *p, *copy;
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600), fd2;
	size_t bad;

	if (fd < 0)
		die(2, "shm_open", name);
	if (ftruncate(fd, (off_t)size))
		die(2, "ftruncate", name);
	say_fstype(fd);
	p = map(fd, size, name);
	fill(p, 0, size / 2, 1);
	snprintf(sizearg, sizeof(sizearg), "%zu", size);
	if (wait_peer(spawn_peer(args)))
		return 1;
	bad = check(p, size / 2, size, 2);
	fd2 = shm_open(name, O_RDONLY, 0);
	copy = malloc(size);
	if (fd2 < 0 || !copy || pread(fd2, copy, size, 0) != (ssize_t)size)
		die(2, "pread", name);
	if (bad != size || check(copy, size / 2, size, 2) != size) {
		printf("second half wrong at %zu\n",
		       bad != size ? bad : check(copy, size / 2, size, 2));
		return 1;
	}
	printf("second half right (mapping and pread)\n");
	if (shm_unlink(name))
		die(2, "shm_unlink", name);
	if (shm_open(name, O_RDONLY, 0) >= 0 || errno != ENOENT)
		die(1, "still there after shm_unlink", name);
	printf("unlinked\n");
	return 0;
}

struct sems {
	sem_t *ping, *pong;
	volatile uint32_t *turn;
};

static void sem_names(const char *name, char *ping, char *pong, char *turn, size_t len)
{
	snprintf(ping, len, "%s.ping", name);
	snprintf(pong, len, "%s.pong", name);
	snprintf(turn, len, "/%s.turn", name);
}

/* Open (or, with O_CREAT | O_EXCL in flags, make) the pair and the turn. */
static void sems_open(struct sems *s, const char *name, int flags)
{
	char ping[256], pong[256], turn[256];
	int fd;

	sem_names(name, ping, pong, turn, sizeof(ping));
	s->ping = sem_open(ping, flags, 0600, 0);
	s->pong = sem_open(pong, flags, 0600, 0);
	if (s->ping == SEM_FAILED || s->pong == SEM_FAILED)
		die(2, "sem_open", name);
	fd = shm_open(turn, O_RDWR | flags, 0600);
	if (fd < 0 || ((flags & O_CREAT) && ftruncate(fd, 4096)))
		die(2, "shm_open", turn);
	s->turn = (volatile uint32_t *)map(fd, 4096, turn);
	close(fd);
}

/* sem_wait for at most WAIT_S seconds. */
static void wait_for(sem_t *sem, const char *who)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += WAIT_S;
	while (sem_timedwait(sem, &t)) {
		if (errno == EINTR)
			continue;
		printf("%s: sem_timedwait: %s\n", who, strerror(errno));
		exit(1);
	}
}

static int sem_peer(const char *name, unsigned int rounds)
{
	struct sems s;

	sems_open(&s, name, 0);
	for (uint32_t i = 0; i < rounds; i++) {
		wait_for(s.ping, "peer");
		if (*s.turn != 2 * i) {
			printf("peer: round %u: turn %u\n", i, *s.turn);
			return 1;
		}
		*s.turn = 2 * i + 1;
		if (sem_post(s.pong))
			die(2, "sem_post", name);
	}
	return 0;
}

static int sem_main(const char *name, unsigned int rounds)
{
	char roundarg[32], *args[] = { (char *)self, "sem-peer", (char *)name, roundarg, NULL };
	char ping[256], pong[256], turn[256], path[300];
	struct statfs sf;
	struct sems s;
	pid_t pid;
	int val;

	sems_open(&s, name, O_CREAT | O_EXCL);
	sem_names(name, ping, pong, turn, sizeof(ping));
	snprintf(path, sizeof(path), "/dev/shm/sem.%s", ping);
	if (statfs(path, &sf))
		die(2, "statfs", path);
	printf("fstype: %s\n", sf.f_type == FUSE_MAGIC ? "fuse" : "other");
	snprintf(roundarg, sizeof(roundarg), "%u", rounds);
	pid = spawn_peer(args);
	for (uint32_t i = 0; i < rounds; i++) {
		*s.turn = 2 * i;
		if (sem_post(s.ping))
			die(2, "sem_post", name);
		wait_for(s.pong, "first");
		if (*s.turn != 2 * i + 1) {
			printf("round %u: turn %u\n", i, *s.turn);
			return 1;
		}
	}
	if (wait_peer(pid))
		return 1;
	if (sem_getvalue(s.ping, &val) || val || sem_getvalue(s.pong, &val) || val) {
		printf("semaphores not back at 0\n");
		return 1;
	}
	printf("%u rounds\n", rounds);
	if (sem_unlink(ping) || sem_unlink(pong) || shm_unlink(turn))
		die(2, "unlink", name);
	if (access(path, F_OK) == 0 || errno != ENOENT)
		die(1, "still there after sem_unlink", path);
	printf("unlinked\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: t_posixshm shm|sem NAME SIZE|ROUNDS\n");
		return 2;
	}
	if (!strcmp(argv[1], "shm"))
		return shm_main(argv[2], strtoull(argv[3], NULL, 0));
	if (!strcmp(argv[1], "shm-peer"))
		return shm_peer(argv[2], strtoull(argv[3], NULL, 0));
	if (!strcmp(argv[1], "sem"))
		return sem_main(argv[2], (unsigned int)strtoul(argv[3], NULL, 0));
	if (!strcmp(argv[1], "sem-peer"))
		return sem_peer(argv[2], (unsigned int)strtoul(argv[3], NULL, 0));
	fprintf(stderr, "t_posixshm: unknown mode '%s'\n", argv[1]);
	return 2;
}
