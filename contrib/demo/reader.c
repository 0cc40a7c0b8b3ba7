// SPDX-License-Identifier: MIT
/*
 * shmfs-demo-reader: the reading half of the two-program demo. Opens the
 * existing segment "MemoryFile" (like MemoryMappedFile.OpenExisting) and
 * prints its 26 bytes. If the segment does not exist yet, it says so, or
 * with --wait SECONDS waits for a writer to create it: inotify on the
 * segment directory tells when something there is created or written and
 * closed, so nothing is polled.
 */
#include <shmfs.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define DEMO_NAME "MemoryFile"
#define DEMO_SIZE 26

static void usage(FILE *out)
{
	fputs("Usage: shmfs-demo-reader [--wait SECONDS]\n"
	      "Print the 26 bytes of segment '" DEMO_NAME "'. With --wait, wait\n"
	      "up to SECONDS for a writer to create it.\n",
	      out);
}

/* Read the bytes under the shared lock. -ENODATA: the segment exists but
 * its writer has not filled it yet. */
static int read_bytes(unsigned char *out)
{
	struct shmfs_segment *seg;
	uint64_t size = 0;
	int err;

	err = shmfs_segment_open(DEMO_NAME, 0, SHMFS_RDONLY, &seg);
	if (err)
		return err;
	err = shmfs_segment_lock(seg, SHMFS_LOCK_SHARED, false);
	if (!err) {
		err = shmfs_segment_size(seg, &size);
		if (!err && size < DEMO_SIZE)
			err = -ENODATA;
		if (!err) {
			struct shmfs_view *view;

			err = shmfs_view_map(seg, 0, DEMO_SIZE, SHMFS_PROT_READ, &view);
			if (!err) {
				err = shmfs_view_read(view, 0, out, DEMO_SIZE);
				shmfs_view_unmap(view);
			}
		}
		shmfs_segment_unlock(seg);
	}
	shmfs_segment_close(seg);
	return err;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Block until the directory reports an event about our segment, or the
 * deadline. Returns 0, -ETIMEDOUT or a negative errno. */
static int wait_event(int ifd, long long deadline)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd pfd = { .fd = ifd, .events = POLLIN };
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		n = read(ifd, buf, sizeof(buf));
		if (n < 0)
			return errno == EINTR || errno == EAGAIN ? 0 : -errno;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->mask & (IN_IGNORED | IN_UNMOUNT))
				return -ENOENT; /* the directory went away */
			if (ev->len && !strcmp(ev->name, DEMO_NAME))
				return 0;
			p += sizeof(*ev) + ev->len;
		}
	}
}

static int read_waiting(unsigned char *out, double seconds)
{
	const char *dir = shmfs_name_dir();
	long long deadline = now_ms() + (long long)(seconds * 1000);
	int ifd, err;

	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd < 0)
		return -errno;
	/* Watch first, then look: a segment made in between is not missed. */
	if (inotify_add_watch(ifd, dir, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR) <
	    0) {
		err = -errno;
		goto out;
	}
	while ((err = read_bytes(out)) == -ENOENT || err == -ENODATA) {
		err = wait_event(ifd, deadline);
		if (err)
			break;
	}
out:
	close(ifd);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned char bytes[DEMO_SIZE];
	double seconds = -1;
	char *end, msg[512];
	int c, err;

	while ((c = getopt_long(argc, argv, "w:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			seconds = strtod(optarg, &end);
			if (*end || !*optarg || !(seconds >= 0 && seconds < 1e6)) {
				fprintf(stderr,
					"shmfs-demo-reader: --wait wants "
					"seconds, not '%s'\n",
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
	err = seconds >= 0 ? read_waiting(bytes, seconds) : read_bytes(bytes);
	if (err == -ENOENT) {
		fprintf(stderr,
			"shmfs-demo-reader: segment '%s' does not exist "
			"yet: run shmfs-demo-writer first\n",
			DEMO_NAME);
		return 1;
	}
	if (err == -ETIMEDOUT) {
		fprintf(stderr,
			"shmfs-demo-reader: segment '%s' did not appear "
			"within %g seconds\n",
			DEMO_NAME, seconds);
		return 1;
	}
	if (err == -ENODATA) {
		fprintf(stderr,
			"shmfs-demo-reader: segment '%s' is shorter than "
			"%d bytes: its writer has not filled it yet\n",
			DEMO_NAME, DEMO_SIZE);
		return 1;
	}
	if (err) {
		shmfs_segment_error(DEMO_NAME, err, msg, sizeof(msg));
		fprintf(stderr, "shmfs-demo-reader: %s\n", msg);
		return 1;
	}
	for (int i = 0; i < DEMO_SIZE; i++)
		printf("%s%d", i ? " " : "", bytes[i]);
	putchar('\n');
	return 0;
}
