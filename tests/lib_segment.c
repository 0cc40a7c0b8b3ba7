// SPDX-License-Identifier: MIT
/*
 * Checks of libshmfs segments and locks against a real directory: $SHMFS_DIR
 * (a shmfs mount, or any directory for the parts that need no daemon).
 * Covers open-existing / create-or-open / create-exclusive, growing that
 * never shrinks (also with several processes at once), subdirectories,
 * transient marking, removal, flock() locks between processes and robust
 * process-shared mutexes whose owner dies. Arguments name the parts to run
 * (modes, subdirs, transient, grow, flock, mutex); none runs them all.
 */
#include <shmfs.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check.h"

static uint64_t size_of(struct shmfs_segment *seg)
{
	uint64_t size = UINT64_MAX;

	shmfs_segment_size(seg, &size);
	return size;
}

/* Run FN in a child process; return its exit status (or 255). */
static int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return 255;
	return WEXITSTATUS(status);
}

static void check_open_modes(void)
{
	struct shmfs_segment *seg = NULL, *seg2 = NULL;
	char path[4096];

	shmfs_segment_unlink("seg-modes");
	CHECK_ERR(shmfs_segment_open("seg-modes", 0, 0, &seg), -ENOENT);
	CHECK_ERR(shmfs_segment_open("seg-modes", 0, SHMFS_RDONLY, &seg), -ENOENT);
	REQUIRE_ERR(shmfs_segment_open("seg-modes", 100, SHMFS_OPEN_EXCL, &seg), 0);
	CHECK(size_of(seg) == 100, "new size %ju", (uintmax_t)size_of(seg));
	CHECK(!strcmp(shmfs_segment_name(seg), "seg-modes"), "name");
	shmfs_name_resolve("seg-modes", path, sizeof(path));
	CHECK(!strcmp(shmfs_segment_path(seg), path), "path %s", shmfs_segment_path(seg));
	CHECK(shmfs_segment_fd(seg) >= 0, "fd");
	CHECK_ERR(shmfs_segment_open("seg-modes", 100, SHMFS_OPEN_EXCL, &seg2), -EEXIST);
	CHECK_ERR(shmfs_segment_open("seg-modes", 100, SHMFS_OPEN_EXCL | SHMFS_OPEN_CREATE, &seg2),
		  -EEXIST);

	/* Create-or-open grows, never shrinks; size 0 keeps the size. */
	REQUIRE_ERR(shmfs_segment_open("seg-modes", 5000, SHMFS_OPEN_CREATE, &seg2), 0);
	CHECK(size_of(seg) == 5000, "grown to %ju", (uintmax_t)size_of(seg));
	shmfs_segment_close(seg2);
	REQUIRE_ERR(shmfs_segment_open("seg-modes", 50, SHMFS_OPEN_CREATE, &seg2), 0);
	CHECK(size_of(seg2) == 5000, "not shrunk: %ju", (uintmax_t)size_of(seg2));
	shmfs_segment_close(seg2);
	REQUIRE_ERR(shmfs_segment_open("seg-modes", 0, 0, &seg2), 0);
	CHECK(size_of(seg2) == 5000, "open-existing keeps size");
	CHECK_ERR(shmfs_segment_grow(seg2, 4000), 0);
	CHECK(size_of(seg2) == 5000, "grow to less is a no-op");
	CHECK_ERR(shmfs_segment_grow(seg2, 8192), 0);
	CHECK(size_of(seg) == 8192, "grow seen through another handle");
	shmfs_segment_close(seg2);

	/* Read-only handles cannot grow. */
	REQUIRE_ERR(shmfs_segment_open("seg-modes", 100, SHMFS_RDONLY, &seg2), 0);
	CHECK_ERR(shmfs_segment_grow(seg2, 100000), -EBADF);
	shmfs_segment_close(seg2);
	CHECK_ERR(shmfs_segment_open("seg-modes", 100000, SHMFS_RDONLY, &seg2), -EINVAL);
	CHECK_ERR(shmfs_segment_open("seg-modes", 0, SHMFS_RDONLY | SHMFS_OPEN_CREATE, &seg2),
		  -EINVAL);
	CHECK_ERR(shmfs_segment_open("seg-modes", 0, 1 << 20, &seg2), -EINVAL);
	CHECK_ERR(shmfs_segment_open("../seg-modes", 0, 0, &seg2), -EINVAL);
	shmfs_segment_close(seg);

	CHECK_ERR(shmfs_segment_unlink("seg-modes"), 0);
	CHECK_ERR(shmfs_segment_unlink("seg-modes"), -ENOENT);
	CHECK_ERR(shmfs_segment_unlink("/etc/passwd"), -EINVAL);
}

static void remove_dir(const char *name)
{
	char path[4096];

	if (!shmfs_name_resolve(name, path, sizeof(path)))
		CHECK(rmdir(path) == 0, "rmdir %s: %s", path, strerror(errno));
}

