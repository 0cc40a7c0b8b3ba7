// SPDX-License-Identifier: MIT
/*
 * Unit test of a segment's length under a daemon-kept size= (core/
 * segment.h): growths that do not fit fail and leave the segment as it
 * was, a write is cut short where the room ends, every page below the
 * length stays reserved (holes too), a punched hole keeps its pages, a
 * shrink gives back, and no truncation passes the mount's size (EFBIG).
 */
#include "segment.h"
#include "unit.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>

#define PAGE 4096

static bool can_allocate; /* the scratch file system has fallocate */

static off_t length(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) ? -1 : sb.st_size;
}

/* Every page below the length is allocated (where fallocate exists). */
static bool reserved(int fd)
{
	struct stat sb;

	return !can_allocate || (!fstat(fd, &sb) && (off_t)sb.st_blocks * 512 >= sb.st_size);
}

static void check_growth(const struct shmfs_segment *s, struct shmfs_quota *q)
{
	static char buf[3 * PAGE];

	CHECK_ERR(shmfs_segment_truncate(s, 4 * PAGE), 0);
	CHECK(q->bytes == 4 * PAGE && reserved(s->fd), "a growth charged and reserved");
	CHECK_ERR(shmfs_segment_truncate(s, 20 * PAGE), -ENOSPC);
	CHECK(length(s->fd) == 4 * PAGE && q->bytes == 4 * PAGE,
	      "a growth that does not fit leaves it as it was");
	CHECK(shmfs_segment_write(s, buf, PAGE, 14 * PAGE) == PAGE, "a write past the end");
	CHECK(length(s->fd) == 15 * PAGE && q->bytes == 15 * PAGE && reserved(s->fd),
	      "its hole is the segment's too: %jd bytes, %ju charged", (intmax_t)length(s->fd),
	      (uintmax_t)q->bytes);
	CHECK(shmfs_segment_write(s, buf, sizeof(buf), 15 * PAGE) == PAGE,
	      "a write cut short where the room ends");
	CHECK(length(s->fd) == 16 * PAGE && q->bytes == 16 * PAGE, "the limit, reached");
	CHECK(shmfs_segment_write(s, buf, 1, 16 * PAGE) == -ENOSPC, "no room at all: ENOSPC");
	CHECK(shmfs_segment_write(s, buf, PAGE, 0) == PAGE, "a write inside still goes");
	CHECK_ERR(shmfs_segment_fallocate(s, 0, 0, 17 * PAGE), -ENOSPC);
	CHECK_ERR(shmfs_segment_fallocate(s, FALLOC_FL_KEEP_SIZE, 0, 17 * PAGE), -EOPNOTSUPP);
	CHECK(length(s->fd) == 16 * PAGE && q->bytes == 16 * PAGE, "fallocate took nothing");
}

static void check_punch(const struct shmfs_segment *s)
{
	char c = 'x';

	CHECK(pwrite(s->fd, &c, 1, 2 * PAGE) == 1, "a byte to punch");
	CHECK_ERR(shmfs_segment_fallocate(s, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 * PAGE,
					  PAGE),
		  0);
	CHECK(pread(s->fd, &c, 1, 2 * PAGE) == 1 && c == 0, "the hole reads zeros");
	CHECK(reserved(s->fd), "and keeps its pages");
}

static void check_shrink(const struct shmfs_segment *s, struct shmfs_quota *q)
{
	CHECK_ERR(shmfs_segment_truncate(s, 2 * PAGE - 1), 0);
	CHECK(q->bytes == 2 * PAGE, "a shrink gives back: %ju", (uintmax_t)q->bytes);
	CHECK_ERR(shmfs_segment_truncate(s, -1), -EINVAL);
}

static void check_max_length(struct shmfs_segment s)
{
	s.quota = NULL;
	s.max_length = 8 * PAGE;
	CHECK_ERR(shmfs_segment_truncate(&s, 8 * PAGE + 1), -EFBIG);
	CHECK_ERR(shmfs_segment_truncate(&s, 8 * PAGE), 0);
	CHECK(ftruncate(s.fd, 12 * PAGE) == 0, "longer than the mount, from before");
	CHECK_ERR(shmfs_segment_truncate(&s, 10 * PAGE), 0); /* a shrink is no growth */
	CHECK_ERR(shmfs_segment_truncate(&s, 11 * PAGE), -EFBIG);
	s.max_length = 0;
	CHECK_ERR(shmfs_segment_truncate(&s, 100 * PAGE), 0); /* no size, no limit */
}

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	int top = unit_scratch(argc, argv, "segment", path, sizeof(path)), fd;
	struct shmfs_quota q;
	struct shmfs_segment s;

	REQUIRE_ERR(mkdirat(top, "empty", 0755), 0);
	fd = openat(top, "empty", O_PATH | O_DIRECTORY | O_CLOEXEC);
	REQUIRE_ERR(shmfs_quota_init(&q, fd, 16 * PAGE, 0), 0);
	close(fd);
	fd = openat(top, "seg", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	REQUIRE_ERR(fd < 0 ? -errno : 0, 0);
	can_allocate = !fallocate(fd, 0, 0, 1) && !ftruncate(fd, 0);
	if (!can_allocate)
		printf("segment: no fallocate here, reservations left unchecked\n");
	s = (struct shmfs_segment){ .fd = fd, .quota = &q, .reserve = true };
	check_growth(&s, &q);
	check_punch(&s);
	check_shrink(&s, &q);
	check_max_length(s);
	close(fd);
	close(top);
	return check_report("segment");
}
