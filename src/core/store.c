// SPDX-License-Identifier: MIT
/*
 * Store set-up, limits and destruction. See store.h for the layout.
 *
 * The store's own bookkeeping (its top directory, S/root and S/lock) uses
 * three inodes of a tmpfs store; nr_inodes= is raised by that much so the
 * user gets exactly the number of segments and directories asked for, and
 * statfs hides them again.
 */
#include "store.h"
#include "caps.h"
#include "walk.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
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
#define RUN_DIR "/run/shmfs"
#define SHM_DIR "/dev/shm"

/* "/mnt/shm" -> "mnt-shm"; bytes other than [A-Za-z0-9_.] as \xNN. */
static char *escape_path(const char *p)
{
	size_t n = strlen(p);
	char *out = malloc(4 * n + 2), *q = out;

	if (!out)
		return NULL;
	while (*p == '/')
		p++;
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '/')
			*q++ = '-';
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '_' || c == '.')
			*q++ = (char)c;
		else
			q += sprintf(q, "\\x%02x", c);
	}
	if (q == out)
		*q++ = '-';
	*q = '\0';
	return out;
}

/*
 * The runtime directory that logind makes for the user ($XDG_RUNTIME_DIR, a
 * private tmpfs), if it is one: an absolute path to a directory of the
 * user's own, mode 0700, not a symbolic link. Returns its length without
 * trailing slashes, or 0.
 */
static size_t runtime_dir(const char **dirp)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	struct stat sb;
	size_t n;

	if (!dir || dir[0] != '/' || lstat(dir, &sb) || !S_ISDIR(sb.st_mode) ||
	    sb.st_uid != geteuid() || (sb.st_mode & 077))
		return 0;
	for (n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
		;
	*dirp = dir;
	return n;
}

char *shmfs_store_default_path(const char *mountpoint)
{
	char *key = escape_path(mountpoint), *path = NULL;
	const char *rt;
	size_t rtlen;
	int n;

	if (!key)
		return NULL;
	if (shmfs_caps_sys_admin())
		n = asprintf(&path, RUN_DIR "/%s", key);
	else if ((rtlen = runtime_dir(&rt)))
		n = asprintf(&path, "%.*s/shmfs/%s", (int)rtlen, rt, key);
	else
		n = asprintf(&path, SHM_DIR "/shmfs-%u/%s", (unsigned)geteuid(), key);
	free(key);
	return n < 0 ? NULL : path;
}

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

	if (parent_dir(path, parent, sizeof(parent)) || stat(path, &a) ||
	    stat(parent, &b))
		return false;
	return a.st_dev != b.st_dev;
}

