/* SPDX-License-Identifier: MIT */
/*
 * What the core's unit tests share, besides the check counters
 * (../check.h): a scratch directory of their own under the directory the
 * suite gives them (argv[1], the test's BATS_TEST_TMPDIR), and files of a
 * given length in it. They link shmfs_core alone: no mount, no libfuse.
 */
#ifndef SHMFS_TESTS_UNIT_H
#define SHMFS_TESTS_UNIT_H

#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* The scratch directory NAME under argv[1], made empty; exits if it cannot be. */
static inline int unit_scratch(int argc, char **argv, const char *name, char *path, size_t len)
{
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SCRATCH-DIR\n", argv[0]);
		exit(2);
	}
	snprintf(path, len, "%s/%s", argv[1], name);
	if (mkdir(path, 0755)) {
		perror(path);
		exit(2);
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		exit(2);
	}
	return fd;
}

/* Make dirfd/name, len bytes long (a hole). 0 or -errno. */
static inline int unit_file(int dirfd, const char *name, off_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644), err = 0;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, len))
		err = -errno;
	close(fd);
	return err;
}

#endif
