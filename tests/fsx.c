// SPDX-License-Identifier: MIT
/*
 * fsx: a data-integrity exerciser for one segment file.
 *
 * A long, seeded, random mix of pwrite, pread, ftruncate, and reads and
 * writes through MAP_SHARED mappings runs on one file through two
 * descriptors opened separately; an in-memory model of the file follows
 * every operation, and after each one the file is compared with the model
 * (every byte, through one descriptor or the other, and st_size through
 * both). The first difference ends the run with the op number, the tail
 * of the op log, the offset and the expected and actual bytes (exit 1).
 *
 *   fsx [options] FILE
 *	-s SEED    random seed (default: from the clock); printed first, so
 *		   a failing run can be replayed exactly
 *	-n OPS     number of operations (default 10000)
 *	-l LEN     largest file size (default 262144)
 *	-o LEN     largest length of one read or write (default 65536)
 *	-N OPS     close and reopen both descriptors every OPS operations
 *	-c OPS     compare the whole file every OPS operations (default 1)
 *	-X OP      fault injection: after op OP, change one byte of the file
 *		   behind the model's back (the run must then fail)
 *	-V         verify only: replay the ops of -s/-n on the model alone,
 *		   then compare the file as it is with the model (exit 1 on
 *		   a difference); the file is not changed
 *	-q         quiet: no per-run summary
 *
 * The file is created if needed and truncated at the start of a run. The
 * sequence of operations depends on the seed and the options only, never
 * on what the file returned, which is what makes -V possible.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum op_kind {
	OP_WRITE,
	OP_READ,
	OP_TRUNCATE,
	OP_MAPREAD,
	OP_MAPWRITE,
	OP_REOPEN,
	OP_NONE, /* a mapped op on an empty file: nothing to do */
};

static const char *const op_names[] = {
	[OP_WRITE] = "write",	  [OP_READ] = "read",	      [OP_TRUNCATE] = "truncate",
	[OP_MAPREAD] = "mapread", [OP_MAPWRITE] = "mapwrite", [OP_REOPEN] = "reopen",
	[OP_NONE] = "skip",
};

struct op {
	uint64_t num;
	enum op_kind kind;
	int fd; /* which of the two descriptors */
	off_t off;
	size_t len;
	bool sync;     /* mapwrite: msync before munmap */
	uint64_t fill; /* seed of the bytes a write stores */
};

#define LOG_TAIL 32

static struct op op_log[LOG_TAIL];
static uint64_t rng_state;
static const char *path;
static int fds[2] = { -1, -1 };
static unsigned char *model, *buf;
static off_t model_size;
static long page_size;

static uint64_t rng(void)
{
	/* xorshift64*: small, fast and the same everywhere */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t rng_below(uint64_t n)
{
	return n ? rng() % n : 0;
}

static void fill_bytes(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed | 1;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((i & 7) == 0) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		p[i] = (unsigned char)(x >> ((i & 7) * 8));
	}
}

static void op_print(FILE *f, const struct op *op)
{
	fprintf(f, "  op %" PRIu64 ": %-8s fd%d", op->num, op_names[op->kind], op->fd);
	switch (op->kind) {
	case OP_TRUNCATE: fprintf(f, " to %jd\n", (intmax_t)op->off); break;
	case OP_REOPEN:
	case OP_NONE: fputc('\n', f); break;
	default:
		fprintf(f, " [%jd, %jd) len %zu%s\n", (intmax_t)op->off,
			(intmax_t)(op->off + (off_t)op->len), op->len,
			op->kind == OP_MAPWRITE ? (op->sync ? " msync" : " nosync") : "");
	}
}

static void log_tail(FILE *f, uint64_t last)
{
	uint64_t first = last >= LOG_TAIL ? last - LOG_TAIL + 1 : 1, n;

	fprintf(f, "fsx: the last %" PRIu64 " operations:\n", last - first + 1);
	for (n = first; n <= last; n++)
		op_print(f, &op_log[n % LOG_TAIL]);
}

static void dump_bytes(FILE *f, const char *what, const unsigned char *p, off_t from, size_t n)
{
	size_t i;

	fprintf(f, "fsx: %-8s @%jd:", what, (intmax_t)from);
	for (i = 0; i < n; i++)
		fprintf(f, " %02x", p[i]);
	fputc('\n', f);
}

static unsigned long long seed_used;

