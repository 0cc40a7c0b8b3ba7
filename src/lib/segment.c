// SPDX-License-Identifier: MIT
/*
 * Segments: opening a segment file by name (open-existing, create-or-open,
 * create-exclusive), growing it, removing it, and saying what went wrong in
 * words that name the segment. Names are reached as beneath.c says: no
 * symbolic link is ever followed.
 *
 * Growing must never shrink a segment that another process grew further at
 * the same moment, so it asks the filesystem to extend the file with
 * fallocate() over its last byte, which only ever raises the size; only
 * where fallocate() is not offered does it fall back to ftruncate().
 */
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define SHMFS_OPEN_ALL (SHMFS_OPEN_CREATE | SHMFS_OPEN_EXCL | SHMFS_TRANSIENT | SHMFS_RDONLY)

/* Open the last component of P as FLAGS ask; *created tells whether this
 * call made it. */
static int open_last(const struct shmfs_parent *p, int flags, bool *created)
{
	int oflags =
		O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | ((flags & SHMFS_RDONLY) ? O_RDONLY : O_RDWR);
	bool creating = flags & (SHMFS_OPEN_CREATE | SHMFS_OPEN_EXCL);
	int fd;

	/* Bounded: each round means another process removed or created the
	 * segment between our two calls. */
	for (int round = 0; round < 100; round++) {
		if (creating) {
			fd = openat(p->dirfd, p->last, oflags | O_CREAT | O_EXCL, 0666);
			if (fd >= 0) {
				*created = true;
				return fd;
			}
			if (errno != EEXIST || (flags & SHMFS_OPEN_EXCL))
				return -errno;
		}
		fd = openat(p->dirfd, p->last, oflags);
		if (fd >= 0) {
			*created = false;
			return fd;
		}
		if (errno != ENOENT || !creating)
			return -errno;
	}
	return -EAGAIN;
}

/* The daemon's ioctl on a shmfs mount; elsewhere (a plain directory), the attribute. */
static int mark_transient(int fd)
{
	int on = 1;

	if (!ioctl(fd, SHMFS_IOC_SET_TRANSIENT, &on))
		return 0;
	if (errno != ENOTTY)
		return -errno;
	if (fsetxattr(fd, SHMFS_XATTR_TRANSIENT, "1", 1, 0) < 0)
		return -errno;
	return 0;
}

static int check_regular(int fd, uint64_t size, int flags)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	/* A read-only opener cannot grow the segment to the size it needs. */
	if ((flags & SHMFS_RDONLY) && (uint64_t)st.st_size < size)
		return -EINVAL;
	return 0;
}

static int segment_new(const char *name, const char *path, int fd, int flags,
		       struct shmfs_segment **segp)
{
	struct shmfs_segment *seg = calloc(1, sizeof(*seg));

	if (!seg)
		return -ENOMEM;
	seg->name = strdup(name);
	seg->path = strdup(path);
	if (!seg->name || !seg->path) {
		free(seg->name);
		free(seg->path);
		free(seg);
		return -ENOMEM;
	}
	seg->fd = fd;
	seg->flags = flags;
	*segp = seg;
	return 0;
}

int shmfs_segment_open(const char *name, uint64_t size, int flags, struct shmfs_segment **segp)
{
	char path[PATH_MAX];
	struct shmfs_segment tmp;
	struct shmfs_parent parent;
	bool created = false;
	struct stat st;
	int fd, err;

	if ((flags & ~SHMFS_OPEN_ALL) ||
	    ((flags & SHMFS_RDONLY) && (flags & (SHMFS_OPEN_CREATE | SHMFS_OPEN_EXCL))))
		return -EINVAL;
	err = shmfs_name_resolve(name, path, sizeof(path));
	if (err)
		return err;
	err = shmfs_parent_open(&parent, name, flags & (SHMFS_OPEN_CREATE | SHMFS_OPEN_EXCL));
	if (err)
		goto out_parent;
	fd = open_last(&parent, flags, &created);
	if (fd < 0) {
		err = fd;
		goto out_parent;
	}
	err = check_regular(fd, size, flags);
	if (err)
		goto out_close;
	if (created && (flags & SHMFS_TRANSIENT)) {
		err = mark_transient(fd);
		if (err)
			goto out_unlink;
	}
	tmp = (struct shmfs_segment){ .fd = fd, .flags = flags };
	if (size && !(flags & SHMFS_RDONLY)) {
		err = shmfs_segment_grow(&tmp, size);
		if (err)
			goto out_unlink;
	}
	err = segment_new(name, path, fd, flags, segp);
	if (err)
		goto out_unlink;
	shmfs_parent_release(&parent);
	return 0;

out_unlink:
	/* Leave nothing half-made behind: a new segment goes again, if the
	 * name still holds it. */
	if (created && !fstat(fd, &st))
		shmfs_parent_unlink(&parent, &st);
out_close:
	close(fd);
out_parent:
	shmfs_parent_release(&parent);
	return err;
}

