// SPDX-License-Identifier: MIT
/*
 * Unit test of the transient policy (core/transient.h): the unlink rule
 * (mode bits, groups, the sticky bit), reading the mark, who may mark a
 * segment (only who may remove it, and only while it has one name), and
 * the removal: not while open, not once linked, its name given back.
 */
#include "transient.h"
#include "unit.h"

#include <limits.h>
#include <string.h>
#include <sys/xattr.h>

static void check_rule(void)
{
	gid_t groups[] = { 7, 200 };
	struct shmfs_caller owner = { .uid = 100, .gid = 1 };
	struct shmfs_caller member = { .uid = 101, .gid = 200 };
	struct shmfs_caller supp = { .uid = 101, .gid = 999, .ngroups = 2, .groups = groups };
	struct shmfs_caller other = { .uid = 102, .gid = 999 };
	struct shmfs_caller objowner = { .uid = 300, .gid = 999 };
	struct shmfs_caller root = { .uid = 0, .gid = 0 };
	struct stat dir = { .st_uid = 100, .st_gid = 200, .st_mode = S_IFDIR | 0755 };
	struct stat obj = { .st_uid = 300, .st_gid = 300, .st_mode = S_IFREG | 0644 };

	CHECK(shmfs_caller_may_unlink(&root, &dir, &obj), "root may");
	CHECK(shmfs_caller_may_unlink(&owner, &dir, &obj), "the directory's owner may");
	CHECK(!shmfs_caller_may_unlink(&member, &dir, &obj), "the group may not (0755)");
	CHECK(!shmfs_caller_may_unlink(&other, &dir, &obj), "others may not (0755)");
	dir.st_mode = S_IFDIR | 0575;
	CHECK(!shmfs_caller_may_unlink(&owner, &dir, &obj), "owner bits go first (0575)");
	CHECK(shmfs_caller_may_unlink(&member, &dir, &obj), "the group may (0575)");
	CHECK(shmfs_caller_may_unlink(&supp, &dir, &obj), "so may a supplementary member");
	dir.st_mode = S_IFDIR | 0772;
	CHECK(!shmfs_caller_may_unlink(&other, &dir, &obj), "write without search is not enough");
	dir.st_mode = S_IFDIR | 0777;
	CHECK(shmfs_caller_may_unlink(&other, &dir, &obj), "anyone may (0777)");
	dir.st_mode = S_IFDIR | 01777;
	CHECK(!shmfs_caller_may_unlink(&other, &dir, &obj), "sticky: not another's segment");
	CHECK(shmfs_caller_may_unlink(&objowner, &dir, &obj), "sticky: one's own");
	CHECK(shmfs_caller_may_unlink(&owner, &dir, &obj), "sticky: the directory's owner");
}

static struct shmfs_inode *lookup(struct shmfs_inode_table *t, int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat sb;

	if (fd < 0 || fstatat(fd, "", &sb, AT_EMPTY_PATH))
		return NULL;
	return shmfs_inode_table_get(t, fd, &sb);
}

/* Set the mark on dirfd/name: false where user xattrs are not offered. */
static bool mark(int dirfd, const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
	return !setxattr(path, SHMFS_XATTR_TRANSIENT, SHMFS_XATTR_TRANSIENT_VALUE,
			 strlen(SHMFS_XATTR_TRANSIENT_VALUE), 0);
}

/*
 * top/d holds f. As root the directory and f become user A's, so that the
 * rule is met from the outside; otherwise A is the test's own user.
 */