/* Report a difference at file offset off and end the run. */
static void __attribute__((noreturn))
mismatch(uint64_t opnum, const char *how, off_t off, const unsigned char *got, off_t got_base,
	 size_t got_len)
{
	off_t from = off - (off % 16);
	size_t n = 16;

	fflush(stdout);
	fprintf(stderr, "fsx: FAILED at op %" PRIu64 " (%s): bad data at offset %jd\n", opnum, how,
		(intmax_t)off);
	if (from < got_base)
		from = got_base;
	if ((size_t)(from - got_base) + n > got_len)
		n = got_len - (size_t)(from - got_base);
	if (from + (off_t)n > model_size)
		n = from < model_size ? (size_t)(model_size - from) : 0;
	dump_bytes(stderr, "expected", model + from, from, n);
	dump_bytes(stderr, "got", got + (from - got_base), from, n);
	log_tail(stderr, opnum);
	fprintf(stderr, "fsx: replay with: fsx -s %llu -n %" PRIu64 " ...\n", seed_used, opnum);
	exit(1);
}

static void __attribute__((noreturn, format(printf, 2, 3)))
fail(uint64_t opnum, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "fsx: FAILED at op %" PRIu64 ": ", opnum);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (opnum)
		log_tail(stderr, opnum);
	fprintf(stderr, "fsx: replay with: fsx -s %llu -n %" PRIu64 " ...\n", seed_used, opnum);
	exit(1);
}

/* Compare got (the file's bytes at [off, off + len)) with the model. */
static void compare(uint64_t opnum, const char *how, const unsigned char *got, off_t off,
		    size_t len)
{
	size_t i;

	if (!memcmp(model + off, got, len))
		return;
	for (i = 0; i < len && model[off + (off_t)i] == got[i]; i++)
		;
	mismatch(opnum, how, off + (off_t)i, got, off, len);
}

/* pread exactly len bytes (fewer only at the end of the file). */
static ssize_t pread_full(int fd, unsigned char *p, size_t len, off_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(fd, p + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static void check_sizes(uint64_t opnum)
{
	struct stat sb;
	int i;

	for (i = 0; i < 2; i++) {
		if (fstat(fds[i], &sb))
			fail(opnum, "fstat fd%d: %s", i, strerror(errno));
		if (sb.st_size != model_size)
			fail(opnum, "fstat fd%d: st_size %jd, expected %jd", i,
			     (intmax_t)sb.st_size, (intmax_t)model_size);
	}
}

/* Every byte of the file, through descriptor fd, and one byte past the end. */
static void check_all(uint64_t opnum, int fd)
{
	size_t len = (size_t)model_size + 1;
	ssize_t n = pread_full(fds[fd], buf, len, 0);

	if (n < 0)
		fail(opnum, "full read through fd%d: %s", fd, strerror(errno));
	if (n != model_size)
		fail(opnum, "full read through fd%d returned %zd bytes, size is %jd", fd, n,
		     (intmax_t)model_size);
	compare(opnum, fd ? "full check via fd1" : "full check via fd0", buf, 0, (size_t)n);
}

static void open_fds(uint64_t opnum, bool trunc)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = open(path,
			      O_RDWR | O_CLOEXEC | (i == 0 ? O_CREAT : 0) |
				      (trunc && i == 0 ? O_TRUNC : 0),
			      0644);
		if (fds[i] < 0)
			fail(opnum, "open '%s' (fd%d): %s", path, i, strerror(errno));
	}
}

struct params {
	uint64_t ops;
	off_t max_file;
	size_t max_op;
	uint64_t reopen_every;
	uint64_t check_every;
	uint64_t inject_at;
	bool verify_only;
	bool quiet;
};

static size_t random_len(size_t max)
{
	switch (rng_below(8)) {
	case 0: return 0;
	case 1: return 1 + rng_below(16); /* a few bytes */
	case 2: return (size_t)page_size; /* exactly a page */
	default: return rng_below(max + 1);
	}
}

static off_t random_off(off_t limit)
{
	off_t off = (off_t)rng_below((uint64_t)limit + 1);

	if (rng_below(4) == 0)
		off -= off % page_size; /* page-aligned */
	return off;
}

