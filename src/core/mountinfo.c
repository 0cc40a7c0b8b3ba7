// SPDX-License-Identifier: MIT
/*
 * Reading /proc/self/mountinfo. Fields there escape space, tab, newline
 * and backslash as octal (\040); the mount point is the fifth field and
 * the filesystem type the first after the " - " separator.
 */
#include "mountinfo.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/*
 * Find the last mount at path; copy its device, filesystem type and
 * superblock options (any of them may be NULL).
 */
static bool lookup_all(const char *path, char *dev, size_t dlen, char *fstype, size_t len,
		       char *opts, size_t olen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, *save, *mp, *sep, *majmin;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		/* Later lines are mounted on top of earlier ones: keep the last. */
		strtok_r(line, " ", &save);
		strtok_r(NULL, " ", &save);
		majmin = strtok_r(NULL, " ", &save);
		strtok_r(NULL, " ", &save);
		mp = strtok_r(NULL, " ", &save);
		sep = save ? strstr(save, " - ") : NULL;
		if (!mp || !sep)
			continue;
		unescape(mp);
		if (strcmp(mp, path))
			continue;
		found = true;
		sep += 3;
		if (fstype)
			snprintf(fstype, len, "%.*s", (int)strcspn(sep, " "), sep);
		if (dev)
			snprintf(dev, dlen, "%s", majmin);
		if (opts) {
			/* " - TYPE SOURCE OPTIONS" */
			const char *o = strchr(sep, ' ');

			o = o ? strchr(o + 1, ' ') : NULL;
			snprintf(opts, olen, "%.*s", o ? (int)strcspn(o + 1, " \n") : 0,
				 o ? o + 1 : "");
		}
	}
	free(line);
	fclose(f);
	return found;
}

static bool lookup(const char *path, char *dev, size_t dlen, char *fstype, size_t len)
{
	return lookup_all(path, dev, dlen, fstype, len, NULL, 0);
}

bool shmfs_mountinfo_owner(const char *path, uid_t *uid)
{
	char opts[1024], *p;

	if (!lookup_all(path, NULL, 0, NULL, 0, opts, sizeof(opts)))
		return false;
	for (p = opts; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (!strncmp(p, "user_id=", 8)) {
			*uid = (uid_t)strtoul(p + 8, NULL, 10);
			return true;
		}
	}
	return false;
}

bool shmfs_mountinfo_options(const char *path, char *fstype, size_t tlen, char *opts, size_t olen)
{
	return lookup_all(path, NULL, 0, fstype, tlen, opts, olen);
}

bool shmfs_mountinfo_lookup(const char *path, char *fstype, size_t len)
{
	char dev[32];

	return lookup(path, dev, sizeof(dev), fstype, len);
}

bool shmfs_mountinfo_device(const char *path, char *dev, size_t len)
{
	char fstype[64];

	return lookup(path, dev, len, fstype, sizeof(fstype));
}

bool shmfs_mountinfo_is_shmfs(const char *path)
{
	char fstype[64];

	return shmfs_mountinfo_lookup(path, fstype, sizeof(fstype)) &&
	       !strcmp(fstype, "fuse.shmfs");
}

/*
 * A shmfs mount whose daemon is gone fails requests with ENOTCONN. Just
 * after the death of a daemon that used io_uring, whose teardown the
 * kernel finishes a little later, a request may still be queued and then
 * fail with ECONNABORTED. Attributes may come from the kernel's cache;
 * statfs always asks the daemon.
 */
enum shmfs_mount_state shmfs_mountinfo_shmfs_state(const char *path)
{
	struct statvfs sv;

	if (!shmfs_mountinfo_is_shmfs(path))
		return SHMFS_MOUNT_NONE;
	if (statvfs(path, &sv) < 0 && (errno == ENOTCONN || errno == ECONNABORTED))
		return SHMFS_MOUNT_DEAD;
	return SHMFS_MOUNT_LIVE;
}

char *shmfs_abspath(const char *path)
{
	char *copy = strdup(path), *slash, *dir, *res = NULL;
	const char *base;

	if (!copy)
		return NULL;
	while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/')
		copy[strlen(copy) - 1] = '\0';
	slash = strrchr(copy, '/');
	if (!slash) {
		base = copy;
		dir = realpath(".", NULL);
	} else if (slash == copy) {
		base = copy + 1;
		dir = strdup("/");
	} else {
		*slash = '\0';
		base = slash + 1;
		dir = realpath(copy, NULL);
	}
	if (dir) {
		if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
			res = realpath(path, NULL);
		else if (asprintf(&res, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", base) < 0)
			res = NULL;
	}
	free(dir);
	free(copy);
	return res;
}
