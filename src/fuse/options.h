/* SPDX-License-Identifier: MIT */
/*
 * The options of "shmfs mount", each concern with its own fuse_opt table:
 * the store's (store_options.c: tmpfs's size=, nr_inodes=, mode=, uid=,
 * gid=, huge=, noswap, mpol=, and store=), the transport's
 * (transport/transport_options.c: passthrough=, uring=, busy_poll=) and
 * the daemon's (options.c: -f, -d, ro/rw, allow_other, xattr, acl, the
 * kernel mount's flags, and the fstab-only words that mount(8) passes on).
 */
#ifndef SHMFS_OPTIONS_H
#define SHMFS_OPTIONS_H

#include <fuse_opt.h>

#include "store.h"
#include "transport.h" /* the passthrough= and uring= modes */

struct shmfs_transport_options {
	enum shmfs_passthrough_mode passthrough;
	enum shmfs_uring_mode uring;
	unsigned int busy_poll; /* microseconds of polling /dev/fuse, 0 = off */
};

/* The flags are int, as fuse_opt stores them. */
struct shmfs_options {
	char *source;	   /* first of two positional arguments, unused */
	char *mountpoint;  /* absolute, resolved */
	char *mount_flags; /* noexec,nosuid,...: for the kernel mount */
	struct shmfs_store_config store;
	struct shmfs_transport_options transport;
	int foreground;
	int debug; /* -d: trace every request (implies foreground) */
	int read_only;
	int allow_other;
	int xattr; /* reading extended attributes (costs every write a round trip) */
	int acl;   /* POSIX ACLs, enforced by the kernel (implies xattr) */
	struct fuse_args fuse_args; /* what goes on to fuse_session_new */
};

/*
 * Parse "mount" arguments (argv[0] is the command name). Returns 0, or an
 * exit status (2, usage) after one line on stderr. Release o either way.
 */
int shmfs_options_parse(struct shmfs_options *o, int argc, char **argv);
void shmfs_options_release(struct shmfs_options *o);

/* For the modules' parsers: say that the value in arg is bad; returns -1. */
int shmfs_options_reject(const char *arg);

#endif
