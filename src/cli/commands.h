/* SPDX-License-Identifier: MIT */
/*
 * The subcommands of the shmfs command line. Each takes the arguments
 * after its own name (argv[0] is the subcommand) and returns the exit
 * status: 0 success, 1 a system error, 2 a usage error.
 */
#ifndef SHMFS_COMMANDS_H
#define SHMFS_COMMANDS_H

#include "daemon.h" /* shmfs_daemon_main(): "shmfs mount" */

int shmfs_cmd_umount(int argc, char **argv);  /* cmd_admin.c */
int shmfs_cmd_discard(int argc, char **argv); /* cmd_admin.c */
int shmfs_cmd_status(int argc, char **argv);  /* cmd_admin.c */
int shmfs_cmd_create(int argc, char **argv);  /* cmd_segment.c */
int shmfs_cmd_ls(int argc, char **argv);      /* cmd_segment.c */
int shmfs_cmd_rm(int argc, char **argv);      /* cmd_segment.c */
int shmfs_cmd_send(int argc, char **argv);    /* cmd_queue.c */
int shmfs_cmd_recv(int argc, char **argv);    /* cmd_queue.c */
int shmfs_cmd_exec(int argc, char **argv);    /* cmd_exec.c */

#endif
