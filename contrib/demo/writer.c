// SPDX-License-Identifier: MIT
/*
 * shmfs-demo-writer: the writing half of the two-program demo. Creates (or
 * opens) the 26-byte segment "MemoryFile" and stores the bytes 1..26 in it,
 * or with --add N adds N to each byte already there. The Linux counterpart
 * of MemoryMappedFile.CreateOrOpen("MemoryFile", 26) and a view accessor.
 */
#include <shmfs.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#define DEMO_NAME "MemoryFile"
#define DEMO_SIZE 26

static void usage(FILE *out)
{
	fputs("Usage: shmfs-demo-writer [--add N]\n"
	      "Write the bytes 1..26 into segment '" DEMO_NAME "' (created if\n"
	      "need be), or add N to each of its bytes. The segment lives in\n"
	      "$SHMFS_DIR, else " SHMFS_DEFAULT_DIR ".\n",
	      out);
}

static int fail(int err)
{
	char msg[512];

	shmfs_segment_error(DEMO_NAME, err, msg, sizeof(msg));
	fprintf(stderr, "shmfs-demo-writer: %s\n", msg);
	return 1;
}

/* Fill or update the bytes while holding the segment's exclusive lock, so a
 * reader taking the shared lock sees all 26 old or all 26 new bytes. */
static int update(struct shmfs_segment *seg, bool add, int amount)
{
	struct shmfs_view *view;
	unsigned char *b;
	int err;

	err = shmfs_segment_lock(seg, SHMFS_LOCK_EXCLUSIVE, false);
	if (err)
		return err;
	err = shmfs_segment_grow(seg, DEMO_SIZE);
	if (!err)
		err = shmfs_view_map(seg, 0, DEMO_SIZE, 0, &view);
	if (!err) {
		b = shmfs_view_addr(view);
		for (int i = 0; i < DEMO_SIZE; i++)
			b[i] = add ? (unsigned char)(b[i] + amount) : (unsigned char)(i + 1);
		printf("%s '%s':", add ? "updated" : "wrote", DEMO_NAME);
		for (int i = 0; i < DEMO_SIZE; i++)
			printf(" %d", b[i]);
		putchar('\n');
		shmfs_view_unmap(view);
	}
	shmfs_segment_unlock(seg);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "add", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct shmfs_segment *seg;
	bool add = false;
	long amount = 0;
	char *end;
	int c, err;

	while ((c = getopt_long(argc, argv, "a:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			add = true;
			amount = strtol(optarg, &end, 10);
			if (*end || !*optarg || amount < -255 || amount > 255) {
				fprintf(stderr,
					"shmfs-demo-writer: --add wants a "
					"number from -255 to 255, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* Size 0 here: the segment is grown under the lock, so a reader never
	 * finds 26 bytes that are not written yet. */
	err = shmfs_segment_open(DEMO_NAME, 0, SHMFS_OPEN_CREATE, &seg);
	if (err)
		return fail(err);
	err = update(seg, add, (int)amount);
	shmfs_segment_close(seg);
	return err ? fail(err) : 0;
}
