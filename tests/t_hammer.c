// SPDX-License-Identifier: MIT
/*
 * Concurrency workers: many processes write self-checking records to
 * segments at once, by pwrite(2) and through MAP_SHARED mappings, while
 * others read them with pread(2); afterwards every record is accounted
 * for against the writers' own logs (kept outside the mount).
 *
 * Own regions of a shared segment (no contention on bytes, only on pages):
 *   t_hammer region FILE INDEX SECONDS LOG
 *	writer INDEX owns bytes [INDEX * REGION_BYTES, +REGION_BYTES) of
 *	FILE (which must be large enough): record seq goes to slot
 *	seq % SLOTS, by pwrite or by a store through its mapping, each under
 *	an fcntl write lock on the record's bytes; LOG gets one line per
 *	record written. Stops after SECONDS, and not before it has written
 *	MIN_RECORDS, so that every slot is written over, however slow the
 *	machine.
 *   t_hammer scan FILE REGIONS SECONDS
 *	reads random records with pread under an fcntl read lock: each must
 *	be all zero (not written yet) or a whole record of that region's
 *	writer for that slot, and a slot never goes back to an older record
 *   t_hammer region-check FILE INDEX LOG
 *	every slot holds exactly the last record LOG says went there
 *
 * A contended counter and record log (under flock):
 *   t_hammer counter FILE ID SECONDS LOG
 *	under flock(LOCK_EX): read the header, check it and the last record,
 *	add a random increment to the counter, append a record, write the
 *	header, by pwrite or through a mapping; LOG gets "seq inc counter"
 *	per increment. Stops after SECONDS once it has made MIN_INCREMENTS,
 *	or when the file is full.
 *   t_hammer counter-scan FILE SECONDS
 *	under flock(LOCK_SH), read the header and the last record with
 *	pread: they agree, and the count never goes backwards
 *   t_hammer counter-check FILE LOG...
 *	every record intact and chained (each counter is the previous one
 *	plus its increment), the header's counter is the sum of all
 *	increments, and the records of each writer are exactly the lines of
 *	its LOG, in order (the writer's ID is the LOG's position, from 1)
 *
 * Exit status: 0 when all is well, 1 on a broken rule (with a line on
 * stderr), 2 on bad usage or a system error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REC_SIZE 328 /* regions: not a divisor of the page */
#define SLOTS 64
#define REGION_BYTES (24 * 1024) /* page-aligned, holds SLOTS records */
#define REC_MAGIC 0x52474e52u	 /* "RNGR" */
#define MIN_RECORDS (5 * SLOTS)	 /* per region writer */
#define MIN_INCREMENTS 32	 /* per counter writer */

#define CREC_SIZE 56 /* counter records: straddle pages */
#define CHEAD_SIZE 64
#define CREC_MAGIC 0x434e5452u	/* "CNTR" */
#define CHEAD_MAGIC 0x48454144u /* "HEAD" */

#include "hammer.h"

/* ---- own regions ---- */

struct rec_head {
	uint32_t magic;
	uint32_t writer;
	uint64_t seq;
};

static off_t rec_offset(uint32_t writer, uint64_t seq)
{
	return (off_t)writer * REGION_BYTES + (off_t)(seq % SLOTS) * REC_SIZE;
}

/* A record is a function of (writer, seq): a misplaced one shows. */
static void rec_fill(unsigned char *rec, uint32_t writer, uint64_t seq)
{
	struct rec_head head = { REC_MAGIC, writer, seq };
	uint64_t x = (seq + 1) * 0xd1342543de82ef95ULL ^ ((uint64_t)writer << 32), sum;
	size_t i;

	memcpy(rec, &head, sizeof(head));
	for (i = sizeof(head); i < REC_SIZE - sizeof(sum); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		rec[i] = (unsigned char)x;
	}
	sum = fnv1a(rec, REC_SIZE - sizeof(sum));
	memcpy(rec + REC_SIZE - sizeof(sum), &sum, sizeof(sum));
}

