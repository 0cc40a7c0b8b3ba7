/* SPDX-License-Identifier: MIT */
/*
 * One mounted shmfs: the state that every request handler reaches through
 * fuse_req_userdata(). Set up by daemon.c, used by ops.c.
 */
#ifndef SHMFS_FS_H
#define SHMFS_FS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>
#include <fuse_lowlevel.h>

#include "inode.h"
#include "options.h"
#include "store.h"
#include "transport.h"

#define BACKING_IDLE_MIN 64

struct shmfs_fs {
	const struct shmfs_options *opts;
	struct shmfs_store store;
	struct shmfs_inode_table inodes;
	struct shmfs_transport *transport;
	/* Reads, writes and mmap pass through to the store (set at INIT). */
	bool passthrough;
	struct fuse_session *se;
	const char *mountpoint;
	int ready_fd;	/* tells the waiting parent the outcome of INIT */
	bool failed;	/* INIT found the mount unusable */
	bool can_chown; /* the daemon may give files to their creators */
	double timeout; /* entry and attribute cache lifetime, seconds */
	/*
	 * Held for reading by every request that makes, renames or removes
	 * a name in the store, for writing by a removal the daemon makes of
	 * its own accord (reaper.c), which must find the name unchanged
	 * between checking it and unlinking it. Innermost: no inode lock is
	 * taken while it is held.
	 */
	pthread_rwlock_t names_lock;
	/*
	 * Passthrough registrations of segments nobody has open, kept for
	 * their next open (ops_file.c): at most backing_idle_max, at least
	 * BACKING_IDLE_MIN. Each holds a file open in the kernel.
	 */
	atomic_uint backing_idle;
	unsigned int backing_idle_max;
	/* The share of the descriptor limit for each of the table's caches (inode.h). */
	struct shmfs_fd_budget fd_budget;

	/* Statistics for "shmfs status"; relaxed atomics. */
	atomic_uint_fast64_t nr_open;
	atomic_uint_fast64_t nr_read;
	atomic_uint_fast64_t nr_write;
};

extern const struct fuse_lowlevel_ops shmfs_ops;

/* Tell whoever waits for the mount: "ok", or an error line (which fails it). */
void shmfs_fs_report_ready(struct shmfs_fs *fs, const char *msg);

#endif
