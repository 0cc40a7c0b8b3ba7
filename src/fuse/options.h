/* SPDX-License-Identifier: MIT */
/*
 * Mount options: tmpfs's vocabulary (size=, nr_inodes=, mode=, uid=, gid=)
 * plus shmfs's own (store=, passthrough=, uring=), the standard FUSE flags that make
 * sense here, and the fstab-only words that mount(8) passes on.
 */
#ifndef SHMFS_OPTIONS_H
#define SHMFS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <fuse_opt.h>

#include "store.h"

enum shmfs_passthrough_mode {
	SHMFS_PASSTHROUGH_AUTO,
	SHMFS_PASSTHROUGH_ON,
	SHMFS_PASSTHROUGH_OFF,
};

/* How requests reach the daemon: FUSE over io_uring, or reads of /dev/fuse. */
enum shmfs_uring_mode {
	SHMFS_URING_AUTO,
	SHMFS_URING_ON,
	SHMFS_URING_OFF,
};

struct shmfs_options {
	char *source;		/* first of two positional arguments, unused */
	char *mountpoint;	/* absolute, resolved */
	char *mount_flags;	/* noexec,nosuid,...: for the kernel mount */
	struct shmfs_store_config store;	/* store=, size=, nr_inodes=, mode=, uid=, gid= */
	enum shmfs_passthrough_mode passthrough;
	enum shmfs_uring_mode uring;
	unsigned int busy_poll;	/* microseconds of polling /dev/fuse, 0 = off */
	bool foreground;
	bool debug;
	bool read_only;
	bool allow_other;
	bool xattr;		/* reading extended attributes (costs every write a round trip) */
	bool acl;		/* POSIX ACLs, enforced by the kernel (implies xattr) */
	struct fuse_args fuse_args;	/* what goes on to fuse_session_new */
};

/*
 * Parse "mount" arguments (argv[0] is the command name). Returns 0, or an
 * exit status (2, usage) after one line on stderr.
 */
int shmfs_options_parse(struct shmfs_options *o, int argc, char **argv);
void shmfs_options_release(struct shmfs_options *o);

#endif