/* 0: a good record (its seq in *seq); 1: all zero; -1: damaged. */
static int rec_verify(const unsigned char *rec, uint32_t writer, unsigned int slot, uint64_t *seq)
{
	unsigned char want[REC_SIZE];
	struct rec_head head;
	size_t i;

	for (i = 0; i < REC_SIZE && !rec[i]; i++)
		;
	if (i == REC_SIZE)
		return 1;
	memcpy(&head, rec, sizeof(head));
	if (head.magic != REC_MAGIC || head.writer != writer || head.seq % SLOTS != slot)
		return -1;
	rec_fill(want, writer, head.seq);
	if (memcmp(want, rec, REC_SIZE))
		return -1;
	*seq = head.seq;
	return 0;
}

static int region_write(const char *file, uint32_t index, double secs, const char *log)
{
	off_t base = (off_t)index * REGION_BYTES;
	unsigned char rec[REC_SIZE], *map;
	uint64_t seq, by_map = 0;
	double end = now() + secs;
	FILE *lf;
	int fd;

	fd = open_file(file, O_RDWR);
	check_size(fd, base + REGION_BYTES);
	lf = fopen(log, "we");
	if (!lf)
		die(log);
	map = mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, base);
	if (map == MAP_FAILED)
		die("mmap");
	seed_rng(index);
	for (seq = 0; (seq & 15) || seq < MIN_RECORDS || now() < end; seq++) {
		off_t off = rec_offset(index, seq);
		bool use_map = rng() & 1;

		rec_fill(rec, index, seq);
		range_lock(fd, F_WRLCK, off, REC_SIZE);
		if (use_map) {
			memcpy(map + (off - base), rec, REC_SIZE);
			if ((rng() & 7) == 0 && msync(map, REGION_BYTES, MS_SYNC))
				die("msync");
			by_map++;
		} else {
			pwrite_full(fd, rec, REC_SIZE, off);
		}
		range_lock(fd, F_UNLCK, off, REC_SIZE);
		fprintf(lf, "%" PRIu64 "\n", seq);
	}
	if (fclose(lf))
		die(log);
	printf("region %u: %" PRIu64 " records written, %" PRIu64 " through the mapping\n", index,
	       seq, by_map);
	return 0;
}

static int region_scan(const char *file, uint32_t regions, double secs)
{
	uint64_t *last = calloc((size_t)regions * SLOTS, sizeof(*last));
	uint64_t reads = 0, good = 0, seq;
	unsigned char rec[REC_SIZE];
	double end = now() + secs;
	int fd, r;

	if (!last)
		die("calloc");
	fd = open_file(file, O_RDONLY);
	check_size(fd, (off_t)regions * REGION_BYTES);
	seed_rng(1000 + regions);
	while ((reads & 15) || now() < end) {
		uint32_t w = (uint32_t)(rng() % regions);
		unsigned int slot = (unsigned int)(rng() % SLOTS);
		off_t off = rec_offset(w, slot);

		range_lock(fd, F_RDLCK, off, REC_SIZE);
		pread_full(fd, rec, REC_SIZE, off);
		range_lock(fd, F_UNLCK, off, REC_SIZE);
		reads++;
		r = rec_verify(rec, w, slot, &seq);
		if (r < 0) {
			fprintf(stderr,
				"t_hammer scan: torn or foreign record in region %u slot %u"
				" (offset %jd)\n",
				w, slot, (intmax_t)off);
			return 1;
		}
		if (r == 0) {
			uint64_t *l = &last[(size_t)w * SLOTS + slot];

			/* last holds seq + 1, 0 meaning nothing seen yet */
			if (seq + 1 < *l) {
				fprintf(stderr,
					"t_hammer scan: region %u slot %u went back from "
					"record %" PRIu64 " to %" PRIu64 "\n",
					w, slot, *l - 1, seq);
				return 1;
			}
			*l = seq + 1;
			good++;
		}
	}
	printf("scan: %" PRIu64 " reads, %" PRIu64 " whole records, none torn\n", reads, good);
	return 0;
}

/* The number of lines of a log of consecutive numbers from 0. */
static int log_count(const char *log, uint64_t *count)
{
	unsigned long long v, expect = 0;
	FILE *f = fopen(log, "re");

	if (!f)
		die(log);
	while (fscanf(f, "%llu", &v) == 1) {
		if (v != expect) {
			fprintf(stderr, "t_hammer: log '%s' skips from %llu to %llu\n", log, expect,
				v);
			exit(2);
		}
		expect++;
	}
	fclose(f);
	*count = expect;
	return 0;
}

