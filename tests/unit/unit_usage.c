// SPDX-License-Identifier: MIT
/*
 * Unit test of the usage cache (core/usage.h) and of the mapping scan
 * (core/mapscan.h): a small tree is counted afresh for every asker; a
 * tree whose walk is dear is walked at most a tenth of the time, and an
 * asker who comes during a walk gets the last figures without waiting;
 * the scan finds this process's own mapping by (dev, ino), and by the
 * other device number it is given, and nothing that is not mapped.
 */
#include "mapscan.h"
#include "usage.h"
#include "unit.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <time.h>

#define BIG 60000

struct asker {
	struct shmfs_usage *c;
	int dirfd;
	struct shmfs_tree_usage u;
	int err;
};

static void *ask(void *arg)
{
	struct asker *a = arg;

	a->err = shmfs_usage_get(a->c, a->dirfd, &a->u);
	return NULL;
}

static void fill(int dirfd, int from, int to)
{
	char name[32];

	for (int i = from; i < to; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		REQUIRE_ERR(unit_file(dirfd, name, 0), 0);
	}
}

static void small_tree_is_exact(int top)
{
	struct shmfs_usage c;
	struct shmfs_tree_usage u;
	int d;

	REQUIRE_ERR(mkdirat(top, "small", 0755), 0);
	d = openat(top, "small", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	shmfs_usage_init(&c);
	fill(d, 0, 10);
	CHECK_ERR(shmfs_usage_get(&c, d, &u), 0);
	CHECK(u.files == 10, "small tree: %ju files, want 10", (uintmax_t)u.files);
	fill(d, 10, 11);
	CHECK_ERR(shmfs_usage_get(&c, d, &u), 0);
	CHECK(c.cost_ms >= SHMFS_USAGE_CHEAP_MS || u.files == 11,
	      "a cheap walk is made afresh: %ju files, want 11", (uintmax_t)u.files);
	shmfs_usage_release(&c);
	close(d);
}

static void dear_tree_is_walked_seldom(int top)
{
	struct shmfs_usage c;
	struct shmfs_tree_usage u;
	unsigned long gen;
	struct asker a;
	pthread_t t;
	int d;

	REQUIRE_ERR(mkdirat(top, "big", 0755), 0);
	d = openat(top, "big", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fill(d, 0, BIG);
	shmfs_usage_init(&c);
	CHECK_ERR(shmfs_usage_get(&c, d, &u), 0);
	CHECK(u.files == BIG, "big tree: %ju files, want %d", (uintmax_t)u.files, BIG);
	printf("a walk of %d names: %ld ms\n", BIG, c.cost_ms);
	if (c.cost_ms < SHMFS_USAGE_CHEAP_MS) {
		printf("the walk is cheap here: the rate limit is not exercised\n");
		goto out;
	}
	/* Within nine walks' time of the last: the last figures, no walk. */
	fill(d, BIG, BIG + 1);
	gen = c.generation;
	CHECK_ERR(shmfs_usage_get(&c, d, &u), 0);
	CHECK(c.generation == gen && u.files == BIG,
	      "asked again at once: %lu walks (want %lu), %ju files", c.generation, gen,
	      (uintmax_t)u.files);
	/* Once that is over, a walk sees the change. */
	usleep((useconds_t)(9 * c.cost_ms + 20) * 1000);
	CHECK_ERR(shmfs_usage_get(&c, d, &u), 0);
	CHECK(u.files == BIG + 1, "later: %ju files, want %d", (uintmax_t)u.files, BIG + 1);
	/* An asker during a walk takes the last figures and does not wait for it. */
	usleep((useconds_t)(9 * c.cost_ms + 20) * 1000);
	a.c = &c;
	a.dirfd = d;
	pthread_create(&t, NULL, ask, &a);
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&c.lock);
		bool walking = c.walking;
		pthread_mutex_unlock(&c.lock);
		if (walking)
			break;
		usleep(100);
	}
	gen = c.generation;
	CHECK_ERR(shmfs_usage_get(&c, d, &u), 0);
	CHECK(u.files == BIG + 1, "during a walk: %ju files, want %d", (uintmax_t)u.files, BIG + 1);
	pthread_join(t, NULL);
	CHECK_ERR(a.err, 0);
	CHECK(c.generation == gen + 1, "one walk for two askers: %lu walks, want %lu", c.generation,
	      gen + 1);
out:
	shmfs_usage_release(&c);
	close(d);
}

static void own_mapping_is_found(int top)
{
	struct shmfs_mapkey keys[3];
	struct stat sb;
	void *p;
	int fd;

	REQUIRE_ERR(unit_file(top, "mapped", 4096), 0);
	fd = openat(top, "mapped", O_RDWR | O_CLOEXEC);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "mmap");
	fstat(fd, &sb);
	close(fd);
	memset(keys, 0, sizeof(keys));
	keys[0].dev = sb.st_dev; /* not mapped: no such inode */
	keys[0].ino = 1;
	keys[1].dev = sb.st_dev; /* mapped */
	keys[1].ino = sb.st_ino;
	keys[2].dev = makedev(4095, 4095); /* the same inode, on another device */
	keys[2].ino = sb.st_ino;
	CHECK_ERR(shmfs_mapscan(keys, 3, 0), 0);
	CHECK(!keys[0].mapped && keys[1].mapped && !keys[2].mapped, "scan: %d %d %d, want 0 1 0",
	      keys[0].mapped, keys[1].mapped, keys[2].mapped);
	/* As another device names it (a passthrough mapping shows as the FUSE file). */
	keys[1].dev = makedev(4095, 4094);
	CHECK_ERR(shmfs_mapscan(keys, 3, sb.st_dev), 0);
	CHECK(keys[1].mapped && keys[2].mapped, "scan with the other device: %d %d", keys[1].mapped,
	      keys[2].mapped);
	munmap(p, 4096);
	keys[1].dev = sb.st_dev;
	CHECK_ERR(shmfs_mapscan(keys, 3, 0), 0);
	CHECK(!keys[1].mapped, "scan after munmap: still mapped");
	CHECK(shmfs_mapscan_stuck() == 0, "%u workers left waiting", shmfs_mapscan_stuck());
}

int main(int argc, char **argv)
{
	char path[4096];
	int top = unit_scratch(argc, argv, "usage", path, sizeof(path));

	small_tree_is_exact(top);
	dear_tree_is_walked_seldom(top);
	own_mapping_is_found(top);
	return check_report("usage");
}
