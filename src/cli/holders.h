/* SPDX-License-Identifier: MIT */
/*
 * Who holds a mount's segments: the processes that have one open or
 * mapped, found in /proc as fuser(1) finds them, by the file's device and
 * inode numbers. Nothing is opened on the mount, so a segment's holders
 * are not changed by looking (a transient one is not removed by a close of
 * ours), and a stopped daemon cannot stall the scan.
 */
#ifndef SHMFS_HOLDERS_H
#define SHMFS_HOLDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One process holding one inode of the mount. */
struct shmfs_holder {
	ino_t ino;
	pid_t pid;
	uid_t uid;     /* the process's effective uid */
	bool open;     /* by a file descriptor */
	bool mapped;   /* by a mapping in its address space */
	char comm[64]; /* /proc/PID/comm */
};

struct shmfs_holders {
	struct shmfs_holder *v; /* sorted by inode, then pid */
	size_t n, cap;
	size_t procs;	/* processes that hold at least one inode */
	size_t skipped; /* processes whose descriptors or maps we may not read */
};

/*
 * Find every process that holds a regular file of the file system whose
 * device number is dev. Returns 0 or a negative errno (h then holds what
 * was found so far); release h either way.
 */
int shmfs_holders_scan(struct shmfs_holders *h, dev_t dev);

/* The holders of inode ino, *count of them from the one returned. */
const struct shmfs_holder *shmfs_holders_of(const struct shmfs_holders *h, ino_t ino,
					    size_t *count);

/* How many distinct inodes have holders. */
size_t shmfs_holders_inodes(const struct shmfs_holders *h);

void shmfs_holders_release(struct shmfs_holders *h);

#endif
