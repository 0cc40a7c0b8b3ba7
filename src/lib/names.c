// SPDX-License-Identifier: MIT
/*
 * Segment names: what a valid name is, and where a name lives. A name is a
 * relative path below the mount directory ($SHMFS_DIR, else /mnt/shm);
 * nothing here touches the filesystem.
 */
#include "shmfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *shmfs_name_dir(void)
{
	const char *dir = getenv("SHMFS_DIR");

	return dir && *dir ? dir : SHMFS_DEFAULT_DIR;
}

/* Check one component, name[0..len). */
static int component_validate(const char *comp, size_t len)
{
	if (len == 0)
		return -EINVAL;
	if (len > SHMFS_NAME_MAX)
		return -ENAMETOOLONG;
	if ((len == 1 && comp[0] == '.') || (len == 2 && comp[0] == '.' && comp[1] == '.'))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)comp[i];

		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
	}
	return 0;
}

int shmfs_name_validate(const char *name)
{
	const char *p;

	if (!name || !*name || *name == '/')
		return -EINVAL;
	for (p = name;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		int err = component_validate(p, len);

		if (err)
			return err;
		if (!slash)
			return 0;
		p = slash + 1;
	}
}

int shmfs_name_resolve(const char *name, char *buf, size_t len)
{
	const char *dir = shmfs_name_dir();
	size_t dlen = strlen(dir);
	int err = shmfs_name_validate(name);
	int n;

	if (err)
		return err;
	/* "/mnt/shm/" and "/mnt/shm" give the same path; "/" gives "/NAME". */
	while (dlen > 0 && dir[dlen - 1] == '/')
		dlen--;
	n = snprintf(buf, len, "%.*s/%s", (int)dlen, dir, name);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}