static int region_check(const char *file, uint32_t index, const char *log)
{
	unsigned char want[REC_SIZE], got[REC_SIZE];
	uint64_t count, seq;
	unsigned int slot;
	int fd;

	log_count(log, &count);
	fd = open_file(file, O_RDONLY);
	check_size(fd, (off_t)(index + 1) * REGION_BYTES);
	for (slot = 0; slot < SLOTS; slot++) {
		off_t off = rec_offset(index, slot);

		pread_full(fd, got, REC_SIZE, off);
		if (slot >= count) {
			memset(want, 0, sizeof(want));
			seq = 0;
		} else {
			/* the last record that went to this slot */
			seq = count - 1 - (count - 1 - slot) % SLOTS;
			rec_fill(want, index, seq);
		}
		if (memcmp(want, got, REC_SIZE)) {
			fprintf(stderr,
				"t_hammer: region %u slot %u (offset %jd) does not hold "
				"record %" PRIu64 " of %" PRIu64 " logged\n",
				index, slot, (intmax_t)off, seq, count);
			return 1;
		}
	}
	printf("region %u: %" PRIu64 " logged records, every slot holds its last one\n", index,
	       count);
	return 0;
}

/* ---- contended counter ---- */

struct chead {
	uint32_t magic;
	uint32_t pad;
	uint64_t count;	  /* records appended */
	uint64_t counter; /* the sum of their increments */
	uint64_t sum;	  /* fnv1a of the fields above */
	unsigned char zero[CHEAD_SIZE - 32];
};

struct crec {
	uint32_t magic;
	uint32_t writer;
	uint64_t wseq;	/* the writer's own sequence number */
	uint64_t index; /* position in the file */
	uint64_t inc;
	uint64_t counter; /* the counter after this increment */
	uint64_t stamp;	  /* padding with content */
	uint64_t sum;
};

_Static_assert(sizeof(struct chead) == CHEAD_SIZE, "header size");
_Static_assert(sizeof(struct crec) == CREC_SIZE, "record size");

static off_t crec_offset(uint64_t index)
{
	return CHEAD_SIZE + (off_t)index * CREC_SIZE;
}

static uint64_t chead_sum(const struct chead *h)
{
	return fnv1a(h, offsetof(struct chead, sum));
}

static uint64_t crec_sum(const struct crec *r)
{
	return fnv1a(r, offsetof(struct crec, sum));
}

/* A header read from a file that was never written is all zero: count 0. */
static bool chead_ok(const struct chead *h)
{
	static const struct chead zero;

	if (!memcmp(h, &zero, sizeof(zero)))
		return true;
	return h->magic == CHEAD_MAGIC && h->sum == chead_sum(h);
}

static bool crec_ok(const struct crec *r, uint64_t index)
{
	return r->magic == CREC_MAGIC && r->index == index && r->sum == crec_sum(r) &&
	       r->stamp == (r->wseq ^ r->counter) * 0x9e3779b97f4a7c15ULL;
}

static uint64_t file_capacity(int fd)
{
	struct stat sb;

	if (fstat(fd, &sb))
		die("fstat");
	if (sb.st_size < crec_offset(1)) {
		fprintf(stderr, "t_hammer: counter file too small (%jd bytes)\n",
			(intmax_t)sb.st_size);
		exit(2);
	}
	return (uint64_t)(sb.st_size - CHEAD_SIZE) / CREC_SIZE;
}

