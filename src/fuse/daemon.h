/* SPDX-License-Identifier: MIT */
/*
 * The daemon's entry point, which the command line calls for "shmfs
 * mount". It is the only thing the command line knows of the FUSE layer,
 * so this header includes nothing of libfuse.
 */
#ifndef SHMFS_DAEMON_H
#define SHMFS_DAEMON_H

/*
 * "shmfs mount": argv[0] is "mount". Checks everything before mounting,
 * opens the store, mounts, and serves requests until unmounted; returns
 * the exit status (0, 1 a system error, 2 a usage error).
 */
int shmfs_daemon_main(int argc, char **argv);

#endif
