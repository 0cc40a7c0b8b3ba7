/* SPDX-License-Identifier: MIT */
/*
 * The store's mount options, tmpfs's vocabulary: size=, nr_inodes=,
 * mode=, uid=, gid=, huge=, noswap, mpol=, and shmfs's store=. They fill the core's struct
 * shmfs_store_config; the table lives here because the core knows
 * nothing of libfuse.
 */
#ifndef SHMFS_STORE_OPTIONS_H
#define SHMFS_STORE_OPTIONS_H

#include <fuse_opt.h>

#include "store.h"

/*
 * Take the store's options out of args into cfg, leaving every other
 * argument for the next parser. Returns 0, or -1 after one line on stderr.
 */
int shmfs_store_options_parse(struct fuse_args *args, struct shmfs_store_config *cfg);

#endif