void shmfs_segment_close(struct shmfs_segment *seg)
{
	if (!seg)
		return;
	close(seg->fd);
	free(seg->name);
	free(seg->path);
	free(seg);
}

int shmfs_segment_size(struct shmfs_segment *seg, uint64_t *sizep)
{
	struct stat st;

	if (fstat(seg->fd, &st) < 0)
		return -errno;
	*sizep = (uint64_t)st.st_size;
	return 0;
}

int shmfs_segment_grow(struct shmfs_segment *seg, uint64_t size)
{
	uint64_t now;
	int err;

	if (seg->flags & SHMFS_RDONLY)
		return -EBADF;
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	err = shmfs_segment_size(seg, &now);
	if (err || now >= size)
		return err;
	/* Extends the file if it is shorter, never shortens it. */
	if (fallocate(seg->fd, 0, (off_t)size - 1, 1) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	/* ftruncate() can undo a larger concurrent grow; check and redo. */
	for (int round = 0; round < 100; round++) {
		if (ftruncate(seg->fd, (off_t)size) < 0)
			return -errno;
		err = shmfs_segment_size(seg, &now);
		if (err || now >= size)
			return err;
	}
	return -EAGAIN;
}

int shmfs_segment_fd(const struct shmfs_segment *seg)
{
	return seg->fd;
}

const char *shmfs_segment_path(const struct shmfs_segment *seg)
{
	return seg->path;
}

const char *shmfs_segment_name(const struct shmfs_segment *seg)
{
	return seg->name;
}

int shmfs_segment_unlink(const char *name)
{
	struct shmfs_parent parent;
	int err = shmfs_parent_open(&parent, name, false);

	if (!err)
		err = shmfs_parent_unlink(&parent, NULL);
	shmfs_parent_release(&parent);
	return err;
}

/* The name, with control characters shown as '?', to keep one line. */
static void name_printable(const char *name, char *out, size_t len)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < len; i++) {
		unsigned char c = (unsigned char)name[i];

		out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[i] = '\0';
}

/* The message for ERR about segment NAME, shown as SHOWN. */
static int error_print(const char *name, const char *shown, int err, char *buf, size_t len)
{
	const char *dir = shmfs_name_dir();
	char ebuf[128];
	struct stat st;

	switch (err) {
	case ENOENT:
		if (stat(dir, &st) < 0)
			return snprintf(buf, len,
					"cannot reach segment '%s': "
					"'%s' does not exist (is shmfs mounted?)",
					shown, dir);
		return snprintf(buf, len, "segment '%s' does not exist", shown);
	case EEXIST: return snprintf(buf, len, "segment '%s' already exists", shown);
	case EINVAL:
		if (!shmfs_name_validate(name))
			break;
		return snprintf(buf, len, "invalid segment name '%s'", shown);
	case ENAMETOOLONG: return snprintf(buf, len, "segment name '%s' is too long", shown);
	case EACCES:
	case EPERM: return snprintf(buf, len, "permission denied for segment '%s'", shown);
	case EISDIR: return snprintf(buf, len, "'%s' is a directory, not a segment", shown);
	case ENOSPC: return snprintf(buf, len, "no space left for segment '%s'", shown);
	case EPROTO: return snprintf(buf, len, "segment '%s' is not a mailbox", shown);
	case ELOOP:
		return snprintf(buf, len,
				"segment '%s' is reached through a symbolic "
				"link, which is never followed",
				shown);
	}
	return snprintf(buf, len, "segment '%s': %s", shown, strerror_r(err, ebuf, sizeof(ebuf)));
}

int shmfs_segment_error(const char *name, int err, char *buf, size_t len)
{
	char shown[PATH_MAX];
	int n;

	if (!len)
		return -ENAMETOOLONG;
	if (!name)
		name = "";
	name_printable(name, shown, sizeof(shown));
	n = error_print(name, shown, err < 0 ? -err : err, buf, len);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}
