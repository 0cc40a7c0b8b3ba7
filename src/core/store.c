// SPDX-License-Identifier: MIT
/*
 * Store set-up, limits and destruction. See store.h for the layout, and
 * store_path.c for its name and the checks on the way to it.
 *
 * The store's own bookkeeping (its top directory, S/root and S/lock) uses
 * three inodes of a tmpfs store; nr_inodes= is raised by that much so the
 * user gets exactly the number of segments and directories asked for, and
 * statfs hides them again.
 */
#include "store_path.h"
#include "caps.h"
#include "walk.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_OWN_INODES 3

/* mkdir that accepts an existing directory owned by us and private to us. */
static int mkdir_private(const char *path)
{
	struct stat sb;

	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	if (lstat(path, &sb))
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	if (sb.st_uid != geteuid())
		return -EPERM;
	if ((sb.st_mode & 07777) != 0700 && chmod(path, 0700))
		return -errno;
	return 0;
}

static int parent_dir(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (!slash || n >= len)
		return -EINVAL;
	memcpy(buf, path, n);
	buf[n ? n : 1] = '\0';
	if (!n)
		buf[0] = '/';
	return 0;
}

static bool is_mountpoint(const char *path)
{
	char parent[PATH_MAX];
	struct stat a, b;

	if (parent_dir(path, parent, sizeof(parent)) || stat(path, &a) || stat(parent, &b))
		return false;
	return a.st_dev != b.st_dev;
}

/* What tmpfs cannot do on a remount, said once: -EINVAL. */
static int remount_refused(struct shmfs_store *st, const char *what)
{
	snprintf(st->why, sizeof(st->why),
		 "the store's tmpfs at '%s' %s (discarding the store, "
		 "and its segments, lets a new one have it)",
		 st->path, what);
	return -EINVAL;
}

/*
 * The store's tmpfs is mounted already, and is to be remounted with the
 * data that tmpfs_data() made: an option not given keeps its value, as
 * tmpfs has it. Two changes tmpfs does not make on a remount are refused
 * rather than left undone: noswap turned on, and mpol=default over
 * another policy. And Linux 6.4 refused a remount of a noswap tmpfs that
 * did not say noswap once more, so noswap is always said.
 */
static int tmpfs_remount_data(struct shmfs_store *st, const struct shmfs_store_config *o,
			      char *data, size_t n, size_t len)
{
	char now[256], what[sizeof(now) + 80];
	const char *mpol, *end;
	bool noswap_now;

	if (!shmfs_tmpfs_options_shown(st->path, now, sizeof(now)))
		return (int)n;
	noswap_now = strstr(now, "noswap") != NULL; /* no huge= or mpol= value holds it */
	if (o->tmpfs.noswap && !noswap_now)
		return remount_refused(st, "was mounted without noswap, which tmpfs cannot turn "
					   "on later");
	mpol = strstr(now, "mpol=");
	if (mpol && o->tmpfs.mpol && !strcmp(o->tmpfs.mpol, "default")) {
		/* Its value ends at the first comma not followed by a node number. */
		for (end = strchr(mpol, ','); end && isdigit((unsigned char)end[1]);
		     end = strchr(end + 1, ','))
			;
		snprintf(what, sizeof(what),
			 "has %.*s, which tmpfs does not set back to "
			 "mpol=default on a remount",
			 end ? (int)(end - mpol) : (int)strlen(mpol), mpol);
		return remount_refused(st, what);
	}
	return noswap_now ? shmfs_tmpfs_options_append(&o->tmpfs, true, data, n, len) : (int)n;
}

/*
 * The mount(2) data for the store's tmpfs: its length, 0 when it is
 * mounted already and nothing is asked of it, or -errno.
 */
