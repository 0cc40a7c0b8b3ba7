// SPDX-License-Identifier: MIT
/*
 * Command-line parsing for "shmfs mount" (options.h). Each module's
 * parser takes its own options out of the arguments and leaves the rest;
 * the daemon's, last, takes the positional arguments and refuses whatever
 * nobody took. Every check happens here, so a bad option is a one-line
 * error before anything is mounted or created.
 */
#include "options.h"
#include "store_options.h"
#include "transport_options.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	KEY_MOUNT_FLAG,
};

#define DAEMON_OPT(t, field, v)                             \
	{                                                   \
		t, offsetof(struct shmfs_options, field), v \
	}

static const struct fuse_opt daemon_opts[] = {
	DAEMON_OPT("-f", foreground, 1),
	DAEMON_OPT("--foreground", foreground, 1),
	DAEMON_OPT("-d", debug, 1),
	DAEMON_OPT("--debug", debug, 1),
	DAEMON_OPT("debug", debug, 1),
	DAEMON_OPT("ro", read_only, 1),
	DAEMON_OPT("rw", read_only, 0),
	DAEMON_OPT("allow_other", allow_other, 1),
	DAEMON_OPT("xattr", xattr, 1),
	DAEMON_OPT("noxattr", xattr, 0),
	DAEMON_OPT("acl", acl, 1),
	DAEMON_OPT("noacl", acl, 0),
	/* Accepted and dropped, as mount.fuse3 does. */
	FUSE_OPT_KEY("auto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noauto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("user", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nouser", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("users", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("_netdev", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nofail", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("defaults", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("default_permissions", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("relatime", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("comment=", FUSE_OPT_KEY_DISCARD),
	/* For the kernel mount, passed on as they are. */
	FUSE_OPT_KEY("dev", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("nodev", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("suid", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("nosuid", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("exec", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("noexec", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("atime", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("noatime", KEY_MOUNT_FLAG),
	FUSE_OPT_END,
};

int shmfs_options_reject(const char *arg)
{
	fprintf(stderr, "shmfs: bad value in option '%s'\n", arg);
	return -1;
}

/* [SOURCE] MOUNTPOINT, in the order mount(8) passes them. */
static int daemon_positional(struct shmfs_options *o, const char *arg)
{
	if (!o->mountpoint) {
		o->mountpoint = strdup(arg);
	} else if (!o->source) {
		o->source = o->mountpoint;
		o->mountpoint = strdup(arg);
	} else {
		fprintf(stderr, "shmfs: unexpected argument '%s'\n", arg);
		return -1;
	}
	return o->mountpoint ? 0 : -1;
}

/* What no module took, and the mount flags. */
static int daemon_option(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct shmfs_options *o = data;

	(void)outargs;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT: return daemon_positional(o, arg);
	case KEY_MOUNT_FLAG: return fuse_opt_add_opt(&o->mount_flags, arg);
	}
	if (!strncmp(arg, "x-", 2))
		return 0; /* for other programs (x-systemd.*, x-gvfs-*) */
	if (arg[0] == '-')
		fprintf(stderr, "shmfs: unknown flag '%s'\n", arg);
	else
		fprintf(stderr, "shmfs: unknown option '%s'\n", arg);
	return -1;
}

int shmfs_options_parse(struct shmfs_options *o, int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	int err;

	memset(o, 0, sizeof(*o));
	err = shmfs_store_options_parse(&args, &o->store);
	if (!err)
		err = shmfs_transport_options_parse(&args, &o->transport);
	if (!err)
		err = fuse_opt_parse(&args, o, daemon_opts, daemon_option);
	fuse_opt_free_args(&args);
	if (err)
		return 2;
	if (o->debug)
		o->foreground = 1;
	if (o->acl)
		o->xattr = 1; /* the kernel reads ACLs with GETXATTR */
	if (!o->mountpoint) {
		fprintf(stderr, "shmfs: no mountpoint given (try 'shmfs --help')\n");
		return 2;
	}
	return 0;
}

void shmfs_options_release(struct shmfs_options *o)
{
	free(o->source);
	free(o->mountpoint);
	free(o->store.dir);
	free(o->store.tmpfs.mpol);
	free(o->mount_flags);
	fuse_opt_free_args(&o->fuse_args);
}
