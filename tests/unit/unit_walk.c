// SPDX-License-Identifier: MIT
/*
 * Unit test of the tree walker (core/walk.h): every entry once, no
 * symbolic link followed down, a nest deeper than PATH_MAX walked with
 * one directory descriptor, entries removed under the walk, a directory
 * moved out from under it (-ESTALE, never a step outside the tree), and
 * a removing walk that empties a tree.
 */
#include "walk.h"
#include "unit.h"

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DEEP 60

static int mkdir_open(int parent, const char *name)
{
	int fd = -1;

	if (!mkdirat(parent, name, 0755))
		fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "cannot make '%s'\n", name);
		exit(1);
	}
	return fd;
}

/* Descriptors this process has open. */
static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = -1; /* d's own */

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n - 2; /* "." and ".." */
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Walk the tree under top, asking to go down into every entry, and list
 * the paths met, sorted, joined by spaces, into out.
 */
static int walk_list(int top, char *out, size_t len)
{
	struct shmfs_walk w;
	char *v[64];
	const char *name;
	size_t n = 0, used = 0;
	int ev, downs = 0;

	REQUIRE_ERR(shmfs_walk_init(&w, top, SHMFS_WALK_NOATIME), 0);
	while ((ev = shmfs_walk_next(&w, &name)) > 0) {
		if (n < 64)
			v[n++] = shmfs_walk_path(&w, name);
		if (!shmfs_walk_down(&w, name))
			downs++;
	}
	shmfs_walk_release(&w);
	qsort(v, n, sizeof(*v), by_name);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? " " : "", v[i]);
		free(v[i]);
	}
	return ev ? ev : downs;
}

/* t/a, t/d1/b, t/d1/d2/c; t/ln -> d1 and t/out -> / are links, not ways down. */
static void check_links(int scratch)
{
	int t = mkdir_open(scratch, "t"), d1 = mkdir_open(t, "d1"), d2 = mkdir_open(d1, "d2");
	char list[512];

	CHECK_ERR(unit_file(t, "a", 1), 0);
	CHECK_ERR(unit_file(d1, "b", 1), 0);
	CHECK_ERR(unit_file(d2, "c", 1), 0);
	CHECK_ERR(symlinkat("d1", t, "ln"), 0);
	CHECK_ERR(symlinkat("/", t, "out"), 0);
	CHECK_ERR(walk_list(t, list, sizeof(list)), 2);
	CHECK(!strcmp(list, "a d1 d1/b d1/d2 d1/d2/c ln out"), "walked: %s", list);
	close(d2);
	close(d1);
	close(t);
}

