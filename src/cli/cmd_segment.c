// SPDX-License-Identifier: MIT
/*
 * The segment subcommands: "shmfs create" (create-or-open with a size),
 * "shmfs ls" (a listing of the whole tree, as text or JSON, with the processes
 * that hold each segment under --holders: holders.h) and "shmfs rm". Names
 * go through libshmfs, so they are checked and resolved exactly as programs
 * using the library see them ($SHMFS_DIR, else /mnt/shm).
 */
#include "commands.h"
#include "holders.h"
#include "size.h"
#include "transient_mark.h"
#include "walk.h"

#include <shmfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* One segment found by ls. */
struct ls_entry {
	char *name; /* relative to the listed directory */
	struct stat st;
	bool transient;
};

struct ls_list {
	struct ls_entry *v;
	size_t n, cap;
	int err; /* set when some directory could not be read */
};

static void segment_fail(const char *name, int err)
{
	char msg[512];

	shmfs_segment_error(name, err, msg, sizeof(msg));
	fprintf(stderr, "shmfs: %s\n", msg);
}

/* Exit status for a library error on a name: a bad name is a usage error. */
static int segment_status(const char *name, int err)
{
	segment_fail(name, err);
	return shmfs_name_validate(name) ? 2 : 1;
}

/* A segment's size: as size= reads it (size.h), and an off_t. */
static int size_arg_parse(const char *s, uint64_t *out)
{
	int err = shmfs_size_parse(s, out);

	return !err && *out > INT64_MAX ? -ERANGE : err;
}

int shmfs_cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "transient", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int flags = SHMFS_OPEN_CREATE, c, err;
	struct shmfs_segment *seg;
	uint64_t size;

	while ((c = getopt_long(argc, argv, "+th", longopts, NULL)) != -1) {
		switch (c) {
		case 't': flags |= SHMFS_TRANSIENT; break;
		case 'h': puts("Usage: shmfs create [--transient] NAME SIZE"); return 0;
		default: return 2;
		}
	}
	if (argc - optind != 2) {
		fputs("shmfs: usage: shmfs create [--transient] NAME SIZE\n", stderr);
		return 2;
	}
	if (size_arg_parse(argv[optind + 1], &size)) {
		fprintf(stderr,
			"shmfs: invalid size '%s' (bytes, or with a "
			"k, m or g suffix)\n",
			argv[optind + 1]);
		return 2;
	}
	err = shmfs_segment_open(argv[optind], size, flags, &seg);
	if (err)
		return segment_status(argv[optind], err);
	shmfs_segment_close(seg);
	return 0;
}

int shmfs_cmd_rm(int argc, char **argv)
{
	int status = 0, c;

	while ((c = getopt(argc, argv, "+h")) != -1) {
		if (c != 'h')
			return 2;
		puts("Usage: shmfs rm NAME...");
		return 0;
	}
	if (optind == argc) {
		fputs("shmfs: usage: shmfs rm NAME...\n", stderr);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		int err = shmfs_segment_unlink(argv[i]);
		int st;

		if (!err)
			continue;
		st = segment_status(argv[i], err);
		if (st > status)
			status = st;
	}
	return status;
}

/* Add segment NAME (malloc()ed, taken on success) to L. */
static int ls_add(struct ls_list *l, char *name, const struct stat *st, bool transient)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct ls_entry *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].name = name;
	l->v[l->n].st = *st;
	l->v[l->n].transient = transient;
	l->n++;
	return 0;
}

/* Whether the xattr name list list[0..len) holds NAME. */
static bool xattr_listed(const char *list, ssize_t len, const char *name)
{
	for (const char *p = list; p < list + len; p += strlen(p) + 1)
		if (!strcmp(p, name))
			return true;
	return false;
}

/* Whether DIRFD/NAME is marked transient. Read by path, without opening
 * the segment: a close could be what makes the daemon remove it. A mount
 * may refuse to read xattrs (shmfs without -o xattr) but always lists
 * them: the mark's presence then has to do. */
static bool is_transient(int dirfd, const char *name)
{
	char path[PATH_MAX + 32], list[4096], val[8];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
	n = llistxattr(path, list, sizeof(list));
	if (n <= 0 || !xattr_listed(list, n, SHMFS_XATTR_TRANSIENT))
		return false;
	n = lgetxattr(path, SHMFS_XATTR_TRANSIENT, val, sizeof(val));
	if (n < 0)
		return errno == ENOTSUP || errno == ENOSYS;
	return n == sizeof(SHMFS_XATTR_TRANSIENT_VALUE) - 1 &&
	       !memcmp(val, SHMFS_XATTR_TRANSIENT_VALUE, (size_t)n);
}