/* Draw the next op; depends on the generator and model_size only. */
static void next_op(const struct params *p, uint64_t num, struct op *op)
{
	unsigned int r = (unsigned int)rng_below(100);

	memset(op, 0, sizeof(*op));
	op->num = num;
	op->fd = (int)rng_below(2);
	op->fill = rng();
	if (p->reopen_every && num % p->reopen_every == 0) {
		op->kind = OP_REOPEN;
		return;
	}
	if (r < 32) {
		op->kind = OP_WRITE;
		/* Mostly inside or at the end; now and then far beyond it. */
		op->off = random_off(rng_below(4) ? model_size : p->max_file);
		op->len = random_len(p->max_op);
		if (op->off + (off_t)op->len > p->max_file)
			op->len = (size_t)(p->max_file - op->off);
	} else if (r < 52) {
		op->kind = OP_READ;
		op->off = random_off(model_size + (rng_below(8) ? 0 : page_size));
		op->len = random_len(p->max_op);
	} else if (r < 60) {
		op->kind = OP_TRUNCATE;
		op->off = rng_below(3) ? random_off(p->max_file)
				       : (off_t)rng_below((uint64_t)model_size + 1);
	} else if (r < 78) {
		op->kind = OP_MAPREAD;
	} else {
		op->kind = OP_MAPWRITE;
		op->sync = rng_below(2);
	}
	if (op->kind == OP_MAPREAD || op->kind == OP_MAPWRITE) {
		if (!model_size) {
			op->kind = OP_NONE;
			return;
		}
		op->off = (off_t)rng_below((uint64_t)model_size);
		op->len = random_len(p->max_op);
		if (op->off + (off_t)op->len > model_size)
			op->len = (size_t)(model_size - op->off);
	}
}

/* Apply op to the model. */
static void model_apply(const struct op *op)
{
	off_t end = op->off + (off_t)op->len;

	switch (op->kind) {
	case OP_WRITE:
	case OP_MAPWRITE:
		if (!op->len)
			break;
		if (op->off > model_size)
			memset(model + model_size, 0, (size_t)(op->off - model_size));
		fill_bytes(model + op->off, op->len, op->fill);
		if (end > model_size)
			model_size = end;
		break;
	case OP_TRUNCATE:
		if (op->off > model_size)
			memset(model + model_size, 0, (size_t)(op->off - model_size));
		model_size = op->off;
		break;
	default: break;
	}
}

