/* SPDX-License-Identifier: MIT */
/*
 * The two headers of every FUSE message, as the kernel's
 * include/uapi/linux/fuse.h lays them out, for the modules that read
 * requests and write replies themselves (devio.c, uring.c).
 */
#ifndef SHMFS_FUSE_ABI_H
#define SHMFS_FUSE_ABI_H

#include <stdint.h>

struct shmfs_fuse_in_header {
	uint32_t len;
	uint32_t opcode;
	uint64_t unique;
	uint64_t nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen;
	uint16_t padding;
};

struct shmfs_fuse_out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};

_Static_assert(sizeof(struct shmfs_fuse_in_header) == 40, "fuse_in_header layout");
_Static_assert(sizeof(struct shmfs_fuse_out_header) == 16, "fuse_out_header layout");

#endif