static int tmpfs_prepare(struct shmfs_store *st, const struct shmfs_store_config *o)
{
	char data[128];
	size_t n = 0;
	unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	bool mounted;
	int err;

	err = mkdir_private(RUN_DIR);
	if (!err)
		err = mkdir_private(st->path);
	if (err)
		return err;
	mounted = is_mountpoint(st->path);
	data[0] = '\0';
	if (!mounted)
		n += snprintf(data + n, sizeof(data) - n, "mode=0700");
	if (o->size_set)
		n += snprintf(data + n, sizeof(data) - n, "%ssize=%" PRIu64,
			      n ? "," : "", o->size);
	if (o->nr_inodes_set)
		n += snprintf(data + n, sizeof(data) - n, "%snr_inodes=%" PRIu64,
			      n ? "," : "",
			      o->nr_inodes ? o->nr_inodes + STORE_OWN_INODES : 0);
	if (mounted && !n)
		return 0;
	if (mounted)
		flags |= MS_REMOUNT;
	if (mount("shmfs-store", st->path, "tmpfs", flags, data))
		return -errno;
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

/* The message for a failure of step what: "WHAT 'S': ERROR". */
static int store_fail(struct shmfs_store *st, const char *what, const char *name, int err)
{
	snprintf(st->why, sizeof(st->why), "%s '%s': %s", what, name, strerror(-err));
	return err;
}

/*
 * Why the directory open at fd (named path) is not one that the daemon's
 * user alone controls, in st->why; or 0 when it is. Other users may not
 * write to it, and a directory that they may read becomes private.
 */
static int check_own_dir(struct shmfs_store *st, int fd, const char *path)
{
	struct stat sb;

	if (fstat(fd, &sb))
		return -errno;
	if (sb.st_uid != geteuid()) {
		snprintf(st->why, sizeof(st->why), "not using store directory '%s': it "
			 "belongs to uid %u", path, (unsigned)sb.st_uid);
		return -EPERM;
	}
	if (sb.st_mode & 022) {
		snprintf(st->why, sizeof(st->why), "not using store directory '%s': other "
			 "users may write to it (mode %04o)", path, (unsigned)sb.st_mode & 07777);
		return -EPERM;
	}
	if ((sb.st_mode & 07777) != 0700 && fchmod(fd, 0700))
		return -errno;
	return 0;
}

/*
 * Make or open directory name of the directory open at parent, refusing
 * anything another user controls or could swap: a symbolic link, a
 * directory of theirs, one they may write to. path is its full name, for
 * the message. Returns a descriptor or -errno, with st->why set.
 */
static int own_dir_at(struct shmfs_store *st, int parent, const char *name, const char *path)
{
	int fd, err;

	if (mkdirat(parent, name, 0700) && errno != EEXIST)
		return store_fail(st, "cannot prepare store", path, -errno);
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
		struct stat sb;
		bool link = !fstatat(parent, name, &sb, AT_SYMLINK_NOFOLLOW) &&
			    S_ISLNK(sb.st_mode);

		snprintf(st->why, sizeof(st->why), "not using store directory '%s': it is %s",
			 path, link ? "a symbolic link" : "not a directory");
		return link ? -ELOOP : -ENOTDIR;
	}
	if (fd < 0)
		return store_fail(st, "cannot prepare store", path, -errno);
	err = check_own_dir(st, fd, path);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* What S holds must be the user's too: S/root and S/lock, if there. */
static int check_own_entries(struct shmfs_store *st, int fd)
{
	static const char *const names[] = { "root", "lock" };
	struct stat sb;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (fstatat(fd, names[i], &sb, AT_SYMLINK_NOFOLLOW))
			continue;
		if (S_ISLNK(sb.st_mode) || sb.st_uid != geteuid()) {
			snprintf(st->why, sizeof(st->why), "not using store '%s': its '%s' %s",
				 st->path, names[i], S_ISLNK(sb.st_mode) ?
				 "is a symbolic link" : "belongs to another user");
			return -EPERM;
		}
	}
	return 0;
}

/*
 * Whether a store= path can be trusted as it is written: every component
 * that exists must belong to root or to the daemon's user (a symbolic link
 * too), and no directory on the way may let other users swap its entries
 * (writable by them without the sticky bit). Otherwise another user's
 * link, say /dev/shm/store -> /etc, would send the store, and a later
 * discard, anywhere. 0, or -errno with st->why set.
 */
/* Refuse the existing component prefix (of store given) if it is not trustworthy. */
static int check_component(struct shmfs_store *st, const char *given, const char *prefix,
			   bool *exists)
{
	struct stat sb;

	*exists = !lstat(prefix, &sb);
	if (!*exists)
		return 0;
	if (sb.st_uid != 0 && sb.st_uid != geteuid()) {
		snprintf(st->why, sizeof(st->why), "not using store '%s': '%s' belongs to uid %u",
			 given, prefix, (unsigned)sb.st_uid);
		return -EPERM;
	}
	if (S_ISDIR(sb.st_mode) && (sb.st_mode & S_IWOTH) && !(sb.st_mode & S_ISVTX)) {
		snprintf(st->why, sizeof(st->why), "not using store '%s': any user may replace "
			 "what '%s' holds (mode %04o)", given, prefix, (unsigned)sb.st_mode & 07777);
		return -EPERM;
	}
	return 0;
}

static int check_store_path(struct shmfs_store *st, const char *given)
{
	char path[PATH_MAX];
	size_t len;
	bool exists = true;
	int err = 0;

	if (given[0] == '/')
		len = (size_t)snprintf(path, sizeof(path), "%s", given);
	else if (getcwd(path, sizeof(path)))
		len = strlen(path) + (size_t)snprintf(path + strlen(path),
						      sizeof(path) - strlen(path), "/%s", given);
	else
		return store_fail(st, "cannot find store", given, -errno);
	if (len >= sizeof(path))
		return store_fail(st, "cannot find store", given, -ENAMETOOLONG);
	err = check_component(st, given, "/", &exists);
	/* Each prefix that ends at a '/' or at the end; what is missing the daemon makes. */
	for (size_t i = 1; !err && exists && i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		err = check_component(st, given, path, &exists);
		if (i < len)
			path[i] = '/';
	}
	return err;
}

