// SPDX-License-Identifier: MIT
/*
 * Appends numbered, checksummed records to a file and logs, outside the
 * file's filesystem, each record whose write(2) returned in full; then,
 * later, checks that every logged record is in the file and intact.
 *
 *   t_writer write FILE LOG ID [SECONDS]
 *	append records, about four a millisecond, until a write fails
 *	(exit 2, the errno's name on stderr), a write is short (exit 3) or
 *	SECONDS pass (exit 4)
 *   t_writer check FILE LOG ID
 *	exit 0 when every record named in LOG is present and intact
 *
 * Records are RECORD_SIZE bytes (not a divisor of the page size, so they
 * straddle pages); record n of writer ID lives at offset n * RECORD_SIZE.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RECORD_SIZE 1000
#define RECORD_MAGIC 0x5348524bu /* "SHRK" */

struct record_head {
	uint32_t magic;
	uint32_t writer;
	uint64_t seq;
};

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The payload is a function of (writer, seq), so a misplaced record shows. */
static void record_fill(unsigned char *rec, uint32_t writer, uint64_t seq)
{
	struct record_head head = { RECORD_MAGIC, writer, seq };
	uint64_t x = (seq + 1) * 0x9e3779b97f4a7c15ULL ^ writer, sum;
	size_t i;

	memcpy(rec, &head, sizeof(head));
	for (i = sizeof(head); i < RECORD_SIZE - sizeof(sum); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		rec[i] = (unsigned char)x;
	}
	sum = fnv1a(rec, RECORD_SIZE - sizeof(sum));
	memcpy(rec + RECORD_SIZE - sizeof(sum), &sum, sizeof(sum));
}

static const char *errno_name(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

static int do_write(const char *file, const char *log, uint32_t id, unsigned int secs)
{
	unsigned char rec[RECORD_SIZE];
	time_t end = time(NULL) + secs;
	int fd, logfd;
	uint64_t seq;
	ssize_t n;

	fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "t_writer %u: open '%s': %s\n", id, file, errno_name(errno));
		return 1;
	}
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		perror(log);
		return 1;
	}
	for (seq = 0;; seq++) {
		record_fill(rec, id, seq);
		n = write(fd, rec, sizeof(rec));
		if (n < 0) {
			fprintf(stderr, "t_writer %u: write of record %" PRIu64 ": %s\n", id, seq,
				errno_name(errno));
			return 2;
		}
		if (n != (ssize_t)sizeof(rec)) {
			fprintf(stderr, "t_writer %u: short write of record %" PRIu64 ": %zd\n", id,
				seq, n);
			return 3;
		}
		if (dprintf(logfd, "%" PRIu64 "\n", seq) < 0) {
			perror(log);
			return 1;
		}
		/* Busy, yet bounded in the bytes it leaves behind. */
		if ((seq & 3) == 3)
			usleep(1000);
		if (secs && (seq & 63) == 0 && time(NULL) >= end) {
			fprintf(stderr, "t_writer %u: still writing after %u s\n", id, secs);
			return 4;
		}
	}
}

/* The number of records the log confirms: its last line plus one. */
static int log_count(const char *log, uint64_t *count)
{
	FILE *f = fopen(log, "r");
	unsigned long long v, expect = 0;

	if (!f) {
		perror(log);
		return -1;
	}
	while (fscanf(f, "%llu", &v) == 1) {
		if (v != expect) {
			fprintf(stderr, "t_writer: log '%s' skips from %llu to %llu\n", log, expect,
				v);
			fclose(f);
			return -1;
		}
		expect++;
	}
	fclose(f);
	*count = expect;
	return 0;
}

static int do_check(const char *file, const char *log, uint32_t id)
{
	unsigned char want[RECORD_SIZE], got[RECORD_SIZE];
	uint64_t count, seq;
	struct stat sb;
	ssize_t n;
	int fd;

	if (log_count(log, &count))
		return 1;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb)) {
		fprintf(stderr, "t_writer: '%s': %s\n", file, strerror(errno));
		return 1;
	}
	if ((uint64_t)sb.st_size < count * RECORD_SIZE) {
		fprintf(stderr,
			"t_writer %u: %" PRIu64 " records confirmed, file holds %jd bytes\n", id,
			count, (intmax_t)sb.st_size);
		return 1;
	}
	for (seq = 0; seq < count; seq++) {
		record_fill(want, id, seq);
		n = pread(fd, got, sizeof(got), (off_t)(seq * RECORD_SIZE));
		if (n != (ssize_t)sizeof(got) || memcmp(want, got, sizeof(got))) {
			fprintf(stderr,
				"t_writer %u: record %" PRIu64 " at offset %" PRIu64
				" is damaged\n",
				id, seq, seq * RECORD_SIZE);
			return 1;
		}
	}
	printf("writer %u: %" PRIu64 " confirmed records intact\n", id, count);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && argc <= 6 && !strcmp(argv[1], "write"))
		return do_write(argv[2], argv[3], (uint32_t)atoi(argv[4]),
				argc == 6 ? (unsigned int)atoi(argv[5]) : 0);
	if (argc == 5 && !strcmp(argv[1], "check"))
		return do_check(argv[2], argv[3], (uint32_t)atoi(argv[4]));
	fprintf(stderr, "usage: t_writer write FILE LOG ID [SECONDS]\n"
			"       t_writer check FILE LOG ID\n");
	return 2;
}
