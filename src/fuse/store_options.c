// SPDX-License-Identifier: MIT
/*
 * The store's options (store_options.h). Each value is checked here, so
 * that a bad one is a one-line error before a store is made or touched.
 */
#include "store_options.h"
#include "options.h"
#include "size.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

enum {
	KEY_SIZE,
	KEY_NR_INODES,
	KEY_MODE,
	KEY_UID,
	KEY_GID,
	KEY_STORE,
};

static const struct fuse_opt store_opts[] = {
	FUSE_OPT_KEY("size=", KEY_SIZE),
	FUSE_OPT_KEY("nr_inodes=", KEY_NR_INODES),
	FUSE_OPT_KEY("mode=", KEY_MODE),
	FUSE_OPT_KEY("uid=", KEY_UID),
	FUSE_OPT_KEY("gid=", KEY_GID),
	FUSE_OPT_KEY("store=", KEY_STORE),
	FUSE_OPT_END,
};

/* A user or group: a number, else a name from the password or group file. */
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

static int parse_dir(const char *s, char **out)
{
	char *dir;

	if (!*s)
		return -EINVAL;
	dir = strdup(s);
	if (!dir)
		return -ENOMEM;
	free(*out);
	*out = dir;
	return 0;
}

static int store_option(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct shmfs_store_config *cfg = data;
	const char *val = strchr(arg, '=');
	int err;

	(void)outargs;
	switch (key) {
	case KEY_SIZE:
		err = shmfs_size_parse_ram(val + 1, &cfg->size);
		cfg->size_set = true;
		break;
	case KEY_NR_INODES:
		/* Read as size= is, "10%" included, as it always has been. */
		err = shmfs_size_parse_ram(val + 1, &cfg->nr_inodes);
		cfg->nr_inodes_set = true;
		break;
	case KEY_MODE:
		err = parse_mode(val + 1, &cfg->mode);
		cfg->mode_set = true;
		break;
	case KEY_UID:
		err = parse_id(val + 1, false, &cfg->uid);
		cfg->uid_set = true;
		break;
	case KEY_GID:
		err = parse_id(val + 1, true, &cfg->gid);
		cfg->gid_set = true;
		break;
	case KEY_STORE:
		err = parse_dir(val + 1, &cfg->dir);
		if (err == -ENOMEM)
			return -1;
		break;
	default: return 1; /* another module's, or nobody's: kept for the next parser */
	}
	return err ? shmfs_options_reject(arg) : 0;
}

int shmfs_store_options_parse(struct fuse_args *args, struct shmfs_store_config *cfg)
{
	return fuse_opt_parse(args, cfg, store_opts, store_option);
}
