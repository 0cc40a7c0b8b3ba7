// SPDX-License-Identifier: MIT
/*
 * Checks of libshmfs views against $SHMFS_DIR: mapping at offsets that are
 * not page aligned, the bounds of maps, copies and strings, read-only
 * views, and that two views (in two processes) share the same bytes.
 */
#include <shmfs.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define SEG_SIZE 10000 /* deliberately not a multiple of the page size */

static void check_map_bounds(struct shmfs_segment *seg)
{
	struct shmfs_view *v = NULL;

	REQUIRE_ERR(shmfs_view_map(seg, 0, 0, 0, &v), 0);
	CHECK(v && shmfs_view_length(v) == SEG_SIZE, "whole-segment view");
	shmfs_view_unmap(v);
	REQUIRE_ERR(shmfs_view_map(seg, 5000, 0, 0, &v), 0);
	CHECK(v && shmfs_view_length(v) == SEG_SIZE - 5000, "view to the end");
	shmfs_view_unmap(v);
	REQUIRE_ERR(shmfs_view_map(seg, SEG_SIZE - 1, 1, 0, &v), 0);
	shmfs_view_unmap(v);
	CHECK_ERR(shmfs_view_map(seg, SEG_SIZE, 0, 0, &v), -ERANGE);
	CHECK_ERR(shmfs_view_map(seg, SEG_SIZE - 1, 2, 0, &v), -ERANGE);
	CHECK_ERR(shmfs_view_map(seg, 1, SIZE_MAX, 0, &v), -ERANGE);
	CHECK_ERR(shmfs_view_map(seg, UINT64_MAX, 1, 0, &v), -ERANGE);
	CHECK_ERR(shmfs_view_map(seg, 0, 10, 0x4, &v), -EINVAL);
}

/* Views at different, unaligned offsets see the same bytes. */
static void check_unaligned(struct shmfs_segment *seg)
{
	struct shmfs_view *a = NULL, *b = NULL;
	unsigned char out[128] = { 0 };

	REQUIRE_ERR(shmfs_view_map(seg, 4097, 100, SHMFS_PROT_READ | SHMFS_PROT_WRITE, &a), 0);
	REQUIRE_ERR(shmfs_view_map(seg, 4000, 200, 0, &b), 0);
	if (!a || !b)
		return;
	CHECK_ERR(shmfs_view_write(a, 0, out, 100), 0);
	CHECK_ERR(shmfs_view_write(a, 100, out, 0), 0);
	CHECK_ERR(shmfs_view_write(a, 95, out, 6), -ERANGE);
	CHECK_ERR(shmfs_view_write(a, 101, out, 0), -ERANGE);
	CHECK_ERR(shmfs_view_read(a, SIZE_MAX, out, 2), -ERANGE);
	CHECK_ERR(shmfs_view_read(a, 2, out, SIZE_MAX), -ERANGE);

	CHECK_ERR(shmfs_view_write(a, 3, "shared", 6), 0);
	/* Byte 4097 + 3 of the segment is byte 100 of view b. */
	CHECK_ERR(shmfs_view_read(b, 100, out, 6), 0);
	CHECK(!memcmp(out, "shared", 6), "same bytes through two views");
	CHECK(memcmp((char *)shmfs_view_addr(b) + 100, "shared", 6) == 0,
	      "view address points at its offset");
	shmfs_view_unmap(a);
	shmfs_view_unmap(b);
}

/*
 * Strings whose prefix or bytes end exactly at the view's end, or one byte
 * past it; lengths that are negative as 32-bit numbers or huge; offsets
 * that overflow. V is a 64-byte writable view.
 */