static int counter_write(const char *file, uint32_t id, double secs, const char *log)
{
	double end = now() + secs;
	uint64_t cap, wseq, by_map = 0;
	struct chead h;
	struct crec r, prev;
	unsigned char *map;
	size_t maplen;
	bool full = false;
	FILE *lf;
	int fd;

	fd = open_file(file, O_RDWR);
	cap = file_capacity(fd);
	maplen = (size_t)crec_offset(cap);
	map = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	lf = fopen(log, "we");
	if (!lf)
		die(log);
	seed_rng(id);
	for (wseq = 0; (wseq & 7) || wseq < MIN_INCREMENTS || now() < end; wseq++) {
		bool use_map = rng() & 1;

		file_lock(fd, LOCK_EX);
		if (use_map)
			memcpy(&h, map, sizeof(h));
		else
			pread_full(fd, &h, sizeof(h), 0);
		if (!chead_ok(&h)) {
			fprintf(stderr, "t_hammer counter %u: damaged header\n", id);
			return 1;
		}
		if (h.count) {
			off_t off = crec_offset(h.count - 1);

			if (use_map)
				memcpy(&prev, map + off, sizeof(prev));
			else
				pread_full(fd, &prev, sizeof(prev), off);
			if (!crec_ok(&prev, h.count - 1) || prev.counter != h.counter) {
				fprintf(stderr,
					"t_hammer counter %u: record %" PRIu64 " does not "
					"match the header\n",
					id, h.count - 1);
				return 1;
			}
		}
		if (h.count == cap) {
			file_lock(fd, LOCK_UN);
			full = true;
			break;
		}
		memset(&r, 0, sizeof(r));
		r.magic = CREC_MAGIC;
		r.writer = id;
		r.wseq = wseq;
		r.index = h.count;
		r.inc = 1 + rng() % 1000;
		r.counter = h.counter + r.inc;
		r.stamp = (r.wseq ^ r.counter) * 0x9e3779b97f4a7c15ULL;
		r.sum = crec_sum(&r);
		h.magic = CHEAD_MAGIC;
		h.pad = 0;
		h.count++;
		h.counter = r.counter;
		h.sum = chead_sum(&h);
		if (use_map) {
			memcpy(map + crec_offset(r.index), &r, sizeof(r));
			memcpy(map, &h, sizeof(h));
			if ((rng() & 7) == 0 && msync(map, maplen, MS_SYNC))
				die("msync");
			by_map++;
		} else {
			pwrite_full(fd, &r, sizeof(r), crec_offset(r.index));
			pwrite_full(fd, &h, sizeof(h), 0);
		}
		file_lock(fd, LOCK_UN);
		fprintf(lf, "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", wseq, r.inc, r.counter);
	}
	if (fclose(lf))
		die(log);
	printf("counter %u: %" PRIu64 " increments, %" PRIu64 " through the mapping%s\n", id, wseq,
	       by_map, full ? ", file full" : "");
	return 0;
}

static int counter_scan(const char *file, double secs)
{
	uint64_t reads = 0, last = 0;
	double end = now() + secs;
	struct chead h;
	struct crec r;
	int fd;

	fd = open_file(file, O_RDONLY);
	while ((reads & 15) || now() < end) {
		file_lock(fd, LOCK_SH);
		pread_full(fd, &h, sizeof(h), 0);
		if (h.count)
			pread_full(fd, &r, sizeof(r), crec_offset(h.count - 1));
		file_lock(fd, LOCK_UN);
		reads++;
		if (!chead_ok(&h)) {
			fprintf(stderr, "t_hammer counter-scan: damaged header\n");
			return 1;
		}
		if (h.count && (!crec_ok(&r, h.count - 1) || r.counter != h.counter)) {
			fprintf(stderr,
				"t_hammer counter-scan: record %" PRIu64 " is torn or does"
				" not match the header\n",
				h.count - 1);
			return 1;
		}
		if (h.count < last) {
			fprintf(stderr,
				"t_hammer counter-scan: the count went back from %" PRIu64
				" to %" PRIu64 "\n",
				last, h.count);
			return 1;
		}
		last = h.count;
	}
	printf("counter-scan: %" PRIu64 " reads, none torn, last count %" PRIu64 "\n", reads, last);
	return 0;
}

struct wlog {
	FILE *f;
	uint64_t next; /* the writer's next sequence number */
};