/*
 * Add every segment under the directory open at top to L. The walk holds
 * one directory open at a time and memory in proportion to the depth, so
 * a tree of any depth is listed whole.
 */
static int ls_walk(struct ls_list *l, int top)
{
	struct shmfs_walk w;
	const char *base;
	int err = shmfs_walk_init(&w, top, 0);

	while (!err && (err = shmfs_walk_next(&w, &base)) > 0) {
		int dirfd = shmfs_walk_dirfd(&w);
		char *name = shmfs_walk_path(&w, base);
		struct stat st;

		err = name ? 0 : -ENOMEM;
		if (err || fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			free(name); /* removed meanwhile */
			continue;
		}
		if (S_ISREG(st.st_mode)) {
			err = ls_add(l, name, &st, is_transient(dirfd, base));
			if (!err)
				continue;
		} else if (S_ISDIR(st.st_mode) && shmfs_walk_down(&w, base) < 0) {
			fprintf(stderr, "shmfs: cannot read directory '%s'\n", name);
			l->err = 1;
		}
		free(name);
	}
	shmfs_walk_release(&w);
	return err;
}

static int ls_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ls_entry *)a)->name, ((const struct ls_entry *)b)->name);
}

static void owner_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s", pw.pw_name);
	else
		snprintf(buf, len, "%u", (unsigned int)uid);
}

static void mode_string(mode_t m, char *s)
{
	static const char rwx[] = "rwxrwxrwx";

	s[0] = '-';
	for (int i = 0; i < 9; i++)
		s[i + 1] = (m & (0400 >> i)) ? rwx[i] : '-';
	if (m & S_ISUID)
		s[3] = (m & S_IXUSR) ? 's' : 'S';
	if (m & S_ISGID)
		s[6] = (m & S_IXGRP) ? 's' : 'S';
	if (m & S_ISVTX)
		s[9] = (m & S_IXOTH) ? 't' : 'T';
	s[10] = '\0';
}

