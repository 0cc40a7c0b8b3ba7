// SPDX-License-Identifier: MIT
/*
 * The store's path: its default name for a mountpoint, and the checks
 * that refuse a path or a directory another user controls (store_path.h).
 */
#include "store_path.h"
#include "caps.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
		n = asprintf(&path, SHMFS_STORE_RUN_DIR "/%s", key);
	else if ((rtlen = runtime_dir(&rt)))
		n = asprintf(&path, "%.*s/shmfs/%s", (int)rtlen, rt, key);
	else
		n = asprintf(&path, SHMFS_STORE_SHM_DIR "/shmfs-%u/%s", (unsigned)geteuid(), key);
	free(key);
	return n < 0 ? NULL : path;
}

int shmfs_store_fail(struct shmfs_store *st, const char *what, const char *name, int err)
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
		snprintf(st->why, sizeof(st->why),
			 "not using store directory '%s': it "
			 "belongs to uid %u",
			 path, (unsigned)sb.st_uid);
		return -EPERM;
	}
	if (sb.st_mode & 022) {
		snprintf(st->why, sizeof(st->why),
			 "not using store directory '%s': other "
			 "users may write to it (mode %04o)",
			 path, (unsigned)sb.st_mode & 07777);
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
		return shmfs_store_fail(st, "cannot prepare store", path, -errno);
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
		struct stat sb;
		bool link = !fstatat(parent, name, &sb, AT_SYMLINK_NOFOLLOW) && S_ISLNK(sb.st_mode);

		snprintf(st->why, sizeof(st->why), "not using store directory '%s': it is %s", path,
			 link ? "a symbolic link" : "not a directory");
		return link ? -ELOOP : -ENOTDIR;
	}
	if (fd < 0)
		return shmfs_store_fail(st, "cannot prepare store", path, -errno);
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
				 st->path, names[i],
				 S_ISLNK(sb.st_mode) ? "is a symbolic link"
						     : "belongs to another user");
			return -EPERM;
		}
	}
	return 0;
}

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
		snprintf(st->why, sizeof(st->why),
			 "not using store '%s': any user may replace "
			 "what '%s' holds (mode %04o)",
			 given, prefix, (unsigned)sb.st_mode & 07777);
		return -EPERM;
	}
	return 0;
}

int shmfs_store_path_check(struct shmfs_store *st, const char *given)
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
		return shmfs_store_fail(st, "cannot find store", given, -errno);
	if (len >= sizeof(path))
		return shmfs_store_fail(st, "cannot find store", given, -ENAMETOOLONG);
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
int shmfs_store_user_prepare(struct shmfs_store *st)
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
		err = shmfs_store_fail(st, "cannot prepare store", st->path, -errno);
		goto out;
	}
	dir[-1] = '/'; /* the messages name BASE/DIR, then S */
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
