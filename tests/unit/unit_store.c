// SPDX-License-Identifier: MIT
/*
 * Unit test of the store (core/store.h, store_path.h): a directory store
 * opened, locked against a second daemon, counted under size= and
 * nr_inodes=, discarded whatever its depth, tmpfs's huge=, noswap and
 * mpol= refused before it is made; and the checks that refuse a
 * path or a directory another user controls or could swap. The checks on
 * another user's objects need root (to make them), and are left out
 * without it.
 */
#include "store.h"
#include "store_path.h"
#include "unit.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define OTHER_UID 4242

static char scratch[PATH_MAX];

static char *at(const char *rel)
{
	static char buf[4][2 * PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", scratch, rel);
	return buf[i];
}

static bool exists(const char *path)
{
	struct stat sb;

	return !lstat(path, &sb);
}

/* Open the store at rel with the configuration c; the result, st->why in *why. */
static int open_at(struct shmfs_store *st, const char *rel, struct shmfs_store_config *c,
		   const char **why)
{
	c->dir = at(rel);
	return shmfs_store_open(st, c, "/mnt/unit", why);
}

static void check_open(void)
{
	struct shmfs_store_config c = { 0 };
	struct shmfs_store a, b;
	struct statvfs sv;
	const char *why;
	struct stat sb;

	CHECK_ERR(open_at(&a, "s1", &c, &why), 0);
	CHECK(!strcmp(a.kind->name, "directory") && a.dirfd >= 0 && a.rootfd >= 0,
	      "a directory store, open");
	CHECK(!stat(at("s1"), &sb) && (sb.st_mode & 07777) == 0700, "S is private");
	CHECK(exists(at("s1/root")) && exists(at("s1/lock")), "S/root and S/lock made");
	CHECK(!a.quota, "no limits: the daemon keeps none");
	CHECK_ERR(open_at(&b, "s1", &c, &why), -EBUSY);
	CHECK(strstr(why, "in use by another shmfs daemon"), "why: %s", why);
	shmfs_store_release(&b);
	shmfs_store_release(&a);

	REQUIRE_ERR(unit_file(AT_FDCWD, at("s1/root/seg"), 10000), 0);
	REQUIRE_ERR(mkdir(at("s1/root/dir"), 0755), 0);
	c.size = 1 << 20;
	c.size_set = true;
	c.nr_inodes = 100;
	c.nr_inodes_set = true;
	CHECK_ERR(open_at(&a, "s1", &c, &why), 0);
	CHECK(a.quota && a.quota->bytes == 12288 && a.quota->inodes == 2,
	      "the limits count what the store holds");
	CHECK(a.size == 1 << 20, "the mount's size");
	CHECK_ERR(shmfs_store_statfs(&a, &sv), 0);
	CHECK(sv.f_files == 100 && sv.f_ffree == 98, "statfs shows nr_inodes: %ju free of %ju",
	      (uintmax_t)sv.f_ffree, (uintmax_t)sv.f_files);
	CHECK_ERR(shmfs_store_discard(at("s1")), -EBUSY);
	shmfs_store_release(&a);
}

/* huge=, noswap and mpol= are refused on a directory store, before it is made. */
static void check_tmpfs_options(void)
{
	struct shmfs_store_config c = { .tmpfs = { .huge = "within_size" } };
	struct shmfs_store st;
	const char *why;

	CHECK_ERR(open_at(&st, "s-huge", &c, &why), -EINVAL);
	CHECK(strstr(why, "'huge=within_size'") && strstr(why, "directory store"), "why: %s", why);
	CHECK(!exists(at("s-huge")), "nothing made");
	shmfs_store_release(&st);
	c.tmpfs.huge = NULL;
	c.tmpfs.noswap = true;
	CHECK_ERR(open_at(&st, "s-huge", &c, &why), -EINVAL);
	CHECK(strstr(why, "'noswap'"), "why: %s", why);
	shmfs_store_release(&st);
	c.tmpfs.noswap = false;
	c.tmpfs.mpol = "local";
	CHECK_ERR(open_at(&st, "s-huge", &c, &why), -EINVAL);
	CHECK(strstr(why, "'mpol=local'") && !exists(at("s-huge")), "why: %s", why);
	shmfs_store_release(&st);
}

/* A store 300 directories deep, with a file at each level, goes whole. */
static void check_discard(void)
{
	char name[16];
	int fd = open(at("s1/root"), O_RDONLY | O_DIRECTORY | O_CLOEXEC), sub, bad = 0;

	for (int i = 0; fd >= 0 && i < 300; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		bad += unit_file(fd, name, 1) != 0 || mkdirat(fd, "d", 0755) != 0;
		sub = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = sub;
	}
	CHECK(fd >= 0 && !bad, "a deep tree made");
	close(fd);
	CHECK_ERR(shmfs_store_discard(at("s1")), 0);
	CHECK(!exists(at("s1")), "discarded whole");
	CHECK_ERR(shmfs_store_discard(at("s1")), -ENOENT);
}

/* store=REL is refused, with a message holding want. */
static void check_refused(const char *rel, int err, const char *want)
{
	struct shmfs_store_config c = { 0 };
	struct shmfs_store st;
	const char *why;

	CHECK_ERR(open_at(&st, rel, &c, &why), err);
	CHECK(strstr(why, want), "store '%s': '%s', want '%s'", rel, why, want);
	shmfs_store_release(&st);
}

static void check_store_paths(bool root)
{
	struct shmfs_store_config c = { 0 };
	struct shmfs_store st;
	const char *why;

	REQUIRE_ERR(mkdir(at("open"), 0777), 0);
	REQUIRE_ERR(chmod(at("open"), 0777), 0);
	check_refused("open/s", -EPERM, "any user may replace what");
	CHECK(!exists(at("open/s")), "nothing made under a refused path");
	REQUIRE_ERR(chmod(at("open"), 01777), 0);
	CHECK_ERR(open_at(&st, "open/s", &c, &why), 0); /* sticky: nobody swaps it */
	shmfs_store_release(&st);
	if (!root)
		return;
	REQUIRE_ERR(mkdir(at("theirs"), 0755), 0);
	REQUIRE_ERR(chown(at("theirs"), OTHER_UID, OTHER_UID), 0);
	check_refused("theirs/s", -EPERM, "belongs to uid 4242");
	REQUIRE_ERR(symlink(at("open"), at("link")), 0);
	REQUIRE_ERR(lchown(at("link"), OTHER_UID, OTHER_UID), 0);
	check_refused("link/s", -EPERM, "belongs to uid 4242");
}

/* The default store of a user, BASE/DIR/KEY under scratch/base: 0 or -errno, why in *why. */
static int user_store(const char *dir, struct shmfs_store *st)
{
	memset(st, 0, sizeof(*st));
	st->dirfd = st->rootfd = st->lockfd = -1;
	st->path = strdup(at(dir));
	return shmfs_store_user_prepare(st);
}

static void check_user_store(bool root)
{
	struct shmfs_store st;

	REQUIRE_ERR(mkdir(at("base"), 0755), 0);
	REQUIRE_ERR(symlink("/etc", at("base/planted")), 0);
	CHECK_ERR(user_store("base/planted/key", &st), -ELOOP);
	CHECK(strstr(st.why, "is a symbolic link"), "a planted link: %s", st.why);
	shmfs_store_release(&st);

	REQUIRE_ERR(mkdir(at("base/wide"), 0777), 0);
	REQUIRE_ERR(chmod(at("base/wide"), 0777), 0);
	CHECK_ERR(user_store("base/wide/key", &st), -EPERM);
	CHECK(strstr(st.why, "other users may write to it"), "a writable dir: %s", st.why);
	CHECK(!exists(at("base/wide/key")), "nothing made in it");
	shmfs_store_release(&st);

	CHECK_ERR(user_store("base/mine/key", &st), 0);
	CHECK(st.dirfd >= 0 && exists(at("base/mine/key")), "a user store made");
	shmfs_store_release(&st);
	REQUIRE_ERR(symlink("/", at("base/mine/key/root")), 0);
	CHECK_ERR(user_store("base/mine/key", &st), -EPERM);
	CHECK(strstr(st.why, "its 'root' is a symbolic link"), "a planted S/root: %s", st.why);
	shmfs_store_release(&st);
	if (!root)
		return;
	REQUIRE_ERR(mkdir(at("base/theirs"), 0700), 0);
	REQUIRE_ERR(chown(at("base/theirs"), OTHER_UID, OTHER_UID), 0);
	CHECK_ERR(user_store("base/theirs/key", &st), -EPERM);
	CHECK(strstr(st.why, "belongs to uid 4242"), "another user's dir: %s", st.why);
	shmfs_store_release(&st);
}

static void check_default_path(void)
{
	char *p = shmfs_store_default_path("/mnt/a b/c");
	const char *want = "/mnt-a\\x20b-c";

	CHECK(p && strlen(p) > strlen(want) && !strcmp(p + strlen(p) - strlen(want), want),
	      "default path '%s'", p ? p : "(null)");
	free(p);
}

int main(int argc, char **argv)
{
	bool root = geteuid() == 0;
	int top = unit_scratch(argc, argv, "store", scratch, sizeof(scratch));
	char *real = realpath(scratch, NULL);

	/* Checked from / down: the scratch directory's own path must pass. */
	snprintf(scratch, sizeof(scratch), "%s", real);
	free(real);
	umask(022);
	check_open();
	check_tmpfs_options();
	check_discard();
	check_store_paths(root);
	check_user_store(root);
	check_default_path();
	if (!root)
		printf("store: not root, another user's objects left out\n");
	close(top);
	return check_report("store");
}
