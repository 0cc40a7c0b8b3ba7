// SPDX-License-Identifier: MIT
/*
 * The store's options (store_options.h). Each value is checked here, so
 * that a bad one is a one-line error before a store is made or touched.
 *
 * fuse_opt splits -o at every comma, but tmpfs's mpol= takes a node
 * list with commas in it (mpol=bind:0,2), as mount(8) and fstab pass
 * it: an option that starts with a digit, just after an mpol= value, is
 * read as more of that list, as tmpfs reads it.
 */
#include "store_options.h"
#include "options.h"
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
	KEY_HUGE,
	KEY_NOSWAP,
	KEY_MPOL,
};

/* What the parser reads into, and whether an mpol= node list may go on. */
struct store_parse {
	struct shmfs_store_config *cfg;
	bool in_mpol;
};

static const struct fuse_opt store_opts[] = {
	FUSE_OPT_KEY("size=", KEY_SIZE), FUSE_OPT_KEY("nr_inodes=", KEY_NR_INODES),
	FUSE_OPT_KEY("mode=", KEY_MODE), FUSE_OPT_KEY("uid=", KEY_UID),
	FUSE_OPT_KEY("gid=", KEY_GID),	 FUSE_OPT_KEY("store=", KEY_STORE),
	FUSE_OPT_KEY("huge=", KEY_HUGE), FUSE_OPT_KEY("noswap", KEY_NOSWAP),
	FUSE_OPT_KEY("mpol=", KEY_MPOL), FUSE_OPT_END,
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

/* mpol=VALUE, or the next piece of its node list (",2"): checked whole each time. */
static int parse_mpol(const char *piece, bool more, char **mpol)
{
	size_t had = more && *mpol ? strlen(*mpol) : 0, n = strlen(piece);
	char *v = malloc(had + 1 + n + 1);

	if (!v)
		return -ENOMEM;
	sprintf(v, "%s%s%s", had ? *mpol : "", had ? "," : "", piece);
	free(*mpol);
	*mpol = v;
	return shmfs_tmpfs_mpol_check(v);
}

static int store_option(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct store_parse *p = data;
	struct shmfs_store_config *cfg = p->cfg;
	const char *val = strchr(arg, '=');
	bool in_mpol = p->in_mpol;
	int err;

	(void)outargs;
	p->in_mpol = false;
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
	case KEY_HUGE:
		cfg->tmpfs.huge = shmfs_tmpfs_huge_parse(val + 1);
		err = cfg->tmpfs.huge ? 0 : -EINVAL;
		break;
	case KEY_NOSWAP:
		cfg->tmpfs.noswap = true;
		err = 0;
		break;
	case KEY_MPOL:
		err = parse_mpol(val + 1, false, &cfg->tmpfs.mpol);
		p->in_mpol = strchr(val, ':') != NULL;
		break;
	default:
		if (key != FUSE_OPT_KEY_OPT || !in_mpol || !isdigit((unsigned char)arg[0]))
			return 1; /* another module's, or nobody's: kept for the next parser */
		err = parse_mpol(arg, true, &cfg->tmpfs.mpol);
		p->in_mpol = true;
		if (err) /* name the whole value */
			return fprintf(stderr, "shmfs: bad value in option 'mpol=%s'\n",
				       cfg->tmpfs.mpol ? cfg->tmpfs.mpol : arg),
			       -1;
		break;
	}
	if (err == -ENOMEM)
		return -1;
	return err ? shmfs_options_reject(arg) : 0;
}

int shmfs_store_options_parse(struct fuse_args *args, struct shmfs_store_config *cfg)
{
	struct store_parse p = { cfg, false };

	return fuse_opt_parse(args, &p, store_opts, store_option);
}
