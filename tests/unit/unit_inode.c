// SPDX-License-Identifier: MIT
/*
 * Unit test of the inode table (core/inode.h): entries made, found and
 * forgotten, lookups counted, the root never forgotten, thousands of
 * keys sharing hash chains, an entry's descriptors, and data descriptors
 * kept within their bound however many segments are in use.
 */
#include "inode.h"
#include "unit.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/resource.h>

#define MANY 3000

static int path_fd(int dirfd, const char *name, struct stat *sb)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fstatat(fd, "", sb, AT_EMPTY_PATH)) {
		fprintf(stderr, "cannot open '%s'\n", name);
		exit(1);
	}
	return fd;
}

static void check_lookups(struct shmfs_inode_table *t, int top)
{
	struct shmfs_inode *e, *again;
	struct stat sb, got;
	bool rw = false;
	int fd;

	REQUIRE_ERR(unit_file(top, "f", 10), 0);
	e = shmfs_inode_table_get(t, path_fd(top, "f", &sb), &sb);
	CHECK(e && e != &t->root && e->nlookup == 1 && e->type == S_IFREG, "a first lookup");
	if (!e)
		exit(check_report("inode"));
	again = shmfs_inode_table_get(t, path_fd(top, "f", &sb), &sb);
	CHECK(again == e && e->nlookup == 2, "a second lookup finds the same entry");
	CHECK(shmfs_inode_table_find(t, sb.st_dev, sb.st_ino) == e, "found by (dev, ino)");
	CHECK(shmfs_inode_table_find(t, sb.st_dev, sb.st_ino + 1000000) == NULL,
	      "another key is not found");
	CHECK(shmfs_inode_table_count(t) == 2, "the root and f");

	CHECK(shmfs_inode_table_nopen(t, sb.st_dev, sb.st_ino) == 0, "no open handles");
	e->nopen = 3;
	CHECK(shmfs_inode_table_nopen(t, sb.st_dev, sb.st_ino) == 3, "open handles counted");
	e->nopen = 0;

	fd = shmfs_inode_fd_get(t, e);
	CHECK(fd >= 0 && !fstatat(fd, "", &got, AT_EMPTY_PATH) && got.st_ino == sb.st_ino,
	      "the entry's descriptor is its object");
	if (fd >= 0)
		shmfs_inode_fd_put(t, e, fd);
	fd = shmfs_inode_data_get(t, e, true, &rw);
	CHECK(fd >= 0 && rw && pwrite(fd, "x", 1, 0) == 1, "a data descriptor, read-write");
	if (fd >= 0) {
		int again_fd = shmfs_inode_data_get(t, e, false, &rw);

		CHECK(again_fd == fd && rw, "borrowed again: the same descriptor");
		shmfs_inode_data_put(t, e, again_fd);
		shmfs_inode_data_put(t, e, fd);
	}

	CHECK(shmfs_inode_table_forget(t, e, 1) == NULL, "one lookup left: it stays");
	CHECK(shmfs_inode_table_find(t, sb.st_dev, sb.st_ino) == e, "still there");
	again = shmfs_inode_table_forget(t, e, 5);
	CHECK(again == e, "more forgotten than looked up: it leaves");
	CHECK(shmfs_inode_table_find(t, sb.st_dev, sb.st_ino) == NULL, "gone from the table");
	if (again) /* never one the table still holds */
		shmfs_inode_free(t, e);
	CHECK(shmfs_inode_table_count(t) == 1, "the root alone");
}

static void check_root(struct shmfs_inode_table *t, int top)
{
	struct stat sb;
	uint64_t before = t->root.nlookup;

	CHECK(shmfs_inode_table_get(t, path_fd(top, ".", &sb), &sb) == &t->root,
	      "the root's own entry");
	CHECK(t->root.nlookup == before + 1, "its lookups counted too");
	CHECK(shmfs_inode_table_forget(t, &t->root, 1000) == NULL, "the root is never forgotten");
	CHECK(shmfs_inode_table_find(t, sb.st_dev, sb.st_ino) == &t->root, "and always found");
}

/*
 * MANY keys with one inode number on as many devices: the hash mixes the
 * device in weakly, so they share chains, and the table grows past its
 * first size. Each is its own entry, found and forgotten alone.
 */
