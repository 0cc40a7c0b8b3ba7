// SPDX-License-Identifier: MIT
/*
 * Unit test of the daemon-kept limits (core/quota.h): the cost of a
 * length, what a tree already holds, charges and refunds against size=
 * and nr_inodes=, statfs figures, and writers charging at once never
 * passing the limit together.
 */
#include "quota.h"
#include "unit.h"

#include <limits.h>
#include <pthread.h>

#define PAGE 4096

static void check_cost(void)
{
	CHECK(shmfs_quota_cost(-1) == 0, "a negative length costs nothing");
	CHECK(shmfs_quota_cost(0) == 0, "an empty segment costs nothing");
	CHECK(shmfs_quota_cost(1) == PAGE, "one byte costs a page");
	CHECK(shmfs_quota_cost(PAGE) == PAGE, "a page costs a page");
	CHECK(shmfs_quota_cost(PAGE + 1) == 2 * PAGE, "a page and a byte cost two");
}

/*
 * top: a (1000 bytes), b (8192 written), d/c (1 byte), d/hard (a second
 * name of a), s (a symlink to a), e (empty): 7 names, 3 files.
 */
static void make_tree(int top)
{
	static char data[8192];
	int fd, d;

	REQUIRE_ERR(unit_file(top, "a", 1000), 0);
	fd = openat(top, "b", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && pwrite(fd, data, sizeof(data), 0) == (ssize_t)sizeof(data), "write b");
	close(fd);
	REQUIRE_ERR(mkdirat(top, "d", 0755), 0);
	d = openat(top, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	REQUIRE_ERR(unit_file(d, "c", 1), 0);
	REQUIRE_ERR(linkat(top, "a", d, "hard", 0), 0);
	close(d);
	REQUIRE_ERR(symlinkat("a", top, "s"), 0);
	REQUIRE_ERR(mkdirat(top, "e", 0755), 0);
}

static void check_usage(int top)
{
	struct shmfs_tree_usage u;

	CHECK_ERR(shmfs_tree_usage(top, &u), 0);
	CHECK(u.inodes == 7, "names: %ju, want 7", (uintmax_t)u.inodes);
	CHECK(u.files == 3, "files: %ju, want 3 (a second name is the same file)",
	      (uintmax_t)u.files);
	CHECK(u.charge == 4 * PAGE, "charge: %ju, want %d", (uintmax_t)u.charge, 4 * PAGE);
	CHECK(u.file_bytes >= 8192, "allocated: %ju, want b's 8192 at least",
	      (uintmax_t)u.file_bytes);
}

static void check_limits(int top)
{
	struct shmfs_quota q;
	struct statvfs sv = { .f_frsize = PAGE };
	off_t len;

	CHECK_ERR(shmfs_quota_init(&q, top, 16 * PAGE, 10), 0);
	CHECK(q.bytes == 4 * PAGE && q.inodes == 7, "starts from the tree: %ju bytes, %ju names",
	      (uintmax_t)q.bytes, (uintmax_t)q.inodes);

	len = 3 * PAGE - 100;
	CHECK_ERR(shmfs_quota_resize(&q, 0, &len, false), 0);
	CHECK(q.bytes == 7 * PAGE, "a growth is charged in whole pages");
	len = 10 * PAGE;
	CHECK_ERR(shmfs_quota_resize(&q, 0, &len, false), -ENOSPC);
	CHECK(q.bytes == 7 * PAGE && len == 10 * PAGE, "a growth that does not fit takes nothing");
	len = 100 * PAGE;
	CHECK_ERR(shmfs_quota_resize(&q, PAGE / 2, &len, true), 0);
	CHECK(len == 10 * PAGE, "a partial growth is cut at the last page that fits: %jd",
	      (intmax_t)len);
	CHECK(q.bytes == 16 * PAGE, "...and fills the limit");
	len = 2 * PAGE;
	CHECK_ERR(shmfs_quota_resize(&q, PAGE, &len, true), -ENOSPC);
	CHECK(q.bytes == 16 * PAGE, "nothing fits: nothing taken");
	len = 0;
	CHECK_ERR(shmfs_quota_resize(&q, 10 * PAGE, &len, false), 0);
	CHECK(q.bytes == 6 * PAGE, "a shrink gives back: %ju", (uintmax_t)q.bytes);

	CHECK_ERR(shmfs_quota_inode(&q, 1), 0);
	CHECK_ERR(shmfs_quota_name_charge(&q), 0);
	CHECK_ERR(shmfs_quota_name_charge(&q), 0);
	CHECK_ERR(shmfs_quota_name_charge(&q), -ENOSPC);
	CHECK(q.inodes == 10, "names stop at nr_inodes: %ju", (uintmax_t)q.inodes);
	shmfs_quota_name_refund(&q);
	CHECK(q.inodes == 9, "a refund gives a name back");
	CHECK_ERR(shmfs_quota_name_charge(NULL), 0);
	shmfs_quota_name_refund(NULL);

	shmfs_quota_statfs(&q, &sv);
	CHECK(sv.f_blocks == 16 && sv.f_bfree == 10 && sv.f_bavail == 10,
	      "statfs blocks %ju free %ju", (uintmax_t)sv.f_blocks, (uintmax_t)sv.f_bfree);
	CHECK(sv.f_files == 10 && sv.f_ffree == 1, "statfs files %ju free %ju",
	      (uintmax_t)sv.f_files, (uintmax_t)sv.f_ffree);
}

#define WRITERS 4
#define RACE_PAGES 256

struct racer {
	struct shmfs_quota *q;
	unsigned int got;
};

/* Charge one page at a time until the limit says no. */
static void *race(void *arg)
{
	struct racer *r = arg;
	off_t len = PAGE;

	while (!shmfs_quota_resize(r->q, 0, &len, false))
		r->got++;
	return NULL;
}

static void check_race(int empty)
{
	struct racer r[WRITERS];
	pthread_t t[WRITERS];
	struct shmfs_quota q;
	unsigned int total = 0;

	CHECK_ERR(shmfs_quota_init(&q, empty, RACE_PAGES * PAGE, 0), 0);
	for (int i = 0; i < WRITERS; i++) {
		r[i] = (struct racer){ &q, 0 };
		pthread_create(&t[i], NULL, race, &r[i]);
	}
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(t[i], NULL);
		total += r[i].got;
	}
	CHECK(total == RACE_PAGES, "writers together got %u pages of %d", total, RACE_PAGES);
	CHECK(q.bytes == RACE_PAGES * PAGE, "the charge is the limit, never past it: %ju",
	      (uintmax_t)q.bytes);
}

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	int top = unit_scratch(argc, argv, "quota", path, sizeof(path)), empty;

	check_cost();
	make_tree(top);
	check_usage(top);
	check_limits(top);
	REQUIRE_ERR(mkdirat(top, "empty", 0755), 0);
	empty = openat(top, "empty", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	check_race(empty);
	close(empty);
	close(top);
	return check_report("quota");
}