static void check_string_edges(struct shmfs_view *v)
{
	unsigned char *raw = shmfs_view_addr(v);
	char sixty[61], buf[128];
	size_t len = 99;

	/* A prefix that ends at the view's end, with no bytes after it. */
	CHECK_ERR(shmfs_view_write_string(v, 60, ""), 0);
	CHECK_ERR(shmfs_view_read_string(v, 60, buf, sizeof(buf), &len), 0);
	CHECK(len == 0 && buf[0] == '\0', "empty string at the end: %zu", len);
	CHECK_ERR(shmfs_view_write_string(v, 61, ""), -ERANGE);
	CHECK_ERR(shmfs_view_write_string(v, 64, ""), -ERANGE);
	CHECK_ERR(shmfs_view_write_string(v, 65, ""), -ERANGE);
	CHECK_ERR(shmfs_view_read_string(v, 64, buf, sizeof(buf), &len), -ERANGE);
	CHECK_ERR(shmfs_view_read_string(v, 65, buf, sizeof(buf), &len), -ERANGE);

	/* Bytes that end exactly at the view's end, then one past. */
	memset(sixty, 's', 60);
	sixty[60] = '\0';
	CHECK_ERR(shmfs_view_write_string(v, 0, sixty), 0);
	CHECK_ERR(shmfs_view_read_string(v, 0, buf, sizeof(buf), &len), 0);
	CHECK(len == 60 && !strcmp(buf, sixty), "60 bytes that fill the view");
	CHECK_ERR(shmfs_view_read_string(v, 0, buf, 61, &len), 0);
	CHECK_ERR(shmfs_view_read_string(v, 0, buf, 60, &len), -EMSGSIZE);
	CHECK_ERR(shmfs_view_write_string(v, 1, sixty), -EMSGSIZE);
	CHECK_ERR(shmfs_view_write_string(v, 4, sixty + 4), 0);
	CHECK_ERR(shmfs_view_read_string(v, 4, buf, sizeof(buf), &len), 0);
	CHECK(len == 56, "56 bytes after a prefix at 4: %zu", len);
	memcpy(raw + 4, "\x39\x00\x00\x00", 4); /* 57: one past the end */
	CHECK_ERR(shmfs_view_read_string(v, 4, buf, sizeof(buf), &len), -ERANGE);
	memcpy(raw, "\x3d\x00\x00\x00", 4); /* 61 at 0: one past */
	CHECK_ERR(shmfs_view_read_string(v, 0, buf, sizeof(buf), &len), -ERANGE);

	/* Lengths a signed reader would take as negative, and huge ones. */
	static const char *const prefixes[] = {
		"\x00\x00\x00\x80",
		"\xfc\xff\xff\xff",
		"\xff\xff\xff\x7f",
		"\x00\x00\x01\x00",
	};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		memcpy(raw, prefixes[i], 4);
		len = 7;
		CHECK(shmfs_view_read_string(v, 0, buf, sizeof(buf), &len) == -ERANGE,
		      "prefix %zu is refused", i);
		memcpy(raw + 56, prefixes[i], 4);
		CHECK(shmfs_view_read_string(v, 56, buf, sizeof(buf), &len) == -ERANGE,
		      "prefix %zu near the end is refused", i);
	}

	/* Offsets where off + prefix or off + length would wrap around. */
	CHECK_ERR(shmfs_view_write_string(v, SIZE_MAX, ""), -ERANGE);
	CHECK_ERR(shmfs_view_write_string(v, SIZE_MAX - 3, ""), -ERANGE);
	CHECK_ERR(shmfs_view_read_string(v, SIZE_MAX - 3, buf, sizeof(buf), &len), -ERANGE);
	CHECK_ERR(shmfs_view_read(v, 64, buf, 0), 0);
	CHECK_ERR(shmfs_view_read(v, 64, buf, 1), -ERANGE);
	CHECK_ERR(shmfs_view_read(v, 1, buf, SIZE_MAX), -ERANGE);
	CHECK_ERR(shmfs_view_write(v, SIZE_MAX, buf, 1), -ERANGE);
}

/* A view that ends where the segment ends holds strings up to its end. */
static void check_string_at_segment_end(struct shmfs_segment *seg)
{
	struct shmfs_view *v = NULL;
	char buf[16];
	size_t len = 0;

	REQUIRE_ERR(shmfs_view_map(seg, SEG_SIZE - 8, 0, 0, &v), 0);
	if (!v)
		return;
	CHECK(shmfs_view_length(v) == 8, "8-byte view at the segment's end");
	CHECK_ERR(shmfs_view_write_string(v, 0, "abcd"), 0);
	CHECK_ERR(shmfs_view_read_string(v, 0, buf, sizeof(buf), &len), 0);
	CHECK(len == 4 && !strcmp(buf, "abcd"), "string up to the last byte");
	CHECK_ERR(shmfs_view_write_string(v, 0, "abcde"), -EMSGSIZE);
	CHECK_ERR(shmfs_view_write_string(v, 4, ""), 0);
	CHECK_ERR(shmfs_view_write_string(v, 5, ""), -ERANGE);
	shmfs_view_unmap(v);
}

