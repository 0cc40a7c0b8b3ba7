// SPDX-License-Identifier: MIT
/*
 * Segment lengths and the store's pages for them (see segment.h).
 *
 * Every growth is charged to the size limit first and given back if it
 * fails, so the charge never falls short of what the store holds; a
 * shrink is given back once it is done.
 */
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static bool limited(const struct shmfs_segment *s)
{
	return s->quota && s->quota->max_bytes;
}

/* Charge a change of length from old to *len (see shmfs_quota_resize). */
static int charge(const struct shmfs_segment *s, off_t old, off_t *len, bool partial)
{
	return limited(s) ? shmfs_quota_resize(s->quota, old, len, partial) : 0;
}

/* Move the charge from charged to the length the segment really has. */
static void settle(const struct shmfs_segment *s, off_t charged, off_t len)
{
	if (limited(s) && charged != len)
		shmfs_quota_resize(s->quota, charged, &len, false);
}

/*
 * Is there room for n more bytes on the store's file system? Asked before
 * an allocation, so that one far past the free space fails at once instead
 * of first filling the file system (a disk does not give back a partial
 * fallocate by itself). A file system that reports no size (tmpfs with
 * size=0) answers for itself.
 */
static int room_for(int fd, off_t n)
{
	struct statvfs sv;

	if (n <= 0 || fstatvfs(fd, &sv) || !sv.f_blocks)
		return 0;
	return (uint64_t)n > (uint64_t)sv.f_bavail * sv.f_frsize ? -ENOSPC : 0;
}

/* Undo a growth: the length back to len (nothing better is left to do if that fails). */
static void undo_growth(int fd, off_t len)
{
	if (ftruncate(fd, len))
		return;
}

/*
 * Allocate [from, to) of the backing file, which is old bytes long,
 * growing it to `to` if that is longer. On failure it is old bytes long
 * again, with no page past that left allocated.
 */
static int reserve(int fd, off_t old, off_t from, off_t to)
{
	int err = room_for(fd, to - (from > old ? from : old));

	/*
	 * EPERM: immutable (chattr +i), yet growing through a descriptor
	 * opened before: it gets the hole it can give, as tmpfs does.
	 */
	if (!err && fallocate(fd, 0, from, to - from))
		err = errno == EPERM ? -EOPNOTSUPP : -errno;
	if (err && err != -EOPNOTSUPP)
		undo_growth(fd, old);
	return err;
}

int shmfs_segment_truncate(const struct shmfs_segment *s, off_t len)
{
	struct stat sb;
	off_t want = len;
	int err;

	if (len < 0)
		return -EINVAL;
	if (fstat(s->fd, &sb))
		return -errno;
	if (s->max_length && (uint64_t)len > s->max_length && len > sb.st_size)
		return -EFBIG;
	if (len <= sb.st_size) {
		if (ftruncate(s->fd, len))
			return -errno;
		settle(s, sb.st_size, len);
		return 0;
	}
	err = charge(s, sb.st_size, &want, false);
	if (err)
		return err;
	err = s->reserve ? reserve(s->fd, sb.st_size, sb.st_size, len) : -EOPNOTSUPP;
	/* A file system without fallocate gets the hole it can give. */
	if (err == -EOPNOTSUPP)
		err = ftruncate(s->fd, len) ? -errno : 0;
	if (err)
		settle(s, len, sb.st_size);
	return err;
}

ssize_t shmfs_segment_write(const struct shmfs_segment *s, const void *buf, size_t size, off_t off)
{
	off_t end = off + (off_t)size, charged = end, kept;
	bool hole;
	struct stat sb;
	ssize_t n;
	int err;

	if (fstat(s->fd, &sb))
		return -errno;
	if (end <= sb.st_size || !size) {
		n = pwrite(s->fd, buf, size, off);
		return n < 0 ? -errno : n;
	}
	/* A write that only partly fits is cut short, as on a full tmpfs. */
	err = charge(s, sb.st_size, &charged, true);
	if (!err && charged <= off) {
		settle(s, charged, sb.st_size);
		err = -ENOSPC;
	}
	if (err)
		return err;
	if (charged < end)
		size = (size_t)(charged - off);
	/* The hole below the write is the segment's too. */
	hole = s->reserve && off > sb.st_size;
	if (hole) {
		err = reserve(s->fd, sb.st_size, sb.st_size, off);
		if (err == -EOPNOTSUPP)
			hole = false;
		else if (err) {
			settle(s, charged, sb.st_size);
			return err;
		}
	}
	n = pwrite(s->fd, buf, size, off);
	err = -errno;
	kept = n > 0 && off + n > sb.st_size ? off + n : sb.st_size;
	if (n <= 0 && hole)
		undo_growth(s->fd, sb.st_size);
	settle(s, charged, kept);
	return n < 0 ? err : n;
}

/*
 * Zero [off, off + len) where the segment has pages, and keep them: a
 * hole punched in a segment whose every page must stay reserved. Zeroing
 * in place needs no new page, where punching and allocating again could
 * lose the pages to another segment in between. tmpfs has no
 * FALLOC_FL_ZERO_RANGE, so there the zeros are written.
 */
static int zero_kept(int fd, off_t off, off_t len)
{
	static const char zeros[64 << 10];
	off_t end = off + len, from;
	struct stat sb;
	ssize_t n;

	if (fstat(fd, &sb))
		return -errno;
	if (end > sb.st_size) {
		/* Past the end nothing is kept: what is there goes. */
		from = off > sb.st_size ? off : sb.st_size;
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, from, end - from))
			return -errno;
		end = sb.st_size;
	}
	if (off >= end)
		return 0;
	if (!fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, end - off))
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	for (; off < end; off += n) {
		n = pwrite(fd, zeros,
			   end - off < (off_t)sizeof(zeros) ? (size_t)(end - off) : sizeof(zeros),
			   off);
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
	}
	return 0;
}

/* fallocate() mode 0: allocate, and grow when the range ends past the end. */
static int allocate(const struct shmfs_segment *s, off_t off, off_t len)
{
	off_t end = off + len, want;
	struct stat sb;
	int err;

	if (fstat(s->fd, &sb))
		return -errno;
	want = end > sb.st_size ? end : sb.st_size;
	err = charge(s, sb.st_size, &want, false);
	if (err)
		return err;
	err = reserve(s->fd, sb.st_size, off, end);
	if (err)
		settle(s, want, sb.st_size);
	return err;
}

int shmfs_segment_fallocate(const struct shmfs_segment *s, int mode, off_t off, off_t len)
{
	if ((mode & FALLOC_FL_PUNCH_HOLE) && s->reserve)
		return zero_kept(s->fd, off, len);
	if (mode == 0)
		return allocate(s, off, len);
	/* Under a size limit, no space beyond the end that no length shows. */
	if (limited(s) && !(mode & FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	return fallocate(s->fd, mode, off, len) ? -errno : 0;
}
