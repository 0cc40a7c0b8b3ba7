/* SPDX-License-Identifier: MIT */
/*
 * The transport's mount options: passthrough=, uring= and busy_poll=,
 * which choose how requests and data travel between kernel and daemon.
 * Their values are struct shmfs_transport_options (options.h). Parsed here,
 * beside the store's, rather than in transport/: that layer sees no header
 * of this one, and takes its own configuration (shmfs_transport_config).
 */
#ifndef SHMFS_TRANSPORT_OPTIONS_H
#define SHMFS_TRANSPORT_OPTIONS_H

#include <fuse_opt.h>

#include "options.h"

/*
 * Set t to the defaults, then take the transport's options out of args
 * into t, leaving every other argument for the next parser. Returns 0, or
 * -1 after one line on stderr.
 */
int shmfs_transport_options_parse(struct fuse_args *args, struct shmfs_transport_options *t);

#endif