static void check_strings(struct shmfs_segment *seg)
{
	const char *text = "h\xc3\xa9llo, w\xc3\xb6rld \xe2\x82\xac";
	struct shmfs_view *v = NULL;
	char buf[64];
	size_t len = 0;
	unsigned char *raw;

	REQUIRE_ERR(shmfs_view_map(seg, 8000, 64, 0, &v), 0);
	if (!v)
		return;
	raw = shmfs_view_addr(v);
	CHECK_ERR(shmfs_view_write_string(v, 0, text), 0);
	CHECK(raw[0] == strlen(text) && raw[1] == 0 && raw[2] == 0 && raw[3] == 0,
	      "little-endian 32-bit length prefix");
	CHECK_ERR(shmfs_view_read_string(v, 0, buf, sizeof(buf), &len), 0);
	CHECK(len == strlen(text) && !strcmp(buf, text), "string round trip");
	CHECK_ERR(shmfs_view_read_string(v, 0, buf, strlen(text), &len), -EMSGSIZE);
	CHECK(len == strlen(text), "EMSGSIZE tells the length needed");
	CHECK_ERR(shmfs_view_read_string(v, 0, buf, strlen(text) + 1, NULL), 0);

	CHECK_ERR(shmfs_view_write_string(v, 40, ""), 0);
	CHECK_ERR(shmfs_view_read_string(v, 40, buf, 1, &len), 0);
	CHECK(len == 0 && buf[0] == '\0', "empty string");

	/* Bounds: the prefix, then the bytes. */
	CHECK_ERR(shmfs_view_write_string(v, 61, "x"), -ERANGE);
	CHECK_ERR(shmfs_view_write_string(v, 60, "x"), -EMSGSIZE);
	CHECK_ERR(shmfs_view_write_string(v, 59, "x"), 0);
	CHECK_ERR(shmfs_view_write_string(v, 0,
					  "this string is longer than the "
					  "sixty bytes the view has room for"),
		  -EMSGSIZE);
	CHECK_ERR(shmfs_view_write_string(v, SIZE_MAX - 1, "x"), -ERANGE);
	CHECK_ERR(shmfs_view_read_string(v, 61, buf, sizeof(buf), &len), -ERANGE);
	CHECK_ERR(shmfs_view_read_string(v, SIZE_MAX - 2, buf, sizeof(buf), &len), -ERANGE);
	CHECK_ERR(shmfs_view_write_string(v, 0, "bad \xc3 utf-8"), -EILSEQ);

	/* What another program left in the view is checked on the way in. */
	memcpy(raw,
	       "\x05\x00\x00\x00"
	       "ab\xff"
	       "cd",
	       9);
	CHECK_ERR(shmfs_view_read_string(v, 0, buf, sizeof(buf), &len), -EILSEQ);
	memcpy(raw,
	       "\x05\x00\x00\x00"
	       "ab\0cd",
	       9);
	CHECK_ERR(shmfs_view_read_string(v, 0, buf, sizeof(buf), &len), -EILSEQ);
	memcpy(raw, "\x3d\x00\x00\x00", 4); /* 61 bytes: past the end */
	CHECK_ERR(shmfs_view_read_string(v, 0, buf, sizeof(buf), &len), -ERANGE);
	memcpy(raw, "\xff\xff\xff\xff", 4);
	CHECK_ERR(shmfs_view_read_string(v, 0, buf, sizeof(buf), &len), -ERANGE);
	check_string_edges(v);
	shmfs_view_unmap(v);
}

static void check_read_only(void)
{
	struct shmfs_segment *seg = NULL;
	struct shmfs_view *v = NULL;
	char buf[16];

	REQUIRE_ERR(shmfs_segment_open("view-test", 0, SHMFS_RDONLY, &seg), 0);
	if (!seg)
		return;
	CHECK_ERR(shmfs_view_map(seg, 0, 0, SHMFS_PROT_WRITE, &v), -EBADF);
	CHECK_ERR(shmfs_view_map(seg, 0, 0, SHMFS_PROT_READ | SHMFS_PROT_WRITE, &v), -EBADF);
	REQUIRE_ERR(shmfs_view_map(seg, 4097, 0, 0, &v), 0);
	if (v) {
		CHECK_ERR(shmfs_view_write(v, 0, "x", 1), -EBADF);
		CHECK_ERR(shmfs_view_write_string(v, 0, "x"), -EBADF);
		CHECK_ERR(shmfs_view_read(v, 3, buf, 6), 0);
		CHECK(!memcmp(buf, "shared", 6), "read-only view reads");
		shmfs_view_unmap(v);
	}
	shmfs_segment_close(seg);
}

/* A second process writes through its own view; we read through ours. */
static void check_cross_process(struct shmfs_segment *seg)
{
	struct shmfs_view *v = NULL;
	char buf[32];
	int status = -1;
	pid_t pid;

	REQUIRE_ERR(shmfs_view_map(seg, 1234, 100, 0, &v), 0);
	if (!v)
		return;
	pid = fork();
	if (pid == 0) {
		struct shmfs_segment *s;
		struct shmfs_view *w;

		if (shmfs_segment_open("view-test", 0, 0, &s) ||
		    shmfs_view_map(s, 1200, 0, 0, &w) ||
		    shmfs_view_write_string(w, 34, "from the child"))
			_exit(1);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child wrote");
	CHECK_ERR(shmfs_view_read_string(v, 0, buf, sizeof(buf), NULL), 0);
	CHECK(!strcmp(buf, "from the child"), "read %s", buf);
	shmfs_view_unmap(v);
}

int main(void)
{
	struct shmfs_segment *seg = NULL;
	int err;

	shmfs_segment_unlink("view-test");
	err = shmfs_segment_open("view-test", SEG_SIZE, SHMFS_OPEN_EXCL, &seg);
	if (err) {
		fprintf(stderr, "lib_view: cannot create a segment in '%s': %s\n", shmfs_name_dir(),
			strerror(-err));
		return 2;
	}
	check_map_bounds(seg);
	check_unaligned(seg);
	check_strings(seg);
	check_string_at_segment_end(seg);
	check_read_only();
	check_cross_process(seg);
	shmfs_segment_close(seg);
	shmfs_segment_unlink("view-test");
	return check_report("lib_view");
}
