// SPDX-License-Identifier: MIT
/*
 * Unit test of tmpfs's huge=, noswap and mpol= for the store
 * (core/tmpfs_options.h): the grammar, values as tmpfs writes them and
 * as it refuses them; the mount(2) text; and, as root, the kernel's
 * verdict through a context that is never mounted, and the options read
 * back from a tmpfs mounted in the scratch directory; and picking them
 * out of the kernel's list, node lists with commas in them whole. A directory store refusing them all is
 * shown by unit_store.
 */
#include "store.h"
#include "tmpfs_options.h"
#include "unit.h"

#include <limits.h>
#include <string.h>
#include <sys/mount.h>

static char scratch[PATH_MAX];

static void check_huge(void)
{
	static const char *const good[] = { "never", "always", "within_size", "advise" };
	static const char *const bad[] = { "",	    "Never",	   "deny",
					   "force", "within-size", "always ",
					   "1",	    "never,always" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *v = shmfs_tmpfs_huge_parse(good[i]);

		CHECK(v && !strcmp(v, good[i]), "huge=%s taken", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!shmfs_tmpfs_huge_parse(bad[i]), "huge='%s' refused", bad[i]);
}

static void check_mpol(void)
{
	static const char *const good[] = {
		"default",	     "local",
		"prefer:0",	     "prefer:12",
		"prefer=static:1",   "bind:0",
		"bind:0-3",	     "bind:0,2",
		"bind:0-1,4-5,7",    "bind=relative:0-1",
		"interleave",	     "interleave:0-1",
		"interleave=static", "interleave=static:0,1",
		"bind:1023",
	};
	static const char *const bad[] = {
		"",
		"Default",
		"default:0",
		"default=static",
		"local:0",
		"local=relative",
		"prefer",
		"prefer:",
		"prefer:0,1",
		"prefer:0-1",
		"prefer:-1",
		"bind",
		"bind:",
		"bind:,0",
		"bind:0,",
		"bind:3-1",
		"bind:0--1",
		"bind:a",
		"bind:1024",
		"bind=dynamic:0",
		"bind=static",
		"bind=:0",
		"interleave:",
		"interleave=",
		"weighted interleave",
		"prefer (many):0",
		"bind:0 ",
		" bind:0",
		"bind:99999999999999999999",
	};
	char longest[SHMFS_TMPFS_MPOL_MAX + 8];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_ERR(shmfs_tmpfs_mpol_check(good[i]), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(shmfs_tmpfs_mpol_check(bad[i]) == -EINVAL, "mpol='%s' refused", bad[i]);
	/* interleave:0,0,0,...: a list as long as shmfs takes, then one byte more. */
	strcpy(longest, "interleave:0");
	while (strlen(longest) + 2 <= SHMFS_TMPFS_MPOL_MAX)
		strcat(longest, ",0");
	CHECK_ERR(shmfs_tmpfs_mpol_check(longest), 0);
	strcat(longest, strlen(longest) < SHMFS_TMPFS_MPOL_MAX ? ",0" : "0");
	CHECK(strlen(longest) == SHMFS_TMPFS_MPOL_MAX + 1, "one byte more");
	CHECK_ERR(shmfs_tmpfs_mpol_check(longest), -EINVAL);
}

static void check_append(void)
{
	struct shmfs_tmpfs_options t = { 0 };
	char buf[64], small[16];
	int n;

	CHECK(!shmfs_tmpfs_options_any(&t), "nothing asked");
	strcpy(buf, "mode=0700");
	CHECK_ERR(shmfs_tmpfs_options_append(&t, false, buf, strlen(buf), sizeof(buf)), 9);
	CHECK(!strcmp(buf, "mode=0700"), "nothing added: '%s'", buf);
	t.huge = "within_size";
	t.noswap = true;
	t.mpol = "bind:0,2";
	CHECK(shmfs_tmpfs_options_any(&t), "asked");
	n = shmfs_tmpfs_options_append(&t, false, buf, strlen(buf), sizeof(buf));
	CHECK(n == (int)strlen(buf) && !strcmp(buf, "mode=0700,huge=within_size,noswap,"
						    "mpol=bind:0,2"),
	      "'%s'", buf);
	buf[0] = '\0';
	t.huge = NULL;
	t.noswap = false;
	t.mpol = NULL;
	n = shmfs_tmpfs_options_append(&t, true, buf, 0, sizeof(buf));
	CHECK(n == 6 && !strcmp(buf, "noswap"), "noswap kept on a remount: '%s'", buf);
	t.mpol = "interleave:0-1";
	strcpy(small, "size=1024");
	CHECK_ERR(shmfs_tmpfs_options_append(&t, false, small, strlen(small), sizeof(small)),
		  -ENAMETOOLONG);
	shmfs_tmpfs_options_first(&t, buf, sizeof(buf));
	CHECK(!strcmp(buf, "mpol=interleave:0-1"), "first: '%s'", buf);
	t.noswap = true;
	shmfs_tmpfs_options_first(&t, buf, sizeof(buf));
	CHECK(!strcmp(buf, "noswap"), "first: '%s'", buf);
}

/* Ours out of what the kernel shows, node lists with commas in them whole. */
static void check_filter(void)
{
	static const char *const cases[][2] = {
		{ "rw,size=1024k,mode=700", "" },
		{ "rw,huge=within_size,mpol=bind:0,2,noswap",
		  "huge=within_size,mpol=bind:0,2,noswap" },
		{ "rw,size=1024k,nr_inodes=12,mode=700,mpol=interleave:0-1,3-4,inode64",
		  "mpol=interleave:0-1,3-4" },
		{ "noswap", "noswap" },
		{ "rw,noswapx,hugely=1,mpol=prefer=static:1", "mpol=prefer=static:1" },
		{ "", "" },
	};
	char buf[128], tiny[12];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		shmfs_tmpfs_options_filter(cases[i][0], buf, sizeof(buf));
		CHECK(!strcmp(buf, cases[i][1]), "'%s' gives '%s', want '%s'", cases[i][0], buf,
		      cases[i][1]);
	}
	/* What does not fit is left out whole, never cut. */
	shmfs_tmpfs_options_filter("huge=always,mpol=interleave:0-1,noswap", tiny, sizeof(tiny));
	CHECK(!strcmp(tiny, "huge=always"), "'%s'", tiny);
}

/* Root only: what the kernel's tmpfs takes, and what a mounted one shows. */
static void check_kernel(void)
{
	struct shmfs_tmpfs_options t = { .mpol = "bind:1000" };
	char why[512], shown[256], mnt[PATH_MAX + 8], data[128];

	CHECK_ERR(shmfs_tmpfs_options_probe(&t, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "'mpol=bind:1000'") && strstr(why, "tmpfs"), "why: %s", why);
	t.mpol = "local";
	CHECK_ERR(shmfs_tmpfs_options_probe(&t, why, sizeof(why)), 0);
	t.huge = "never";
	CHECK_ERR(shmfs_tmpfs_options_probe(&t, why, sizeof(why)), 0);

	snprintf(mnt, sizeof(mnt), "%s/t", scratch);
	REQUIRE_ERR(mkdir(mnt, 0700) ? -errno : 0, 0);
	CHECK(!shmfs_tmpfs_options_shown(mnt, shown, sizeof(shown)), "nothing mounted");
	snprintf(data, sizeof(data), "mode=0700,size=1m");
	REQUIRE_ERR(mount("unit", mnt, "tmpfs", 0, data) ? -errno : 0, 0);
	CHECK(shmfs_tmpfs_options_shown(mnt, shown, sizeof(shown)) && !strcmp(shown, ""),
	      "the defaults show nothing: '%s'", shown);
	/* mpol= means something only on a kernel with NUMA, which has this directory. */
	if (!access("/sys/devices/system/node", F_OK)) {
		snprintf(data, sizeof(data), "mpol=local");
		CHECK_ERR(mount("unit", mnt, "tmpfs", MS_REMOUNT, data) ? -errno : 0, 0);
		CHECK(shmfs_tmpfs_options_shown(mnt, shown, sizeof(shown)) &&
			      !strcmp(shown, "mpol=local"),
		      "'%s'", shown);
	}
	umount(mnt);
}

int main(int argc, char **argv)
{
	int top = unit_scratch(argc, argv, "tmpfs_options", scratch, sizeof(scratch));

	check_huge();
	check_mpol();
	check_append();
	check_filter();
	if (geteuid() == 0)
		check_kernel();
	else
		printf("tmpfs_options: not root, the kernel not asked\n");
	close(top);
	return check_report("tmpfs_options");
}
