/* SPDX-License-Identifier: MIT */
/*
 * Sizes as people write them: "4096", "512k", "1G", "0x1000", and for
 * size= also "10%" of RAM. One grammar for the mount options and for
 * "shmfs create", so a size means the same wherever it is typed.
 */
#ifndef SHMFS_SIZE_H
#define SHMFS_SIZE_H

#include <stdint.h>

/*
 * A number as strtoull() reads it with base 0 (decimal, 0x hex, 0 octal:
 * as tmpfs reads size=), then at most one binary suffix k, m, g, t, p or
 * e in either case. Returns 0, -EINVAL or -ERANGE.
 */
int shmfs_size_parse(const char *s, uint64_t *out);
/* The same, or "N%" with N at most 100: that share of the machine's RAM. */
int shmfs_size_parse_ram(const char *s, uint64_t *out);

#endif
