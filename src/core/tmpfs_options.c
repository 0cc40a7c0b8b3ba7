// SPDX-License-Identifier: MIT
/*
 * huge=, noswap and mpol= for the store's tmpfs (tmpfs_options.h). The
 * grammar is tmpfs's (mm/shmem.c, mpol_parse_str() in mm/mempolicy.c),
 * kept a little stricter where tmpfs takes what it then ignores
 * (default=static), so that a value shmfs takes means what it says.
 *
 * mpol='s node list holds commas, as in the mount(2) data itself: tmpfs
 * reads a comma followed by a digit as part of the value, and so does
 * shmfs_tmpfs_options_shown() when it reads the kernel's options back.
 */
#include "tmpfs_options.h"
#include "mountinfo.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

/* Node numbers above this are no machine's (MAX_NUMNODES is at most 1 << 10). */
#define MPOL_NODE_MAX 1023

static const char *const huge_names[] = { "never", "always", "within_size", "advise" };

bool shmfs_tmpfs_options_any(const struct shmfs_tmpfs_options *t)
{
	return t->huge || t->noswap || t->mpol;
}

void shmfs_tmpfs_options_first(const struct shmfs_tmpfs_options *t, char *buf, size_t len)
{
	if (t->huge)
		snprintf(buf, len, "huge=%s", t->huge);
	else if (t->noswap)
		snprintf(buf, len, "noswap");
	else
		snprintf(buf, len, "mpol=%s", t->mpol ? t->mpol : "");
}

const char *shmfs_tmpfs_huge_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(huge_names) / sizeof(huge_names[0]); i++)
		if (!strcmp(s, huge_names[i]))
			return huge_names[i];
	return NULL;
}

/* A node number: decimal digits, no sign. */
static const char *node_parse(const char *s, unsigned long *node)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return NULL;
	errno = 0;
	*node = strtoul(s, &end, 10);
	if (errno || *node > MPOL_NODE_MAX)
		return NULL;
	return end;
}

/* N or N-M ranges, M >= N, separated by single commas. */
static int nodelist_check(const char *s)
{
	unsigned long lo, hi;

	for (;;) {
		s = node_parse(s, &lo);
		if (!s)
			return -EINVAL;
		if (*s == '-') {
			s = node_parse(s + 1, &hi);
			if (!s || hi < lo)
				return -EINVAL;
		}
		if (!*s)
			return 0;
		if (*s++ != ',')
			return -EINVAL;
	}
}

int shmfs_tmpfs_mpol_check(const char *s)
{
	size_t mode_len = strcspn(s, "=:");
	const char *p = s + mode_len, *nodes = NULL;
	bool flag = false, prefer, bind, interleave;

	if (strlen(s) > SHMFS_TMPFS_MPOL_MAX)
		return -EINVAL;
	if (*p == '=') {
		size_t n = strcspn(p + 1, ":");

		if (!((n == 6 && !strncmp(p + 1, "static", 6)) ||
		      (n == 8 && !strncmp(p + 1, "relative", 8))))
			return -EINVAL;
		flag = true;
		p += 1 + n;
	}
	if (*p == ':')
		nodes = p + 1;
#define MODE_IS(name) (mode_len == strlen(name) && !strncmp(s, name, mode_len))
	prefer = MODE_IS("prefer");
	bind = MODE_IS("bind");
	interleave = MODE_IS("interleave");
	if (MODE_IS("default") || MODE_IS("local"))
		return flag || nodes ? -EINVAL : 0;
#undef MODE_IS
	if (!prefer && !bind && !interleave)
		return -EINVAL;
	if (!nodes)
		return interleave ? 0 : -EINVAL;
	/* prefer takes one node: tmpfs wants digits and nothing else. */
	if (prefer && nodes[strspn(nodes, "0123456789")])
		return -EINVAL;
	return nodelist_check(nodes);
}