/* A name for a terminal: control characters shown as '?'. */
static void print_name(const char *name)
{
	for (const char *p = name; *p; p++)
		putchar((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
}

/* Under a segment's line, one line for each process that holds it. */
static void holders_print_text(const struct shmfs_holders *h, ino_t ino)
{
	size_t n = 0;
	const struct shmfs_holder *v = h ? shmfs_holders_of(h, ino, &n) : NULL;
	char user[64];

	for (size_t i = 0; i < n; i++) {
		owner_name(v[i].uid, user, sizeof(user));
		printf("  held by pid %d (%s, ", (int)v[i].pid, user);
		print_name(v[i].comm);
		printf("): %s%s%s\n", v[i].open ? "open" : "", v[i].open && v[i].mapped ? ", " : "",
		       v[i].mapped ? "mapped" : "");
	}
}

static void ls_print_text(const struct ls_list *l, const struct shmfs_holders *h)
{
	int wname = 4, wsize = 4, wowner = 5;
	char owner[64], mode[11], when[32], num[32];

	for (size_t i = 0; i < l->n; i++) {
		int n = (int)strlen(l->v[i].name);

		if (n > wname)
			wname = n;
		n = snprintf(num, sizeof(num), "%jd", (intmax_t)l->v[i].st.st_size);
		if (n > wsize)
			wsize = n;
		owner_name(l->v[i].st.st_uid, owner, sizeof(owner));
		if ((n = (int)strlen(owner)) > wowner)
			wowner = n;
	}
	printf("%-*s  %*s  %-*s  %-10s  %s\n", wname, "NAME", wsize, "SIZE", wowner, "OWNER",
	       "MODE", "MODIFIED");
	for (size_t i = 0; i < l->n; i++) {
		const struct ls_entry *e = &l->v[i];
		struct tm tm;

		owner_name(e->st.st_uid, owner, sizeof(owner));
		mode_string(e->st.st_mode, mode);
		localtime_r(&e->st.st_mtime, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		print_name(e->name);
		printf("%*s  %*jd  %-*s  %s  %s%s\n", wname - (int)strlen(e->name), "", wsize,
		       (intmax_t)e->st.st_size, wowner, owner, mode, when,
		       e->transient ? "  transient" : "");
		holders_print_text(h, e->st.st_ino);
	}
}

/* A JSON string: escapes as RFC 8259 asks; bytes that are not UTF-8 become
 * U+FFFD, so the output is always valid JSON. */
static void json_string(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len;

	putchar('"');
	for (; *p; p += len) {
		len = 1;
		if (*p == '"' || *p == '\\') {
			printf("\\%c", *p);
		} else if (*p < 0x20 || *p == 0x7f) {
			printf("\\u%04x", *p);
		} else if (*p < 0x80) {
			putchar(*p);
		} else {
			/* The one length at which p starts a valid sequence. */
			for (len = 2; len <= 4; len++)
				if (strnlen((const char *)p, len) == len &&
				    !shmfs_utf8_validate(p, len))
					break;
			if (len > 4) {
				fputs("\\ufffd", stdout);
				len = 1;
			} else {
				fwrite(p, 1, len, stdout);
			}
		}
	}
	putchar('"');
}

/* A segment's "holders": [{"pid": ..., "user": ..., ...}, ...]. */
static void holders_print_json(const struct shmfs_holders *h, ino_t ino)
{
	size_t n = 0;
	const struct shmfs_holder *v = shmfs_holders_of(h, ino, &n);
	char user[64];

	fputs(", \"holders\": [", stdout);
	for (size_t i = 0; i < n; i++) {
		owner_name(v[i].uid, user, sizeof(user));
		printf("%s{\"pid\": %d, \"user\": ", i ? ", " : "", (int)v[i].pid);
		json_string(user);
		printf(", \"uid\": %u, \"command\": ", (unsigned int)v[i].uid);
		json_string(v[i].comm);
		printf(", \"open\": %s, \"mapped\": %s}", v[i].open ? "true" : "false",
		       v[i].mapped ? "true" : "false");
	}
	putchar(']');
}

static void ls_print_json(const struct ls_list *l, const struct shmfs_holders *h)
{
	char owner[64], when[32];

	putchar('[');
	for (size_t i = 0; i < l->n; i++) {
		const struct ls_entry *e = &l->v[i];
		struct tm tm;

		owner_name(e->st.st_uid, owner, sizeof(owner));
		gmtime_r(&e->st.st_mtime, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%s\n  {\"name\": ", i ? "," : "");
		json_string(e->name);
		printf(", \"size\": %jd, \"owner\": ", (intmax_t)e->st.st_size);
		json_string(owner);
		printf(", \"uid\": %u, \"gid\": %u, \"mode\": \"%04o\", "
		       "\"mtime\": \"%s\", \"transient\": %s",
		       (unsigned int)e->st.st_uid, (unsigned int)e->st.st_gid,
		       (unsigned int)(e->st.st_mode & 07777), when,
		       e->transient ? "true" : "false");
		if (h)
			holders_print_json(h, e->st.st_ino);
		putchar('}');
	}
	puts(l->n ? "\n]" : "]");
}

/*
 * The holders of the segments on the file system of the directory open at
 * fd, into h; say how many processes could not be looked at.
 */
static int ls_holders(int fd, struct shmfs_holders *h)
{
	struct stat st;
	int err = fstat(fd, &st) ? -errno : shmfs_holders_scan(h, st.st_dev);

	if (err)
		fprintf(stderr, "shmfs: cannot find the holders of the segments: %s\n",
			strerror(-err));
	else if (h->skipped)
		fprintf(stderr,
			"shmfs: %zu process%s could not be inspected (permission denied): "
			"what %s hold%s is not shown\n",
			h->skipped, h->skipped == 1 ? "" : "es", h->skipped == 1 ? "it" : "they",
			h->skipped == 1 ? "s" : "");
	return err;
}

int shmfs_cmd_ls(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "holders", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ls_list list = { 0 };
	struct shmfs_holders holders = { 0 };
	const char *dir;
	bool json = false, with_holders = false;
	int c, fd, err;

	while ((c = getopt_long(argc, argv, "+jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'H': with_holders = true; break;
		case 'h': puts("Usage: shmfs ls [--json] [--holders] [MOUNTPOINT]"); return 0;
		default: return 2;
		}
	}
	if (argc - optind > 1) {
		fputs("shmfs: usage: shmfs ls [--json] [--holders] [MOUNTPOINT]\n", stderr);
		return 2;
	}
	dir = optind < argc ? argv[optind] : shmfs_name_dir();
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "shmfs: cannot list '%s': %s\n", dir, strerror(errno));
		return 1;
	}
	err = ls_walk(&list, fd);
	if (!err && with_holders && ls_holders(fd, &holders))
		list.err = 1;
	close(fd);
	if (err) {
		fprintf(stderr, "shmfs: cannot list '%s': %s\n", dir, strerror(-err));
		list.err = 1;
	} else {
		qsort(list.v, list.n, sizeof(*list.v), ls_cmp);
		if (json)
			ls_print_json(&list, with_holders ? &holders : NULL);
		else
			ls_print_text(&list, with_holders ? &holders : NULL);
	}
	shmfs_holders_release(&holders);
	for (size_t i = 0; i < list.n; i++)
		free(list.v[i].name);
	free(list.v);
	return list.err ? 1 : 0;
}