/* DEEP levels of 100-byte names: paths far past PATH_MAX, one descriptor. */
static void check_deep(int scratch)
{
	char name[101], *path = NULL;
	int fd = mkdir_open(scratch, "deep"), sub, base, most = 0, ev;
	size_t depth = 0;
	struct shmfs_walk w;
	const char *e;

	memset(name, 'n', 100);
	name[100] = '\0';
	for (int i = 0; i < DEEP; i++) {
		sub = mkdir_open(fd, name);
		close(fd);
		fd = sub;
	}
	CHECK_ERR(unit_file(fd, "bottom", 1), 0);
	close(fd);
	fd = openat(scratch, "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	base = fd_count();
	REQUIRE_ERR(shmfs_walk_init(&w, fd, 0), 0);
	while ((ev = shmfs_walk_next(&w, &e)) > 0) {
		int n = fd_count();

		most = n > most ? n : most;
		if (!strcmp(e, "bottom")) {
			depth = shmfs_walk_depth(&w);
			path = shmfs_walk_path(&w, e);
		} else {
			CHECK_ERR(shmfs_walk_down(&w, e), 0);
		}
	}
	CHECK_ERR(ev, 0);
	shmfs_walk_release(&w);
	CHECK(depth == DEEP, "the bottom is %zu levels down, want %d", depth, DEEP);
	CHECK(path && strlen(path) > PATH_MAX, "its path is %zu bytes", path ? strlen(path) : 0);
	CHECK(most <= base + 1, "descriptors: %d during the walk, %d before", most, base);
	CHECK(fd_count() == base, "none left open");
	free(path);
	close(fd);
}

/* Files and a directory removed while the walk reads their directory. */
static void check_removed(int scratch)
{
	int t = mkdir_open(scratch, "rm"), sub, seen[100] = { 0 }, bad = 0, ev, n;
	struct shmfs_walk w;
	const char *e;
	char name[16];

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		CHECK_ERR(unit_file(t, name, 1), 0);
	}
	sub = mkdir_open(t, "gone");
	CHECK_ERR(unit_file(sub, "inside", 1), 0);
	close(sub);
	REQUIRE_ERR(shmfs_walk_init(&w, t, 0), 0);
	for (bool first = true; (ev = shmfs_walk_next(&w, &e)) > 0; first = false) {
		if (first) {
			/* The even files, and gone with what it holds. */
			for (int i = 0; i < 100; i += 2) {
				snprintf(name, sizeof(name), "f%02d", i);
				bad += unlinkat(t, name, 0) != 0;
			}
			sub = openat(t, "gone", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			bad += unlinkat(sub, "inside", 0) || unlinkat(t, "gone", AT_REMOVEDIR);
			close(sub);
		}
		if (!strcmp(e, "gone"))
			CHECK_ERR(shmfs_walk_down(&w, e), -ENOENT);
		else if (sscanf(e, "f%d", &n) == 1 && n >= 0 && n < 100)
			seen[n]++;
		else
			bad++;
	}
	CHECK_ERR(ev, 0);
	shmfs_walk_release(&w);
	for (int i = 0; i < 100; i++)
		bad += i % 2 ? seen[i] != 1 : seen[i] > 1;
	CHECK(!bad, "%d entries seen wrongly", bad);
	close(t);
}

/* t/x/y/z: x moved out of t while the walk is in y. Going up finds out. */
static void check_moved(int scratch)
{
	int t = mkdir_open(scratch, "mv"), x = mkdir_open(t, "x"), y = mkdir_open(x, "y"), ev;
	struct shmfs_walk w;
	const char *e;
	bool moved = false;

	CHECK_ERR(unit_file(y, "z", 1), 0);
	REQUIRE_ERR(shmfs_walk_init(&w, t, 0), 0);
	while ((ev = shmfs_walk_next(&w, &e)) > 0) {
		if (!strcmp(e, "z") && !moved) {
			CHECK_ERR(renameat(t, "x", scratch, "moved"), 0);
			moved = true;
		} else if (strcmp(e, "z")) {
			CHECK_ERR(shmfs_walk_down(&w, e), 0);
		}
	}
	CHECK(moved, "the walk reached z");
	CHECK_ERR(ev, -ESTALE);
	shmfs_walk_release(&w);
	close(y);
	close(x);
	close(t);
}

/* A removing walk: every directory comes back once emptied, deepest first. */
static void check_removing(int scratch)
{
	int t = mkdir_open(scratch, "empty"), p = mkdir_open(t, "p"), q = mkdir_open(p, "q"), ev;
	struct shmfs_walk w;
	char left[64] = "";
	const char *e;

	CHECK_ERR(unit_file(t, "a", 1), 0);
	CHECK_ERR(unit_file(p, "b", 1), 0);
	CHECK_ERR(unit_file(q, "c", 1), 0);
	close(q);
	close(p);
	REQUIRE_ERR(shmfs_walk_init(&w, t, SHMFS_WALK_REMOVING), 0);
	while ((ev = shmfs_walk_next(&w, &e)) > 0) {
		int dfd = shmfs_walk_dirfd(&w);

		if (ev == SHMFS_WALK_LEFT) {
			CHECK_ERR(unlinkat(dfd, e, AT_REMOVEDIR) ? -errno : 0, 0);
			snprintf(left + strlen(left), sizeof(left) - strlen(left), "%s ", e);
		} else if (unlinkat(dfd, e, 0) && errno == EISDIR) {
			CHECK_ERR(shmfs_walk_down(&w, e), 0);
		}
	}
	CHECK_ERR(ev, 0);
	shmfs_walk_release(&w);
	CHECK(!strcmp(left, "q p "), "directories handed back: %s", left);
	CHECK(unlinkat(scratch, "empty", AT_REMOVEDIR) == 0, "the tree is empty");
	close(t);
}

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	int scratch = unit_scratch(argc, argv, "walk", path, sizeof(path));

	check_links(scratch);
	check_deep(scratch);
	check_removed(scratch);
	check_moved(scratch);
	check_removing(scratch);
	close(scratch);
	return check_report("walk");
}