static void do_write(const struct op *op)
{
	size_t done = 0;
	ssize_t n;

	fill_bytes(buf, op->len, op->fill);
	do {
		n = pwrite(fds[op->fd], buf + done, op->len - done, op->off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail(op->num, "pwrite: %s", strerror(errno));
		if (n == 0 && op->len)
			fail(op->num, "pwrite wrote nothing");
		done += (size_t)n;
	} while (done < op->len);
}

static void do_read(const struct op *op)
{
	ssize_t n = pread_full(fds[op->fd], buf, op->len, op->off);
	size_t want = 0;

	if (op->off < model_size)
		want = (size_t)(model_size - op->off) < op->len ? (size_t)(model_size - op->off)
								: op->len;
	if (n < 0)
		fail(op->num, "pread: %s", strerror(errno));
	if ((size_t)n != want)
		fail(op->num, "pread at %jd returned %zd bytes, expected %zu", (intmax_t)op->off, n,
		     want);
	compare(op->num, "pread", buf, op->off, want);
}

static void do_map(const struct op *op)
{
	off_t start = op->off - (op->off % page_size);
	size_t maplen = (size_t)(op->off - start) + op->len;
	bool w = op->kind == OP_MAPWRITE;
	unsigned char *m;

	if (!op->len)
		return;
	m = mmap(NULL, maplen, PROT_READ | (w ? PROT_WRITE : 0), MAP_SHARED, fds[op->fd], start);
	if (m == MAP_FAILED)
		fail(op->num, "mmap [%jd, +%zu): %s", (intmax_t)start, maplen, strerror(errno));
	if (w) {
		fill_bytes(buf, op->len, op->fill);
		memcpy(m + (op->off - start), buf, op->len);
		/* The mapping itself must now read back what was stored. */
		if (memcmp(m + (op->off - start), buf, op->len))
			fail(op->num, "mapping does not read back its own store");
		if (op->sync && msync(m, maplen, MS_SYNC))
			fail(op->num, "msync: %s", strerror(errno));
	} else {
		memcpy(buf, m + (op->off - start), op->len);
	}
	if (munmap(m, maplen))
		fail(op->num, "munmap: %s", strerror(errno));
	if (!w)
		compare(op->num, "mapread", buf, op->off, op->len);
}

static void run_op(const struct op *op)
{
	switch (op->kind) {
	case OP_WRITE: do_write(op); break;
	case OP_READ: do_read(op); break;
	case OP_TRUNCATE:
		if (ftruncate(fds[op->fd], op->off))
			fail(op->num, "ftruncate to %jd: %s", (intmax_t)op->off, strerror(errno));
		break;
	case OP_MAPREAD:
	case OP_MAPWRITE: do_map(op); break;
	case OP_REOPEN: open_fds(op->num, false); break;
	case OP_NONE: break;
	}
}

/* Change one byte of the file, not the model; false if the file is empty. */
static bool inject_fault(uint64_t opnum)
{
	off_t off;
	unsigned char b;

	if (!model_size)
		return false;
	off = (off_t)(opnum * 7919 % (uint64_t)model_size);
	b = model[off] ^ 0x5a;
	if (pwrite(fds[0], &b, 1, off) != 1)
		fail(opnum, "fault injection: pwrite: %s", strerror(errno));
	fprintf(stderr, "fsx: injected a fault after op %" PRIu64 " at offset %jd\n", opnum,
		(intmax_t)off);
	return true;
}

static void usage(void)
{
	fprintf(stderr, "usage: fsx [-s SEED] [-n OPS] [-l MAXSIZE] [-o MAXOP] [-N OPS] "
			"[-c OPS] [-X OP] [-V] [-q] FILE\n");
	exit(2);
}

static unsigned long long number(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	struct params p = {
		.ops = 10000,
		.max_file = 256 * 1024,
		.max_op = 64 * 1024,
		.check_every = 1,
	};
	struct timespec ts;
	bool seeded = false, injected = false;
	uint64_t num;
	struct op op;
	int c;

	clock_gettime(CLOCK_REALTIME, &ts);
	seed_used = (unsigned long long)(ts.tv_sec * 1000003 + ts.tv_nsec / 1000) % 1000000007;
	while ((c = getopt(argc, argv, "s:n:l:o:N:c:X:Vq")) != -1) {
		switch (c) {
		case 's':
			seed_used = number(optarg);
			seeded = true;
			break;
		case 'n': p.ops = number(optarg); break;
		case 'l': p.max_file = (off_t)number(optarg); break;
		case 'o': p.max_op = (size_t)number(optarg); break;
		case 'N': p.reopen_every = number(optarg); break;
		case 'c': p.check_every = number(optarg); break;
		case 'X': p.inject_at = number(optarg); break;
		case 'V': p.verify_only = true; break;
		case 'q': p.quiet = true; break;
		default: usage();
		}
	}
	if (optind + 1 != argc || p.max_file <= 0 || p.max_file > (1 << 30))
		usage();
	path = argv[optind];
	printf("fsx: seed %llu%s\n", seed_used, seeded ? "" : " (from the clock)");
	fflush(stdout);

	page_size = sysconf(_SC_PAGESIZE);
	/* One spare byte: full checks read one past the end. */
	model = calloc(1, (size_t)p.max_file + 1);
	buf = malloc((size_t)p.max_file + p.max_op + 1);
	if (!model || !buf)
		fail(0, "out of memory");
	rng_state = seed_used * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
	if (p.verify_only) {
		for (num = 1; num <= p.ops; num++) {
			next_op(&p, num, &op);
			model_apply(&op);
		}
		open_fds(0, false);
		check_sizes(num - 1);
		check_all(num - 1, 0);
		check_all(num - 1, 1);
		if (!p.quiet)
			printf("fsx: the file matches the model after %" PRIu64 " ops\n", p.ops);
		return 0;
	}

	open_fds(0, true);
	for (num = 1; num <= p.ops; num++) {
		next_op(&p, num, &op);
		op_log[num % LOG_TAIL] = op;
		/* Writes update the model first: mismatch() shows what is expected. */
		if (op.kind != OP_READ && op.kind != OP_MAPREAD)
			model_apply(&op);
		run_op(&op);
		if (p.inject_at && num >= p.inject_at && !injected)
			injected = inject_fault(num);
		check_sizes(num);
		if (p.check_every && num % p.check_every == 0)
			check_all(num, (int)(num / p.check_every % 2));
	}
	check_all(p.ops, 0);
	check_all(p.ops, 1);
	if (!p.quiet)
		printf("fsx: %" PRIu64 " ops OK, seed %llu, final size %jd\n", p.ops, seed_used,
		       (intmax_t)model_size);
	return 0;
}
