// SPDX-License-Identifier: MIT
/*
 * Unit checks of libshmfs that touch no filesystem: segment name rules,
 * name resolution through $SHMFS_DIR, UTF-8 validation, the checksum and
 * the wording of error messages.
 */
#include <shmfs.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void check_validate(void)
{
	char long_ok[SHMFS_NAME_MAX + 1], long_bad[SHMFS_NAME_MAX + 2];
	char nested[SHMFS_NAME_MAX + 8];

	memset(long_ok, 'a', SHMFS_NAME_MAX);
	long_ok[SHMFS_NAME_MAX] = '\0';
	memset(long_bad, 'b', SHMFS_NAME_MAX + 1);
	long_bad[SHMFS_NAME_MAX + 1] = '\0';
	snprintf(nested, sizeof(nested), "dir/%s", long_ok);

	CHECK_ERR(shmfs_name_validate("MemoryFile"), 0);
	CHECK_ERR(shmfs_name_validate("a/b"), 0);
	CHECK_ERR(shmfs_name_validate("app/Commands.v2"), 0);
	CHECK_ERR(shmfs_name_validate(".hidden"), 0);
	CHECK_ERR(shmfs_name_validate("..."), 0);
	CHECK_ERR(shmfs_name_validate("Gr\xc3\xb6\xc3\x9f"
				      "e"),
		  0);
	CHECK_ERR(shmfs_name_validate(long_ok), 0);
	CHECK_ERR(shmfs_name_validate(nested), 0);

	CHECK_ERR(shmfs_name_validate(NULL), -EINVAL);
	CHECK_ERR(shmfs_name_validate(""), -EINVAL);
	CHECK_ERR(shmfs_name_validate("/abs"), -EINVAL);
	CHECK_ERR(shmfs_name_validate("."), -EINVAL);
	CHECK_ERR(shmfs_name_validate(".."), -EINVAL);
	CHECK_ERR(shmfs_name_validate("a/."), -EINVAL);
	CHECK_ERR(shmfs_name_validate("a/../b"), -EINVAL);
	CHECK_ERR(shmfs_name_validate("../escape"), -EINVAL);
	CHECK_ERR(shmfs_name_validate("a//b"), -EINVAL);
	CHECK_ERR(shmfs_name_validate("a/"), -EINVAL);
	CHECK_ERR(shmfs_name_validate("line\nbreak"), -EINVAL);
	CHECK_ERR(shmfs_name_validate("tab\there"), -EINVAL);
	CHECK_ERR(shmfs_name_validate("del\x7f"), -EINVAL);
	CHECK_ERR(shmfs_name_validate(long_bad), -ENAMETOOLONG);

	/* Edges: a lone slash, dot components anywhere, every control
	 * character, and a component of exactly SHMFS_NAME_MAX + 1 bytes at
	 * the end of a path whose other components are fine. */
	CHECK_ERR(shmfs_name_validate("/"), -EINVAL);
	CHECK_ERR(shmfs_name_validate("//"), -EINVAL);
	CHECK_ERR(shmfs_name_validate("./a"), -EINVAL);
	CHECK_ERR(shmfs_name_validate("a/./b"), -EINVAL);
	CHECK_ERR(shmfs_name_validate("a/.."), -EINVAL);
	CHECK_ERR(shmfs_name_validate("a/b/"), -EINVAL);
	CHECK_ERR(shmfs_name_validate("a/.b/..c"), 0);
	CHECK_ERR(shmfs_name_validate("with space"), 0);
	CHECK_ERR(shmfs_name_validate("~tilde-and-#hash"), 0);
	for (int c = 1; c < 0x20; c++) {
		char bad[] = { 'x', (char)c, 'y', '\0' };
		char lead[] = { (char)c, '\0' };

		CHECK(shmfs_name_validate(bad) == -EINVAL, "control 0x%02x", c);
		CHECK(shmfs_name_validate(lead) == -EINVAL, "lone 0x%02x", c);
	}
	CHECK_ERR(shmfs_name_validate("esc\x1b[0m"), -EINVAL);
	snprintf(nested, sizeof(nested), "a/b/%s", long_ok);
	CHECK_ERR(shmfs_name_validate(nested), 0);
	nested[strlen(nested) + 1] = '\0';
	nested[strlen(nested)] = 'z';
	CHECK_ERR(shmfs_name_validate(nested), -ENAMETOOLONG);
	/* A bad component before an over-long one is reported first. */
	snprintf(nested, sizeof(nested), "../%s", long_ok);
	CHECK_ERR(shmfs_name_validate(nested), -EINVAL);
	snprintf(nested, sizeof(nested), "d/%s", long_bad);
	CHECK_ERR(shmfs_name_validate(nested), -ENAMETOOLONG);
}