static int tmpfs_data(struct shmfs_store *st, const struct shmfs_store_config *o, bool mounted,
		      char *data, size_t len)
{
	int n = 0;

	data[0] = '\0';
	if (!mounted)
		n += snprintf(data + n, len - (size_t)n, "mode=0700");
	if (o->size_set)
		n += snprintf(data + n, len - (size_t)n, "%ssize=%" PRIu64, n ? "," : "", o->size);
	if (o->nr_inodes_set)
		n += snprintf(data + n, len - (size_t)n, "%snr_inodes=%" PRIu64, n ? "," : "",
			      o->nr_inodes ? o->nr_inodes + STORE_OWN_INODES : 0);
	/* Those three always fit in the caller's buffer; the rest are checked. */
	n = shmfs_tmpfs_options_append(&o->tmpfs, false, data, (size_t)n, len);
	if (n > 0 && mounted)
		n = tmpfs_remount_data(st, o, data, (size_t)n, len);
	return n;
}

static int tmpfs_prepare(struct shmfs_store *st, const struct shmfs_store_config *o)
{
	char data[128 + SHMFS_TMPFS_MPOL_MAX + 64]; /* all of tmpfs_data() */
	unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	bool mounted;
	int err, n;

	err = mkdir_private(SHMFS_STORE_RUN_DIR);
	if (!err)
		err = mkdir_private(st->path);
	if (err)
		return err;
	mounted = is_mountpoint(st->path);
	n = tmpfs_data(st, o, mounted, data, sizeof(data));
	if (n < 0)
		return n;
	if (mounted && !n)
		return 0;
	if (mounted)
		flags |= MS_REMOUNT;
	if (mount("shmfs-store", st->path, "tmpfs", flags, data)) {
		err = -errno;
		snprintf(st->why, sizeof(st->why),
			 "cannot %s the store's tmpfs at '%s' with '%s': %s",
			 mounted ? "remount" : "mount", st->path, data, strerror(-err));
		return err;
	}
	return 0;
}

static int tmpfs_statfs(struct shmfs_store *st, struct statvfs *sv)
{
	if (fstatvfs(st->dirfd, sv))
		return -errno;
	if (sv->f_files > STORE_OWN_INODES) {
		sv->f_files -= STORE_OWN_INODES;
		if (sv->f_ffree > sv->f_files)
			sv->f_ffree = sv->f_favail = sv->f_files;
	}
	return 0;
}

/*
 * Remove one entry of the directory open at fd, of any kind: 0, or
 * -ENOTEMPTY for a directory that must be emptied first.
 */
static int remove_entry(int fd, const char *name)
{
	if (!unlinkat(fd, name, 0) || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (!unlinkat(fd, name, AT_REMOVEDIR) || errno == ENOENT)
		return 0;
	return errno == EEXIST ? -ENOTEMPTY : -errno;
}

/*
 * Empty the directory open at dirfd, however deep the tree below it (a
 * store may hold nests far deeper than PATH_MAX): through the one walker
 * (walk.h), which goes into each directory that is not empty and hands
 * it out again, to be removed, once it has been emptied.
 */
static int empty_dir(int dirfd)
{
	struct shmfs_walk w;
	const char *name;
	int err = shmfs_walk_init(&w, dirfd, SHMFS_WALK_REMOVING), ev = 0;

	while (!err && (ev = shmfs_walk_next(&w, &name)) > 0) {
		int fd = shmfs_walk_dirfd(&w);

		if (ev == SHMFS_WALK_LEFT)
			err = unlinkat(fd, name, AT_REMOVEDIR) && errno != ENOENT ? -errno : 0;
		else if ((err = remove_entry(fd, name)) == -ENOTEMPTY)
			err = shmfs_walk_down(&w, name);
	}
	if (!err && ev < 0)
		err = ev;
	shmfs_walk_release(&w);
	return err;
}

static int rm_tree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int err;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	err = empty_dir(fd);
	close(fd);
	if (!err && rmdir(path) && errno != ENOENT)
		err = -errno;
	return err;
}

static int tmpfs_destroy(const char *path)
{
	if (is_mountpoint(path) && umount2(path, MNT_DETACH))
		return -errno;
	return rm_tree(path);
}

static int dir_prepare(struct shmfs_store *st, const struct shmfs_store_config *o)
{
	if (!o->dir)
		return shmfs_store_user_prepare(st);
	return mkdir_private(st->path);
}

