// SPDX-License-Identifier: MIT
/*
 * Parsing sizes (size.h). A leading sign or blank is refused here, as
 * strtoull() would otherwise take "-1" for 2^64 - 1.
 */
#include "size.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/sysinfo.h>

/* The number at s, leaving *end after it. */
static int size_number(const char *s, unsigned long long *v, char **end)
{
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, end, 0);
	return errno ? -errno : 0;
}

/* The shift of a binary suffix (k: 10 ... e: 60), -1 for anything else. */
static int suffix_shift(char c)
{
	static const char suffixes[] = "kmgtpe";

	for (int i = 0; suffixes[i]; i++)
		if (tolower((unsigned char)c) == suffixes[i])
			return 10 * (i + 1);
	return -1;
}

int shmfs_size_parse(const char *s, uint64_t *out)
{
	unsigned long long v;
	int shift = 0, err;
	char *end;

	err = size_number(s, &v, &end);
	if (err)
		return err;
	if (*end) {
		shift = suffix_shift(*end++);
		if (shift < 0 || *end)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int shmfs_size_parse_ram(const char *s, uint64_t *out)
{
	unsigned long long v;
	struct sysinfo si;
	char *end;
	int err;

	err = size_number(s, &v, &end);
	if (err || end[0] != '%' || end[1])
		return err ? err : shmfs_size_parse(s, out);
	if (v > 100 || sysinfo(&si))
		return -ERANGE;
	*out = (uint64_t)si.totalram * si.mem_unit / 100 * v;
	return 0;
}