static void check_collisions(struct shmfs_inode_table *t, int top)
{
	static struct shmfs_inode *v[MANY];
	struct stat real, sb;
	int fd = path_fd(top, "f", &real), bad = 0;

	for (int i = 0; i < MANY; i++) {
		sb = real;
		sb.st_dev = (dev_t)(1000 + i);
		sb.st_ino = 42;
		v[i] = shmfs_inode_table_get(t, fcntl(fd, F_DUPFD_CLOEXEC, 0), &sb);
		bad += !v[i] || v[i]->nlookup != 1;
	}
	CHECK(!bad, "%d of %d colliding keys did not get an entry of their own", bad, MANY);
	CHECK(shmfs_inode_table_count(t) == MANY + 1, "count %zu", shmfs_inode_table_count(t));
	/* Only an entry that has left the table is freed; the rest go with it. */
	for (int i = 0; i < MANY; i += 2) {
		struct shmfs_inode *left = shmfs_inode_table_forget(t, v[i], 1);

		bad += left != v[i];
		if (left)
			shmfs_inode_free(t, left);
	}
	for (int i = 0; i < MANY; i++) {
		struct shmfs_inode *e = shmfs_inode_table_find(t, (dev_t)(1000 + i), 42);

		bad += i % 2 ? e != v[i] : e != NULL;
	}
	CHECK(!bad, "%d colliding keys forgotten or found wrongly", bad);
	for (int i = 1; i < MANY; i += 2) {
		struct shmfs_inode *left = shmfs_inode_table_forget(t, v[i], 1);

		bad += left != v[i];
		if (left)
			shmfs_inode_free(t, left);
	}
	CHECK(!bad && shmfs_inode_table_count(t) == 1, "all forgotten: count %zu",
	      shmfs_inode_table_count(t));
	close(fd);
}

/* The descriptors open in this process. */
static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n - 3; /* ".", ".." and d's own */
}

/*
 * DATA segments used in turn, and DATA at once, with room for 16 data
 * descriptors (and 64 O_PATH ones): the cache never holds more than 16, each descriptor is
 * its own segment's, and those borrowed at once all stay open until
 * given back, the ones past the bound closed then.
 */
#define DATA 200
static void check_data(struct shmfs_inode_table *t, int top)
{
	static struct shmfs_inode *v[DATA];
	static int fds[DATA];
	char name[32], buf[32];
	int bad = 0, before = open_fds();
	struct stat sb;
	bool rw;

	for (int i = 0; i < DATA; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		REQUIRE_ERR(unit_file(top, name, 0), 0);
		v[i] = shmfs_inode_table_get(t, path_fd(top, name, &sb), &sb);
		REQUIRE_ERR(v[i] ? 0 : -ENOMEM, 0);
	}
	for (int i = 0; i < DATA; i++) {
		int fd = shmfs_inode_data_get(t, v[i], true, &rw), n = snprintf(buf, 32, "%d", i);

		bad += fd < 0 || !rw || pwrite(fd, buf, (size_t)n, 0) != n;
		if (fd >= 0)
			shmfs_inode_data_put(t, v[i], fd);
	}
	CHECK(!bad, "%d segments not written through their data descriptors", bad);
	CHECK(t->data_fds.nr_open <= 16, "%u data descriptors cached", t->data_fds.nr_open);
	for (int i = 0; i < DATA; i++)
		fds[i] = shmfs_inode_data_get(t, v[i], false, &rw);
	for (int i = 0; i < DATA; i++) {
		int n = snprintf(name, sizeof(name), "%d", i);

		bad += fds[i] < 0 || pread(fds[i], buf, (size_t)n, 0) != n || memcmp(buf, name, n);
	}
	CHECK(!bad, "%d of %d borrowed at once did not read their own segment", bad, DATA);
	for (int i = 0; i < DATA; i++)
		if (fds[i] >= 0)
			shmfs_inode_data_put(t, v[i], fds[i]);
	/* The O_PATH descriptors of those segments are cached too, 64 at most. */
	CHECK(t->data_fds.nr_open <= 16 && open_fds() <= before + 16 + 64,
	      "given back: %u cached, %d more open than before", t->data_fds.nr_open,
	      open_fds() - before);
	for (int i = 0; i < DATA; i++) {
		struct shmfs_inode *left = shmfs_inode_table_forget(t, v[i], 1);

		bad += left != v[i];
		if (left)
			shmfs_inode_free(t, left);
	}
	CHECK(!bad && open_fds() <= before, "all forgotten: %d open, %d before", open_fds(),
	      before);
}

int main(int argc, char **argv)
{
	struct shmfs_fd_budget b = {
		.path_fds = 64, .data_fds = 16, .pins = 16, .pins_per_user = 4
	};
	struct shmfs_inode_table t;
	struct rlimit rl;
	char path[PATH_MAX], *real;
	int top = unit_scratch(argc, argv, "inode", path, sizeof(path));

	/* Without file handles every entry keeps its descriptor. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < 2 * MANY) {
		rl.rlim_cur = rl.rlim_max < 2 * MANY ? rl.rlim_max : 2 * MANY;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	REQUIRE_ERR(shmfs_inode_table_init(&t, open(path, O_PATH | O_DIRECTORY | O_CLOEXEC), &b),
		    0);
	real = realpath(path, NULL);
	CHECK(real && !strcmp(t.root_path, real), "the root's path: '%s'", t.root_path);
	free(real);
	check_lookups(&t, top);
	check_root(&t, top);
	check_collisions(&t, top);
	check_data(&t, top);
	shmfs_inode_table_release(&t);
	close(top);
	return check_report("inode");
}
