// SPDX-License-Identifier: MIT
/*
 * The transport's options (transport_options.h), checked here so that a
 * bad value is a one-line error before anything is mounted.
 */
#include "transport_options.h"

#include <stdlib.h>
#include <string.h>

enum {
	KEY_PASSTHROUGH,
	KEY_URING,
	KEY_BUSY_POLL,
};

static const struct fuse_opt transport_opts[] = {
	FUSE_OPT_KEY("passthrough=", KEY_PASSTHROUGH),
	FUSE_OPT_KEY("uring=", KEY_URING),
	FUSE_OPT_KEY("busy_poll=", KEY_BUSY_POLL),
	FUSE_OPT_END,
};

/* "auto", "on" or "off": 0, 1 or 2 (the order of both mode enums). */
static int parse_auto_on_off(const char *s, int *out)
{
	static const char *const words[] = { "auto", "on", "off" };

	_Static_assert(SHMFS_PASSTHROUGH_AUTO == 0 && SHMFS_PASSTHROUGH_ON == 1 &&
			       SHMFS_PASSTHROUGH_OFF == 2,
		       "passthrough modes");
	_Static_assert(SHMFS_URING_AUTO == 0 && SHMFS_URING_ON == 1 && SHMFS_URING_OFF == 2,
		       "uring modes");
	for (int i = 0; i < 3; i++) {
		if (!strcmp(s, words[i])) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

/* Plain decimal microseconds, at most SHMFS_BUSY_POLL_MAX_US. */
static int parse_busy_poll(const char *s, unsigned int *out)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 4 ||
	    atoi(s) > SHMFS_BUSY_POLL_MAX_US)
		return -1;
	*out = (unsigned int)atoi(s);
	return 0;
}

static int transport_option(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct shmfs_transport_options *t = data;
	const char *val = strchr(arg, '=');
	int err, mode = 0;

	(void)outargs;
	switch (key) {
	case KEY_PASSTHROUGH:
		err = parse_auto_on_off(val + 1, &mode);
		if (!err)
			t->passthrough = (enum shmfs_passthrough_mode)mode;
		break;
	case KEY_URING:
		err = parse_auto_on_off(val + 1, &mode);
		if (!err)
			t->uring = (enum shmfs_uring_mode)mode;
		break;
	case KEY_BUSY_POLL: err = parse_busy_poll(val + 1, &t->busy_poll); break;
	default: return 1; /* another module's, or nobody's: kept for the next parser */
	}
	return err ? shmfs_options_reject(arg) : 0;
}

int shmfs_transport_options_parse(struct fuse_args *args, struct shmfs_transport_options *t)
{
	t->passthrough = SHMFS_PASSTHROUGH_AUTO;
	t->uring = SHMFS_URING_OFF; /* opt-in while it is new */
	t->busy_poll = 0;
	return fuse_opt_parse(args, t, transport_opts, transport_option);
}