/*
 * The default store of a user without CAP_SYS_ADMIN, BASE/DIR/KEY (see
 * shmfs_store_default_path()): BASE is /dev/shm, which every user may
 * write to, or the user's runtime directory. Another user may have made
 * BASE/DIR or BASE/DIR/KEY first, as a directory of theirs or a link: each
 * is checked through the descriptor of its parent and refused, by name,
 * unless the user alone controls it. S is left open in st->dirfd.
 */
static int user_store_prepare(struct shmfs_store *st)
{
	char *path = strdup(st->path), *key, *dir;
	int base = -1, mid = -1, err = -ENOMEM;

	if (!path)
		goto out;
	key = strrchr(path, '/');
	*key++ = '\0';
	dir = strrchr(path, '/');
	*dir++ = '\0';
	base = open(*path ? path : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (base < 0) {
		err = store_fail(st, "cannot prepare store", st->path, -errno);
		goto out;
	}
	dir[-1] = '/';	/* the messages name BASE/DIR, then S */
	mid = own_dir_at(st, base, dir, path);
	if (mid < 0) {
		err = mid;
		goto out;
	}
	st->dirfd = own_dir_at(st, mid, key, st->path);
	if (st->dirfd < 0) {
		err = st->dirfd;
		goto out;
	}
	err = check_own_entries(st, st->dirfd);
out:
	if (mid >= 0)
		close(mid);
	if (base >= 0)
		close(base);
	free(path);
	return err;
}

static int dir_prepare(struct shmfs_store *st, const struct shmfs_store_config *o)
{
	if (!o->dir)
		return user_store_prepare(st);
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
	int root, err;

	if (fstatvfs(st->dirfd, sv))
		return -errno;
	if (!st->quota || !st->quota->max_bytes || !st->quota->max_inodes) {
		root = openat(st->dirfd, "root", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (root < 0)
			return -errno;
		err = shmfs_tree_usage(root, &u);
		close(root);
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
	if ((created || o->mode_set) &&
	    fchmodat(st->dirfd, "root", mode, AT_SYMLINK_NOFOLLOW) && errno != ENOTSUP)
		return -errno;
	if ((o->uid_set || o->gid_set) &&
	    fchownat(fd, "", o->uid_set ? o->uid : (uid_t)-1,
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

int shmfs_store_open(struct shmfs_store *st, const struct shmfs_store_config *o,
		     const char *mountpoint, const char **why)
{
	int err;

	memset(st, 0, sizeof(*st));
	st->dirfd = st->rootfd = st->lockfd = -1;
	st->kind = store_kind_for(o);
	*why = st->why;
	if (o->dir) {
		err = check_store_path(st, o->dir);
		if (err)
			return err;
	}
	st->path = o->dir ? realpath(o->dir, NULL) : shmfs_store_default_path(mountpoint);
	if (!st->path && o->dir && errno == ENOENT) {
		if (mkdir(o->dir, 0700) == 0)
			st->path = realpath(o->dir, NULL);
	}
	if (!st->path)
		return store_fail(st, "cannot find store", o->dir ? o->dir : mountpoint,
				  -errno);
	err = st->kind->prepare(st, o);
	if (err) {
		if (!st->why[0])
			store_fail(st, "cannot prepare store", st->path, err);
		return err;
	}
	if (st->dirfd < 0)
		st->dirfd = open(st->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (st->dirfd < 0)
		return store_fail(st, "cannot open store", st->path, -errno);
	err = take_lock(st);
	if (err)
		return store_fail(st, "store is in use by another shmfs daemon", st->path, err);
	err = open_root(st, o);
	if (err)
		return store_fail(st, "cannot set up the store's root", st->path, err);
	err = dir_limits(st, o);
	if (err)
		return store_fail(st, "cannot count what the store holds", st->path, err);
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
	st->path = NULL;
	st->quota = NULL;
	st->dirfd = st->rootfd = st->lockfd = -1;
}

int shmfs_store_statfs(struct shmfs_store *st, struct statvfs *sv)
{
	return st->kind->statfs(st, sv);
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
