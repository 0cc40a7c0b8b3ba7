// SPDX-License-Identifier: MIT
/*
 * Unit test of the inode table (core/inode.h): entries made, found and
 * forgotten, lookups counted, the root never forgotten, thousands of
 * keys sharing hash chains, and an entry's descriptors.
 */
#include "inode.h"
#include "unit.h"

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
	fd = shmfs_inode_data_open(t, e, &rw);
	CHECK(fd >= 0 && rw && pwrite(fd, "x", 1, 0) == 1, "a data descriptor, read-write");
	if (fd >= 0)
		close(fd);

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

int main(int argc, char **argv)
{
	struct shmfs_inode_table t;
	struct rlimit rl;
	char path[PATH_MAX], *real;
	int top = unit_scratch(argc, argv, "inode", path, sizeof(path));

	/* Without file handles every entry keeps its descriptor. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < 2 * MANY) {
		rl.rlim_cur = rl.rlim_max < 2 * MANY ? rl.rlim_max : 2 * MANY;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	REQUIRE_ERR(shmfs_inode_table_init(&t, open(path, O_PATH | O_DIRECTORY | O_CLOEXEC), 64),
		    0);
	real = realpath(path, NULL);
	CHECK(real && !strcmp(t.root_path, real), "the root's path: '%s'", t.root_path);
	free(real);
	check_lookups(&t, top);
	check_root(&t, top);
	check_collisions(&t, top);
	shmfs_inode_table_release(&t);
	close(top);
	return check_report("inode");
}