static const struct shmfs_store_kind store_dir;

/*
 * A directory store shares its filesystem with whatever else is on it: what
 * is used is what the store holds (counted by walking it), what is free is
 * what the filesystem has free, so "shmfs status" and df of the mount show
 * the store and nothing else. The limits the daemon keeps, size= and
 * nr_inodes=, replace those figures.
 */
static int dir_statfs(struct shmfs_store *st, struct statvfs *sv)
{
	struct shmfs_tree_usage u;
	unsigned long frsize;
	int err;

	if (fstatvfs(st->dirfd, sv))
		return -errno;
	if (!st->quota || !st->quota->max_bytes || !st->quota->max_inodes) {
		err = shmfs_store_usage(st, &u);
		if (err)
			return err;
		frsize = sv->f_frsize ? sv->f_frsize : 512;
		sv->f_blocks = sv->f_bfree + (u.file_bytes + frsize - 1) / frsize;
		if (sv->f_files)
			sv->f_files = sv->f_ffree + u.inodes;
	}
	if (st->quota)
		shmfs_quota_statfs(st->quota, sv);
	return 0;
}

/* A directory store has no kernel limits: the daemon keeps them. */
static int dir_limits(struct shmfs_store *st, const struct shmfs_store_config *o)
{
	uint64_t max_bytes = o->size_set ? o->size : 0;
	uint64_t max_inodes = o->nr_inodes_set ? o->nr_inodes : 0;
	int err;

	if (st->kind != &store_dir || (!max_bytes && !max_inodes))
		return 0;
	err = shmfs_quota_init(&st->quota_data, st->rootfd, max_bytes, max_inodes);
	if (!err)
		st->quota = &st->quota_data;
	return err;
}

static const struct shmfs_store_kind store_tmpfs = {
	.name = "tmpfs",
	.prepare = tmpfs_prepare,
	.statfs = tmpfs_statfs,
	.destroy = tmpfs_destroy,
};

static const struct shmfs_store_kind store_dir = {
	.name = "directory",
	.prepare = dir_prepare,
	.statfs = dir_statfs,
	.destroy = rm_tree,
};