static void check_subdirs(void)
{
	struct shmfs_segment *seg = NULL;

	CHECK_ERR(shmfs_segment_open("sub-a/sub-b/seg", 10, 0, &seg), -ENOENT);
	REQUIRE_ERR(shmfs_segment_open("sub-a/sub-b/seg", 10, SHMFS_OPEN_CREATE, &seg), 0);
	shmfs_segment_close(seg);
	REQUIRE_ERR(shmfs_segment_open("sub-a/sub-b/seg", 0, 0, &seg), 0);
	CHECK(size_of(seg) == 10, "size in subdir");
	shmfs_segment_close(seg);
	CHECK_ERR(shmfs_segment_open("sub-a/sub-b", 0, 0, &seg), -EISDIR);
	CHECK_ERR(shmfs_segment_open("sub-a/sub-b", 10, SHMFS_OPEN_CREATE, &seg), -EISDIR);
	CHECK_ERR(shmfs_segment_unlink("sub-a/sub-b/seg"), 0);
	remove_dir("sub-a/sub-b");
	remove_dir("sub-a");
}

/*
 * The segment's transient mark: its length, with the value in val, 0 if
 * there is none. A shmfs mount without -o xattr lists xattrs but does not
 * read them; a listed mark then counts as the value "1".
 */
static ssize_t transient_mark(struct shmfs_segment *seg, char *val, size_t len)
{
	char list[1024];
	ssize_t n = flistxattr(shmfs_segment_fd(seg), list, sizeof(list));
	bool listed = false;

	for (char *p = list; n > 0 && p < list + n; p += strlen(p) + 1)
		listed |= !strcmp(p, "user.shmfs.transient");
	if (!listed)
		return 0;
	n = fgetxattr(shmfs_segment_fd(seg), "user.shmfs.transient", val, len);
	if (n < 0 && (errno == ENOTSUP || errno == ENOSYS)) {
		val[0] = '1';
		return 1;
	}
	return n;
}

static void check_transient(void)
{
	struct shmfs_segment *seg = NULL, *seg2 = NULL;
	char val[8] = "";
	ssize_t n;

	shmfs_segment_unlink("seg-plain");
	REQUIRE_ERR(shmfs_segment_open("seg-plain", 10, SHMFS_OPEN_CREATE, &seg), 0);
	/* Opening an existing segment with SHMFS_TRANSIENT does not mark it. */
	REQUIRE_ERR(shmfs_segment_open("seg-plain", 10, SHMFS_OPEN_CREATE | SHMFS_TRANSIENT, &seg2),
		    0);
	CHECK(!transient_mark(seg2, val, sizeof(val)), "existing segment left unmarked");
	shmfs_segment_close(seg2);
	shmfs_segment_close(seg);
	shmfs_segment_unlink("seg-plain");

	shmfs_segment_unlink("seg-transient");
	REQUIRE_ERR(
		shmfs_segment_open("seg-transient", 10, SHMFS_OPEN_CREATE | SHMFS_TRANSIENT, &seg),
		0);
	n = transient_mark(seg, val, sizeof(val));
	CHECK(n == 1 && val[0] == '1', "transient xattr: %zd '%.*s'", n, (int)(n > 0 ? n : 0), val);
	shmfs_segment_close(seg);
	shmfs_segment_unlink("seg-transient");
}

/* Several processes grow one segment to different sizes at once: it must
 * end at the largest. */
static void check_concurrent_grow(void)
{
	struct shmfs_segment *seg = NULL;
	enum {
		KIDS = 6,
		ROUNDS = 50
	};
	pid_t pids[KIDS];
	int bad = 0, status;

	for (int round = 0; round < ROUNDS; round++) {
		shmfs_segment_unlink("seg-race");
		for (int k = 0; k < KIDS; k++) {
			pids[k] = fork();
			if (pids[k] == 0) {
				struct shmfs_segment *s;
				int err = shmfs_segment_open("seg-race", 4096 * (uint64_t)(k + 1),
							     SHMFS_OPEN_CREATE, &s);
				_exit(err ? 1 : 0);
			}
		}
		for (int k = 0; k < KIDS; k++)
			if (waitpid(pids[k], &status, 0) < 0 || !WIFEXITED(status) ||
			    WEXITSTATUS(status))
				bad++;
		if (shmfs_segment_open("seg-race", 0, 0, &seg) == 0) {
			if (size_of(seg) != 4096 * KIDS)
				bad++;
			shmfs_segment_close(seg);
		} else {
			bad++;
		}
	}
	CHECK(bad == 0, "concurrent create-or-open: %d bad rounds", bad);
	shmfs_segment_unlink("seg-race");
}

static int try_lock_child(void *arg)
{
	struct shmfs_segment *seg;
	int mode = *(int *)arg, err;

	if (shmfs_segment_open("seg-lock", 0, 0, &seg))
		return 100;
	err = shmfs_segment_lock(seg, mode, true);
	shmfs_segment_close(seg);
	return err == 0 ? 0 : err == -EWOULDBLOCK ? 1 : 101;
}

static int die_holding_lock(void *arg)
{
	struct shmfs_segment *seg;

	if (shmfs_segment_open("seg-lock", 0, 0, &seg) ||
	    shmfs_segment_lock(seg, SHMFS_LOCK_EXCLUSIVE, false))
		return 100;
	_exit(0); /* no unlock, no close */
}