static void check_resolve(void)
{
	char buf[64];

	unsetenv("SHMFS_DIR");
	CHECK(!strcmp(shmfs_name_dir(), SHMFS_DEFAULT_DIR), "default dir %s", shmfs_name_dir());
	CHECK_ERR(shmfs_name_resolve("MemoryFile", buf, sizeof(buf)), 0);
	CHECK(!strcmp(buf, "/mnt/shm/MemoryFile"), "resolved %s", buf);

	setenv("SHMFS_DIR", "", 1);
	CHECK(!strcmp(shmfs_name_dir(), SHMFS_DEFAULT_DIR), "empty SHMFS_DIR");

	setenv("SHMFS_DIR", "/run/user/seg", 1);
	CHECK_ERR(shmfs_name_resolve("a/b", buf, sizeof(buf)), 0);
	CHECK(!strcmp(buf, "/run/user/seg/a/b"), "resolved %s", buf);

	setenv("SHMFS_DIR", "/run/user/seg//", 1);
	CHECK_ERR(shmfs_name_resolve("x", buf, sizeof(buf)), 0);
	CHECK(!strcmp(buf, "/run/user/seg/x"), "trailing slashes: %s", buf);

	setenv("SHMFS_DIR", "/", 1);
	CHECK_ERR(shmfs_name_resolve("x", buf, sizeof(buf)), 0);
	CHECK(!strcmp(buf, "/x"), "root dir: %s", buf);

	setenv("SHMFS_DIR", "/d", 1);
	CHECK_ERR(shmfs_name_resolve("abc", buf, 7), 0); /* "/d/abc" */
	CHECK_ERR(shmfs_name_resolve("abcd", buf, 7), -ENAMETOOLONG);
	CHECK_ERR(shmfs_name_resolve("../etc/passwd", buf, sizeof(buf)), -EINVAL);
	CHECK_ERR(shmfs_name_resolve("", buf, sizeof(buf)), -EINVAL);
	CHECK_ERR(shmfs_name_resolve(NULL, buf, sizeof(buf)), -EINVAL);
	CHECK_ERR(shmfs_name_resolve("a\x01", buf, sizeof(buf)), -EINVAL);
	/* Exactly the room for "/d/ab" and its NUL, then one byte short. */
	CHECK_ERR(shmfs_name_resolve("ab", buf, 6), 0);
	CHECK(!strcmp(buf, "/d/ab"), "resolved %s", buf);
	CHECK_ERR(shmfs_name_resolve("ab", buf, 5), -ENAMETOOLONG);
	CHECK_ERR(shmfs_name_resolve("ab", buf, 0), -ENAMETOOLONG);
}

static void check_utf8(void)
{
	static const struct {
		const char *s;
		int want;
	} cases[] = {
		{ "", 0 },
		{ "plain ascii", 0 },
		{ "caf\xc3\xa9", 0 },
		{ "\xe2\x82\xac", 0 },	   /* euro sign */
		{ "\xf0\x9f\x98\x80", 0 }, /* emoji */
		{ "\xf4\x8f\xbf\xbf", 0 }, /* U+10FFFF */
		{ "\xef\xbf\xbd", 0 },	   /* U+FFFD */
		{ "\x80", -EILSEQ },	   /* stray continuation */
		{ "\xc3", -EILSEQ },	   /* cut short */
		{ "\xe2\x82", -EILSEQ },
		{ "\xc0\x80", -EILSEQ }, /* overlong NUL */
		{ "\xc1\xbf", -EILSEQ },
		{ "\xe0\x80\x80", -EILSEQ },	 /* overlong */
		{ "\xf0\x80\x80\x80", -EILSEQ }, /* overlong */
		{ "\xed\xa0\x80", -EILSEQ },	 /* surrogate */
		{ "\xf4\x90\x80\x80", -EILSEQ }, /* past U+10FFFF */
		{ "\xf5\x80\x80\x80", -EILSEQ },
		{ "\xff", -EILSEQ },
		{ "ok\xc3(", -EILSEQ },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = shmfs_utf8_validate(cases[i].s, strlen(cases[i].s));

		CHECK(got == cases[i].want, "utf8 case %zu: %d, want %d", i, got, cases[i].want);
	}
}

static void check_checksum(void)
{
	/* FNV-1a 64 reference values. */
	CHECK(shmfs_checksum("", 0) == 0xcbf29ce484222325ull, "fnv empty");
	CHECK(shmfs_checksum("a", 1) == 0xaf63dc4c8601ec8cull, "fnv a");
	CHECK(shmfs_checksum("foobar", 6) == 0x85944171f73967e8ull, "fnv foobar");
}

static void check_messages(void)
{
	char buf[256], tiny[12];

	setenv("SHMFS_DIR", "/", 1); /* exists everywhere */
	CHECK_ERR(shmfs_segment_error("MemoryFile", -ENOENT, buf, sizeof(buf)), 0);
	CHECK(!strcmp(buf, "segment 'MemoryFile' does not exist"), "%s", buf);
	CHECK_ERR(shmfs_segment_error("x", EEXIST, buf, sizeof(buf)), 0);
	CHECK(!strcmp(buf, "segment 'x' already exists"), "%s", buf);
	CHECK_ERR(shmfs_segment_error("../x", -EINVAL, buf, sizeof(buf)), 0);
	CHECK(!strcmp(buf, "invalid segment name '../x'"), "%s", buf);
	CHECK_ERR(shmfs_segment_error("a\nb", -EINVAL, buf, sizeof(buf)), 0);
	CHECK(!strcmp(buf, "invalid segment name 'a?b'"), "one line: %s", buf);
	CHECK_ERR(shmfs_segment_error("x", -EIO, buf, sizeof(buf)), 0);
	CHECK(!strncmp(buf, "segment 'x': ", 13) && strlen(buf) > 13, "%s", buf);
	CHECK_ERR(shmfs_segment_error("MemoryFile", -ENOENT, tiny, sizeof(tiny)), -ENAMETOOLONG);
	CHECK(strlen(tiny) == sizeof(tiny) - 1, "cut message is terminated");

	setenv("SHMFS_DIR", "/nonexistent-shmfs-dir", 1);
	CHECK_ERR(shmfs_segment_error("x", -ENOENT, buf, sizeof(buf)), 0);
	CHECK(strstr(buf, "'/nonexistent-shmfs-dir' does not exist"), "%s", buf);
}

int main(void)
{
	check_validate();
	check_resolve();
	check_utf8();
	check_checksum();
	check_messages();
	return check_report("lib_names");
}
