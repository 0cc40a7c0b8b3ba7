/* SPDX-License-Identifier: MIT */
/*
 * Which files some process maps, read from every /proc/PID/maps, in a way
 * no process can stall.
 *
 * Opening or reading a process's maps waits for locks of that process
 * (its exec lock, its mmap lock), and a user can hold them for as long as
 * they like: a process in execve() that waits for a read from a hung FUSE
 * file system keeps its exec lock. So the maps are read by a worker
 * thread, and the caller watches it: a process whose maps give no answer
 * within SHMFS_MAPSCAN_STALL_MS is left to the worker (which waits on in a
 * killable sleep, and goes once the process moves), and a new worker goes
 * on from the next process. Such a process counts as mapping nothing:
 * it is stuck in exec, whose first act is to drop its old mappings, or on
 * a hung mapping its owner made; either way no other process is held up
 * by it. Later scans skip it while its worker waits.
 */
#ifndef SHMFS_MAPSCAN_H
#define SHMFS_MAPSCAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SHMFS_MAPSCAN_STALL_MS 1000
/* Workers left waiting on stuck processes at most; then scans give up. */
#define SHMFS_MAPSCAN_STUCK_MAX 8

struct shmfs_mapkey {
	dev_t dev;
	ino_t ino;
	atomic_bool mapped; /* out */
};

/*
 * Set keys[i].mapped for the keys[0..n) (sorted by ino) that some
 * process maps: as (dev, ino), or as (alt_dev, ino) when alt_dev is not
 * 0 (a passthrough mapping shows as the FUSE file with the backing inode
 * number). 0, or -errno when the scan could not be made (then nothing is
 * known: treat every key as mapped).
 */
int shmfs_mapscan(struct shmfs_mapkey *keys, size_t n, dev_t alt_dev);

/* Workers now waiting on stuck processes (for status and tests). */
unsigned int shmfs_mapscan_stuck(void);

#endif