static void check_mark(struct shmfs_inode_table *t, int top, bool root)
{
	uid_t a = root ? 1000 : geteuid();
	struct shmfs_caller ca = { .uid = a, .gid = a }, cb = { .uid = a + 1, .gid = a + 1 };
	struct shmfs_inode *f;
	int d, fd;

	REQUIRE_ERR(mkdirat(top, "d", 0755), 0);
	d = openat(top, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	REQUIRE_ERR(unit_file(d, "f", 1), 0);
	if (root)
		CHECK(!fchown(d, a, a) && !fchownat(d, "f", a, a, 0), "given to A");
	f = lookup(t, d, "f");
	REQUIRE_ERR(f ? 0 : -errno, 0);

	fd = shmfs_inode_fd_get(t, f);
	CHECK(shmfs_transient_mark_read(fd) == 0, "not marked yet");
	shmfs_inode_fd_put(t, f, fd);
	if (mark(d, "f")) {
		fd = shmfs_inode_fd_get(t, f);
		CHECK(shmfs_transient_mark_read(fd) == 1, "marked");
		shmfs_inode_fd_put(t, f, fd);
		CHECK(shmfs_transient_marked(t, f) && f->transient == 1, "the inode knows");
	} else {
		printf("transient: no user xattrs here, the mark left unread\n");
	}

	CHECK_ERR(shmfs_transient_may_mark(t, f, &ca), 0);
	CHECK_ERR(shmfs_transient_may_mark(t, f, &cb), -EPERM);
	CHECK(!fchmod(d, 01777), "a sticky directory");
	CHECK_ERR(shmfs_transient_may_mark(t, f, &cb), -EPERM);
	if (root) {
		CHECK(!fchownat(d, "f", a + 1, a + 1, 0), "f given to B");
		CHECK_ERR(shmfs_transient_may_mark(t, f, &cb), 0);
	}
	CHECK_ERR(linkat(d, "f", d, "f2", 0), 0);
	CHECK_ERR(shmfs_transient_may_mark(t, f, &ca), -EPERM); /* two names */
	CHECK_ERR(unlinkat(d, "f2", 0), 0);
	CHECK_ERR(shmfs_transient_may_mark(t, &t->root, &ca), -EPERM); /* not a segment */
	close(d);
}

static void check_remove(struct shmfs_inode_table *t, int top)
{
	struct shmfs_transient_found found;
	struct shmfs_quota q;
	struct shmfs_inode *f;
	int fd, d = openat(top, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint64_t names;

	REQUIRE_ERR(shmfs_quota_init(&q, t->rootfd, 0, 1000), 0);
	names = q.inodes;
	f = lookup(t, d, "f");
	REQUIRE_ERR(f ? 0 : -errno, 0);
	fd = shmfs_inode_fd_get(t, f);

	f->nopen = 1;
	CHECK_ERR(shmfs_transient_remove(t, &q, fd, f->dev, f->ino, &found), -EBUSY);
	shmfs_transient_found_release(&found);
	f->nopen = 0;
	CHECK_ERR(linkat(d, "f", d, "f2", 0), 0);
	CHECK_ERR(shmfs_transient_remove(t, &q, fd, f->dev, f->ino, &found), -EMLINK);
	CHECK(found.nlink == 2 && found.base, "found with its two links");
	shmfs_transient_found_release(&found);
	CHECK_ERR(unlinkat(d, "f2", 0), 0);
	CHECK_ERR(shmfs_transient_remove(t, &q, fd, f->dev, f->ino, &found), 0);
	CHECK(found.dirfd >= 0 && found.base && !strcmp(found.base, "f"), "removed as 'f'");
	CHECK(faccessat(d, "f", F_OK, AT_SYMLINK_NOFOLLOW) && errno == ENOENT, "f is gone");
	CHECK(q.inodes == names - 1, "its name given back");
	shmfs_transient_found_release(&found);
	CHECK_ERR(shmfs_transient_remove(t, &q, fd, f->dev, f->ino, &found), -ENOENT);
	CHECK(found.dirfd < 0, "nothing found twice");
	shmfs_transient_found_release(&found);
	shmfs_inode_fd_put(t, f, fd);
	close(d);
}

int main(int argc, char **argv)
{
	struct shmfs_inode_table t;
	char path[PATH_MAX];
	int top = unit_scratch(argc, argv, "transient", path, sizeof(path));

	check_rule();
	REQUIRE_ERR(shmfs_inode_table_init(&t, open(path, O_PATH | O_DIRECTORY | O_CLOEXEC),
					   &(struct shmfs_fd_budget){ 64, 64, 64, 16 }),
		    0);
	check_mark(&t, top, geteuid() == 0);
	check_remove(&t, top);
	shmfs_inode_table_release(&t);
	close(top);
	return check_report("transient");
}
