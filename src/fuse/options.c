// SPDX-License-Identifier: MIT
/*
 * Command-line parsing for "shmfs mount". One fuse_opt table; values are
 * checked here so that a bad option is a one-line error before anything is
 * mounted or created. Unknown options are errors, not warnings.
 */
#include "options.h"
#include "busypoll.h"
#include "size.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	KEY_SIZE,
	KEY_NR_INODES,
	KEY_MODE,
	KEY_UID,
	KEY_GID,
	KEY_STORE,
	KEY_PASSTHROUGH,
	KEY_URING,
	KEY_BUSY_POLL,
	KEY_FOREGROUND,
	KEY_DEBUG,
	KEY_RO,
	KEY_RW,
	KEY_ALLOW_OTHER,
	KEY_XATTR,
	KEY_NOXATTR,
	KEY_ACL,
	KEY_NOACL,
	KEY_IGNORED,
	KEY_MOUNT_FLAG,
};

static const struct fuse_opt option_table[] = {
	FUSE_OPT_KEY("size=", KEY_SIZE),
	FUSE_OPT_KEY("nr_inodes=", KEY_NR_INODES),
	FUSE_OPT_KEY("mode=", KEY_MODE),
	FUSE_OPT_KEY("uid=", KEY_UID),
	FUSE_OPT_KEY("gid=", KEY_GID),
	FUSE_OPT_KEY("store=", KEY_STORE),
	FUSE_OPT_KEY("passthrough=", KEY_PASSTHROUGH),
	FUSE_OPT_KEY("uring=", KEY_URING),
	FUSE_OPT_KEY("busy_poll=", KEY_BUSY_POLL),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("--foreground", KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("--debug", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("rw", KEY_RW),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("xattr", KEY_XATTR),
	FUSE_OPT_KEY("noxattr", KEY_NOXATTR),
	FUSE_OPT_KEY("acl", KEY_ACL),
	FUSE_OPT_KEY("noacl", KEY_NOACL),
	/* Accepted and dropped, as mount.fuse3 does. */
	FUSE_OPT_KEY("auto", KEY_IGNORED),
	FUSE_OPT_KEY("noauto", KEY_IGNORED),
	FUSE_OPT_KEY("user", KEY_IGNORED),
	FUSE_OPT_KEY("nouser", KEY_IGNORED),
	FUSE_OPT_KEY("users", KEY_IGNORED),
	FUSE_OPT_KEY("_netdev", KEY_IGNORED),
	FUSE_OPT_KEY("nofail", KEY_IGNORED),
	FUSE_OPT_KEY("defaults", KEY_IGNORED),
	FUSE_OPT_KEY("default_permissions", KEY_IGNORED),
	FUSE_OPT_KEY("dev", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("nodev", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("suid", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("nosuid", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("exec", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("noexec", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("atime", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("noatime", KEY_MOUNT_FLAG),
	FUSE_OPT_KEY("relatime", KEY_IGNORED),
	FUSE_OPT_KEY("comment=", KEY_IGNORED),
	FUSE_OPT_END,
};

static int parse_id(const char *s, bool group, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s && !*end && !errno && v < UINT_MAX && isdigit((unsigned char)*s)) {
		*out = (unsigned int)v;
		return 0;
	}
	if (group) {
		struct group *gr = getgrnam(s);

		if (!gr)
			return -EINVAL;
		*out = gr->gr_gid;
	} else {
		struct passwd *pw = getpwnam(s);

		if (!pw)
			return -EINVAL;
		*out = pw->pw_uid;
	}
	return 0;
}

static int parse_mode(const char *s, mode_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 8);
	if (!*s || *end || errno || v > 07777)
		return -EINVAL;
	*out = (mode_t)v;
	return 0;
}

/* "auto", "on" or "off": 0, 1 or 2 (the order of both mode enums). */
static int parse_auto_on_off(const char *s, int *out)
{
	static const char *const words[] = { "auto", "on", "off" };

	_Static_assert(SHMFS_PASSTHROUGH_AUTO == 0 && SHMFS_PASSTHROUGH_ON == 1 &&
		       SHMFS_PASSTHROUGH_OFF == 2, "passthrough modes");
	_Static_assert(SHMFS_URING_AUTO == 0 && SHMFS_URING_ON == 1 && SHMFS_URING_OFF == 2,
		       "uring modes");
	for (int i = 0; i < 3; i++) {
		if (!strcmp(s, words[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

static int bad_value(const char *arg)
{
	fprintf(stderr, "shmfs: bad value in option '%s'\n", arg);
	return -1;
}

static int option_value(struct shmfs_options *o, const char *arg, int key)
{
	const char *val = strchr(arg, '=') + 1;
	int err = 0, mode = 0;

	switch (key) {
	case KEY_SIZE:
		err = shmfs_size_parse_ram(val, &o->store.size);
		o->store.size_set = true;
		break;
	case KEY_NR_INODES:
		/* Read as size= is, "10%" included, as it always has been. */
		err = shmfs_size_parse_ram(val, &o->store.nr_inodes);
		o->store.nr_inodes_set = true;
		break;
	case KEY_MODE:
		err = parse_mode(val, &o->store.mode);
		o->store.mode_set = true;
		break;
	case KEY_UID:
		err = parse_id(val, false, &o->store.uid);
		o->store.uid_set = true;
		break;
	case KEY_GID:
		err = parse_id(val, true, &o->store.gid);
		o->store.gid_set = true;
		break;
	case KEY_STORE:
		if (!*val)
			return bad_value(arg);
		free(o->store.dir);
		o->store.dir = strdup(val);
		if (!o->store.dir)
			return -1;
		break;
	case KEY_PASSTHROUGH:
		err = parse_auto_on_off(val, &mode);
		if (!err)
			o->passthrough = (enum shmfs_passthrough_mode)mode;
		break;
	case KEY_BUSY_POLL:
		/* Plain decimal microseconds. */
		if (!*val || strspn(val, "0123456789") != strlen(val) || strlen(val) > 4 ||
		    atoi(val) > SHMFS_BUSY_POLL_MAX_US)
			err = -EINVAL;
		else
			o->busy_poll = (unsigned int)atoi(val);
		break;
	case KEY_URING:
		err = parse_auto_on_off(val, &mode);
		if (!err)
			o->uring = (enum shmfs_uring_mode)mode;
		break;
	}
	return err ? bad_value(arg) : 0;
}

static int option_proc(void *data, const char *arg, int key,
		       struct fuse_args *outargs)
{
	struct shmfs_options *o = data;

	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
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
	case FUSE_OPT_KEY_OPT:
		if (!strncmp(arg, "x-", 2))
			return 0;	/* for other programs (x-systemd.*, x-gvfs-*) */
		if (arg[0] == '-')
			fprintf(stderr, "shmfs: unknown flag '%s'\n", arg);
		else
			fprintf(stderr, "shmfs: unknown option '%s'\n", arg);
		return -1;
	case KEY_FOREGROUND:
		o->foreground = true;
		return 0;
	case KEY_DEBUG:
		o->debug = true;
		o->foreground = true;
		return 0;
	case KEY_RO:
		o->read_only = true;
		return 0;
	case KEY_RW:
		o->read_only = false;
		return 0;
	case KEY_ALLOW_OTHER:
		o->allow_other = true;
		return 0;
	case KEY_XATTR:
	case KEY_NOXATTR:
		o->xattr = key == KEY_XATTR;
		return 0;
	case KEY_ACL:
	case KEY_NOACL:
		o->acl = key == KEY_ACL;
		return 0;
	case KEY_IGNORED:
		return 0;
	case KEY_MOUNT_FLAG:
		return fuse_opt_add_opt(&o->mount_flags, arg);
	default:
		return option_value(o, arg, key);
	}
}

int shmfs_options_parse(struct shmfs_options *o, int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);

	memset(o, 0, sizeof(*o));
	o->passthrough = SHMFS_PASSTHROUGH_AUTO;
	o->uring = SHMFS_URING_OFF;	/* opt-in while it is new */
	if (fuse_opt_parse(&args, o, option_table, option_proc) == -1) {
		fuse_opt_free_args(&args);
		return 2;
	}
	fuse_opt_free_args(&args);
	if (o->acl)
		o->xattr = true;	/* the kernel reads ACLs with GETXATTR */
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
	free(o->mount_flags);
	fuse_opt_free_args(&o->fuse_args);
}