static void check_flock(void)
{
	struct shmfs_segment *seg = NULL;
	int ex = SHMFS_LOCK_EXCLUSIVE, sh = SHMFS_LOCK_SHARED;

	REQUIRE_ERR(shmfs_segment_open("seg-lock", 64, SHMFS_OPEN_CREATE, &seg), 0);
	CHECK_ERR(shmfs_segment_lock(seg, 7, false), -EINVAL);
	CHECK_ERR(shmfs_segment_lock(seg, ex, false), 0);
	CHECK(in_child(try_lock_child, &ex) == 1, "exclusive excludes exclusive");
	CHECK(in_child(try_lock_child, &sh) == 1, "exclusive excludes shared");
	CHECK_ERR(shmfs_segment_unlock(seg), 0);
	CHECK(in_child(try_lock_child, &ex) == 0, "free after unlock");
	CHECK_ERR(shmfs_segment_lock(seg, sh, true), 0);
	CHECK(in_child(try_lock_child, &sh) == 0, "shared with shared");
	CHECK(in_child(try_lock_child, &ex) == 1, "shared excludes exclusive");
	CHECK_ERR(shmfs_segment_unlock(seg), 0);
	CHECK(in_child(die_holding_lock, NULL) == 0, "child took the lock");
	CHECK_ERR(shmfs_segment_lock(seg, ex, true), 0); /* dropped at death */
	shmfs_segment_close(seg);
	shmfs_segment_unlink("seg-lock");
}

struct mutex_page {
	pthread_mutex_t mutex;
	int counter;
};

static int die_holding_mutex(void *arg)
{
	struct mutex_page *page = arg; /* inherited shared mapping */

	if (shmfs_mutex_lock(&page->mutex, NULL))
		return 100;
	page->counter = -1; /* half-done update */
	_exit(0);
}

static int trylock_child(void *arg)
{
	struct mutex_page *page = arg;
	bool rec;
	int err = shmfs_mutex_trylock(&page->mutex, &rec);

	if (err == 0)
		shmfs_mutex_unlock(&page->mutex);
	return err == 0 ? 0 : err == -EBUSY ? 1 : 101;
}

static void check_robust_mutex(void)
{
	struct shmfs_segment *seg = NULL;
	struct shmfs_view *view = NULL;
	struct mutex_page *page;
	bool recovered = true;

	REQUIRE_ERR(shmfs_segment_open("seg-mutex", sizeof(*page), SHMFS_OPEN_CREATE, &seg), 0);
	REQUIRE_ERR(shmfs_view_map(seg, 0, 0, 0, &view), 0);
	if (!view)
		return;
	page = shmfs_view_addr(view);
	CHECK_ERR(shmfs_mutex_init(&page->mutex), 0);
	CHECK_ERR(shmfs_mutex_lock(&page->mutex, &recovered), 0);
	CHECK(!recovered, "first lock is not a recovery");
	CHECK(in_child(trylock_child, page) == 1, "held mutex is busy for others");
	CHECK_ERR(shmfs_mutex_unlock(&page->mutex), 0);
	CHECK(in_child(trylock_child, page) == 0, "free mutex can be taken");

	CHECK(in_child(die_holding_mutex, page) == 0, "child died holding it");
	CHECK_ERR(shmfs_mutex_lock(&page->mutex, &recovered), 0);
	CHECK(recovered, "owner death reported");
	CHECK(page->counter == -1, "data left as the dead owner left it");
	page->counter = 0;
	CHECK_ERR(shmfs_mutex_unlock(&page->mutex), 0);
	CHECK_ERR(shmfs_mutex_lock(&page->mutex, &recovered), 0);
	CHECK(!recovered, "consistent again after recovery");
	CHECK_ERR(shmfs_mutex_unlock(&page->mutex), 0);
	CHECK_ERR(shmfs_mutex_destroy(&page->mutex), 0);
	shmfs_view_unmap(view);
	shmfs_segment_close(seg);
	shmfs_segment_unlink("seg-mutex");
}

static const struct {
	const char *name;
	void (*check)(void);
} parts[] = {
	{ "modes", check_open_modes },	  { "subdirs", check_subdirs },
	{ "transient", check_transient }, { "grow", check_concurrent_grow },
	{ "flock", check_flock },	  { "mutex", check_robust_mutex },
};

/* lib_segment [PART...]: the parts named, or all of them. */
int main(int argc, char **argv)
{
	struct stat st;
	size_t i;

	if (stat(shmfs_name_dir(), &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "lib_segment: '%s' is not a directory\n", shmfs_name_dir());
		return 2;
	}
	for (int a = 1; a < argc; a++) {
		for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
			if (!strcmp(argv[a], parts[i].name))
				break;
		if (i == sizeof(parts) / sizeof(parts[0])) {
			fprintf(stderr, "lib_segment: no part '%s'\n", argv[a]);
			return 2;
		}
	}
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		bool wanted = argc == 1;

		for (int a = 1; a < argc; a++)
			wanted |= !strcmp(argv[a], parts[i].name);
		if (wanted)
			parts[i].check();
	}
	return check_report("lib_segment");
}