static int counter_check(const char *file, int nlogs, char **logs)
{
	struct wlog *wl = calloc((size_t)nlogs + 1, sizeof(*wl));
	unsigned long long seq, inc, counter;
	uint64_t i, total = 0;
	unsigned char *recs;
	struct chead h;
	struct crec r;
	int fd, w;

	if (!wl)
		die("calloc");
	for (w = 1; w <= nlogs; w++) {
		wl[w].f = fopen(logs[w - 1], "re");
		if (!wl[w].f)
			die(logs[w - 1]);
	}
	fd = open_file(file, O_RDONLY);
	pread_full(fd, &h, sizeof(h), 0);
	if (!chead_ok(&h) || h.count > file_capacity(fd)) {
		fprintf(stderr, "t_hammer counter-check: damaged header\n");
		return 1;
	}
	/* All records in one read: the file may hold a great many. */
	recs = malloc((size_t)h.count * CREC_SIZE + 1);
	if (!recs)
		die("malloc");
	pread_full(fd, recs, (size_t)h.count * CREC_SIZE, CHEAD_SIZE);
	for (i = 0; i < h.count; i++) {
		memcpy(&r, recs + i * CREC_SIZE, sizeof(r));
		if (!crec_ok(&r, i)) {
			fprintf(stderr,
				"t_hammer counter-check: record %" PRIu64 " (offset %jd) is "
				"damaged\n",
				i, (intmax_t)crec_offset(i));
			return 1;
		}
		if (r.counter != total + r.inc) {
			fprintf(stderr,
				"t_hammer counter-check: record %" PRIu64 " says %" PRIu64
				" after +%" PRIu64 ", the sum so far is %" PRIu64 "\n",
				i, r.counter, r.inc, total);
			return 1;
		}
		total = r.counter;
		if (r.writer < 1 || r.writer > (uint32_t)nlogs) {
			fprintf(stderr,
				"t_hammer counter-check: record %" PRIu64 " of unknown "
				"writer %u\n",
				i, r.writer);
			return 1;
		}
		wl[r.writer].next++;
		if (fscanf(wl[r.writer].f, "%llu %llu %llu", &seq, &inc, &counter) != 3 ||
		    seq != r.wseq || seq + 1 != wl[r.writer].next || inc != r.inc ||
		    counter != r.counter) {
			fprintf(stderr,
				"t_hammer counter-check: record %" PRIu64 " (writer %u, "
				"its %" PRIu64 "th) is not the next line of its log\n",
				i, r.writer, r.wseq);
			return 1;
		}
	}
	if (h.counter != total) {
		fprintf(stderr,
			"t_hammer counter-check: header says %" PRIu64 ", the records "
			"add up to %" PRIu64 "\n",
			h.counter, total);
		return 1;
	}
	for (w = 1; w <= nlogs; w++) {
		if (fscanf(wl[w].f, "%llu %llu %llu", &seq, &inc, &counter) == 3) {
			fprintf(stderr,
				"t_hammer counter-check: writer %d logged increment %llu, "
				"which is not in the file\n",
				w, seq);
			return 1;
		}
		fclose(wl[w].f);
	}
	printf("counter-check: %" PRIu64 " records from %d writers, counter %" PRIu64
	       " is their sum\n",
	       h.count, nlogs, h.counter);
	return 0;
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr, "usage: t_hammer region FILE INDEX SECONDS LOG\n"
			"       t_hammer scan FILE REGIONS SECONDS\n"
			"       t_hammer region-check FILE INDEX LOG\n"
			"       t_hammer counter FILE ID SECONDS LOG\n"
			"       t_hammer counter-scan FILE SECONDS\n"
			"       t_hammer counter-check FILE LOG...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "region") && argc == 6)
		return region_write(argv[2], (uint32_t)atoi(argv[3]), atof(argv[4]), argv[5]);
	if (!strcmp(cmd, "scan") && argc == 5 && atoi(argv[3]) > 0)
		return region_scan(argv[2], (uint32_t)atoi(argv[3]), atof(argv[4]));
	if (!strcmp(cmd, "region-check") && argc == 5)
		return region_check(argv[2], (uint32_t)atoi(argv[3]), argv[4]);
	if (!strcmp(cmd, "counter") && argc == 6 && atoi(argv[3]) > 0)
		return counter_write(argv[2], (uint32_t)atoi(argv[3]), atof(argv[4]), argv[5]);
	if (!strcmp(cmd, "counter-scan") && argc == 4)
		return counter_scan(argv[2], atof(argv[3]));
	if (!strcmp(cmd, "counter-check") && argc >= 4)
		return counter_check(argv[2], argc - 3, argv + 3);
	usage();
}
