// SPDX-License-Identifier: MIT
/*
 * The shmfs command line: picks the subcommand and hands over. (mount(8)
 * reaches "shmfs mount" through the mount.shmfs script in mount/.)
 */
#include "commands.h"
#include "config.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
};

static const struct command commands[] = {
	{ "mount", shmfs_daemon_main, "mount [SOURCE] MOUNTPOINT [-o OPTIONS] [-f] [-d]" },
	{ "umount", shmfs_cmd_umount, "umount [-l] [--discard] MOUNTPOINT" },
	{ "status", shmfs_cmd_status, "status [--raw] MOUNTPOINT" },
	{ "discard", shmfs_cmd_discard, "discard MOUNTPOINT | --store DIR" },
	{ "create", shmfs_cmd_create, "create [--transient] NAME SIZE" },
	{ "ls", shmfs_cmd_ls, "ls [--json] [--holders] [MOUNTPOINT]" },
	{ "rm", shmfs_cmd_rm, "rm NAME..." },
	{ "send", shmfs_cmd_send, "send [--timeout S] [--capacity BYTES] QUEUE" },
	{ "recv", shmfs_cmd_recv, "recv [--timeout S] QUEUE" },
	{ "exec", shmfs_cmd_exec, "exec [-o OPTIONS]... [--] COMMAND [ARG]..." },
};

static void usage(FILE *out)
{
	fputs("Usage: shmfs COMMAND [ARGS]\n\nCommands:\n", out);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  shmfs %s\n", commands[i].usage);
	fputs("\nMount options (-o, comma-separated):\n"
	      "  size=BYTES[k|m|g|%]   RAM the segments may use (default: half of RAM)\n"
	      "  nr_inodes=N           most segments and directories (0: no limit)\n"
	      "  mode=OCTAL            mode of the root directory (root: 1777)\n"
	      "  uid=USER, gid=GROUP   owner of the root directory\n"
	      "  store=DIR             keep segments in DIR (default: a private tmpfs)\n"
	      "  huge=never|always|within_size|advise  transparent huge pages in the store's\n"
	      "                        tmpfs (within_size: for segments of 2 MiB and more)\n"
	      "  noswap                never swap the segments out (Linux 6.4 and later)\n"
	      "  mpol=POLICY           NUMA policy of the store's tmpfs: default, local,\n"
	      "                        prefer:N, bind:NODES, interleave[:NODES]\n"
	      "  passthrough=auto|on|off  kernel passthrough data path (default auto)\n"
	      "  uring=auto|on|off     take requests over io_uring, one queue per CPU\n"
	      "                        (default off; auto: when the kernel offers it)\n"
	      "  busy_poll=USEC        after each request, poll /dev/fuse for up to USEC\n"
	      "                        microseconds (0-1000, default 0): CPU for latency\n"
	      "  xattr                 let extended attributes be read (each write then\n"
	      "                        costs a daemon round trip; setting them always works)\n"
	      "  acl                   enforce POSIX ACLs as tmpfs does (implies xattr;\n"
	      "                        without it, setting an ACL fails with EOPNOTSUPP)\n"
	      "  allow_other, ro, rw   as for any FUSE filesystem\n"
	      "  noexec, nosuid, nodev, noatime  flags of the kernel mount (and their opposites)\n"
	      "\nFlags: -f stay in the foreground, -d trace requests (implies -f)\n"
	      "       -h, --help, --version\n",
	      out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("shmfs %s\n", SHMFS_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "shmfs: unknown command '%s' (try 'shmfs --help')\n", argv[1]);
	return 2;
}