/* Append KEY and VAL to the n bytes used of buf (of len), after a comma unless first. */
static int append(char *buf, size_t *n, size_t len, const char *key, const char *val)
{
	int m = snprintf(buf + *n, len - *n, "%s%s%s", *n ? "," : "", key, val);

	if (m < 0 || (size_t)m >= len - *n)
		return -ENAMETOOLONG;
	*n += (size_t)m;
	return 0;
}

int shmfs_tmpfs_options_append(const struct shmfs_tmpfs_options *t, bool noswap_now, char *buf,
			       size_t n, size_t len)
{
	int err = 0;

	if (t->huge)
		err = append(buf, &n, len, "huge=", t->huge);
	if (!err && (t->noswap || noswap_now))
		err = append(buf, &n, len, "noswap", "");
	if (!err && t->mpol)
		err = append(buf, &n, len, "mpol=", t->mpol);
	return err ? err : (int)n;
}

/* The kernel's last error about the context fd ("tmpfs: Bad value for 'mpol'"), or "". */
static void context_error(int fd, char *buf, size_t len)
{
	char msg[256];
	ssize_t n;

	buf[0] = '\0';
	while ((n = read(fd, msg, sizeof(msg) - 1)) > 0) {
		msg[n] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
		if (msg[0] == 'e' && msg[1] == ' ')
			snprintf(buf, len, "%s", msg + 2);
	}
}

static int refused(int fd, const char *opt, const char *val, char *why, size_t len)
{
	int err = -errno;
	char kernel[256];

	context_error(fd, kernel, sizeof(kernel));
	snprintf(why, len, "this kernel's tmpfs refuses '%s%s': %s%s", opt, val,
		 kernel[0] ? kernel : strerror(-err),
		 !strcmp(opt, "noswap") ? " (tmpfs has noswap from Linux 6.4)" : "");
	return err;
}

int shmfs_tmpfs_options_probe(const struct shmfs_tmpfs_options *t, char *why, size_t len)
{
	int fd, err = 0;

	if (!shmfs_tmpfs_options_any(t))
		return 0;
	fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fd < 0)
		return 0; /* older than Linux 5.2, or filtered: mount(2) will tell */
	if (t->huge && fsconfig(fd, FSCONFIG_SET_STRING, "huge", t->huge, 0))
		err = refused(fd, "huge=", t->huge, why, len);
	else if (t->noswap && fsconfig(fd, FSCONFIG_SET_FLAG, "noswap", NULL, 0))
		err = refused(fd, "noswap", "", why, len);
	else if (t->mpol && fsconfig(fd, FSCONFIG_SET_STRING, "mpol", t->mpol, 0))
		err = refused(fd, "mpol=", t->mpol, why, len);
	close(fd);
	return err;
}

/* Whether the n bytes at s are one of our options. */
static bool ours(const char *s, size_t n)
{
	return (n == 6 && !strncmp(s, "noswap", 6)) ||
	       (n > 5 && (!strncmp(s, "huge=", 5) || !strncmp(s, "mpol=", 5)));
}

void shmfs_tmpfs_options_filter(const char *opts, char *buf, size_t len)
{
	const char *s, *e;
	size_t used = 0;

	buf[0] = '\0';
	for (s = opts; *s; s = *e ? e + 1 : e) {
		/* A comma before a digit is inside the value (mpol=bind:0,2). */
		for (e = strchr(s, ','); e && isdigit((unsigned char)e[1]); e = strchr(e + 1, ','))
			;
		if (!e)
			e = s + strlen(s);
		if (ours(s, (size_t)(e - s)) && used + !!used + (size_t)(e - s) < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%.*s", used ? "," : "",
						 (int)(e - s), s);
	}
}

bool shmfs_tmpfs_options_shown(const char *path, char *buf, size_t len)
{
	char fstype[64], opts[1024];

	buf[0] = '\0';
	if (!shmfs_mountinfo_options(path, fstype, sizeof(fstype), opts, sizeof(opts)) ||
	    strcmp(fstype, "tmpfs"))
		return false;
	shmfs_tmpfs_options_filter(opts, buf, len);
	return true;
}