/* S/root: created with the mount's mode and owner, which later mounts may change. */
static int open_root(struct shmfs_store *st, const struct shmfs_store_config *o)
{
	bool created = false;
	mode_t mode = o->mode_set ? o->mode : (geteuid() == 0 ? 01777 : 0700);
	int fd;

	if (mkdirat(st->dirfd, "root", 0700) == 0)
		created = true;
	else if (errno != EEXIST)
		return -errno;
	fd = openat(st->dirfd, "root", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	st->rootfd = fd;
	if ((created || o->mode_set) && fchmodat(st->dirfd, "root", mode, AT_SYMLINK_NOFOLLOW) &&
	    errno != ENOTSUP)
		return -errno;
	if ((o->uid_set || o->gid_set) && fchownat(fd, "", o->uid_set ? o->uid : (uid_t)-1,
						   o->gid_set ? o->gid : (gid_t)-1, AT_EMPTY_PATH))
		return -errno;
	return 0;
}

static int take_lock(struct shmfs_store *st)
{
	int fd = openat(st->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	st->lockfd = fd;
	if (flock(fd, LOCK_EX | LOCK_NB))
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	return 0;
}

static const struct shmfs_store_kind *store_kind_for(const struct shmfs_store_config *o)
{
	return (!o->dir && shmfs_caps_sys_admin()) ? &store_tmpfs : &store_dir;
}

/*
 * huge=, noswap and mpol= need a tmpfs of the store's own, and one that
 * takes them: checked before anything is made.
 */
static int check_tmpfs_options(struct shmfs_store *st, const struct shmfs_store_config *o)
{
	char first[SHMFS_TMPFS_MPOL_MAX + 8];

	if (!shmfs_tmpfs_options_any(&o->tmpfs))
		return 0;
	if (st->kind == &store_tmpfs)
		return shmfs_tmpfs_options_probe(&o->tmpfs, st->why, sizeof(st->why));
	shmfs_tmpfs_options_first(&o->tmpfs, first, sizeof(first));
	snprintf(st->why, sizeof(st->why), "'%s' is an option of the store's own tmpfs, which %s",
		 first,
		 o->dir ? "a directory store (store=DIR) does not have"
			: "a mount without CAP_SYS_ADMIN does not get (its store is a directory)");
	return -EINVAL;
}

int shmfs_store_open(struct shmfs_store *st, const struct shmfs_store_config *o,
		     const char *mountpoint, const char **why)
{
	int err;

	memset(st, 0, sizeof(*st));
	st->dirfd = st->rootfd = st->lockfd = -1;
	shmfs_usage_init(&st->usage);
	st->usage_set_up = true;
	st->kind = store_kind_for(o);
	st->size = o->size;
	*why = st->why;
	err = check_tmpfs_options(st, o);
	if (err)
		return err;
	if (o->dir) {
		err = shmfs_store_path_check(st, o->dir);
		if (err)
			return err;
	}
	st->path = o->dir ? realpath(o->dir, NULL) : shmfs_store_default_path(mountpoint);
	if (!st->path && o->dir && errno == ENOENT) {
		if (mkdir(o->dir, 0700) == 0)
			st->path = realpath(o->dir, NULL);
	}
	if (!st->path)
		return shmfs_store_fail(st, "cannot find store", o->dir ? o->dir : mountpoint,
					-errno);
	err = st->kind->prepare(st, o);
	if (err) {
		if (!st->why[0])
			shmfs_store_fail(st, "cannot prepare store", st->path, err);
		return err;
	}
	if (st->dirfd < 0)
		st->dirfd = open(st->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (st->dirfd < 0)
		return shmfs_store_fail(st, "cannot open store", st->path, -errno);
	err = take_lock(st);
	if (err)
		return shmfs_store_fail(st, "store is in use by another shmfs daemon", st->path,
					err);
	err = open_root(st, o);
	if (err)
		return shmfs_store_fail(st, "cannot set up the store's root", st->path, err);
	err = dir_limits(st, o);
	if (err)
		return shmfs_store_fail(st, "cannot count what the store holds", st->path, err);
	return 0;
}

void shmfs_store_release(struct shmfs_store *st)
{
	if (st->rootfd >= 0)
		close(st->rootfd);
	if (st->lockfd >= 0)
		close(st->lockfd);
	if (st->dirfd >= 0)
		close(st->dirfd);
	free(st->path);
	if (st->usage_set_up)
		shmfs_usage_release(&st->usage);
	st->usage_set_up = false;
	st->path = NULL;
	st->quota = NULL;
	st->dirfd = st->rootfd = st->lockfd = -1;
}

int shmfs_store_usage(struct shmfs_store *st, struct shmfs_tree_usage *u)
{
	/* S/root: the store's rootfd goes to the inode table once mounted. */
	int root = openat(st->dirfd, "root", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int err;

	if (root < 0)
		return -errno;
	err = shmfs_usage_get(&st->usage, root, u);
	close(root);
	return err;
}

int shmfs_store_statfs(struct shmfs_store *st, struct statvfs *sv)
{
	return st->kind->statfs(st, sv);
}

bool shmfs_store_tmpfs_options(struct shmfs_store *st, char *buf, size_t len)
{
	buf[0] = '\0';
	return st->kind == &store_tmpfs && shmfs_tmpfs_options_shown(st->path, buf, len);
}

int shmfs_store_discard(const char *path)
{
	char lock[PATH_MAX];
	int fd, err;

	if (snprintf(lock, sizeof(lock), "%s/lock", path) >= (int)sizeof(lock))
		return -ENAMETOOLONG;
	fd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		return err;
	}
	/* Hold the lock until the store is gone: no daemon may start on it. */
	err = is_mountpoint(path) ? store_tmpfs.destroy(path) : store_dir.destroy(path);
	close(fd);
	return err;
}
