// SPDX-License-Identifier: MIT
/*
 * The workloads made of read/write/open calls: sequential 1 MiB blocks,
 * 64-byte pwrite/pread, the 26-byte message cycle, and segment
 * create/unlink. Each removes its file before and after it runs.
 *
 * The sequential workload times only the system calls (open, write or
 * read, close), not filling or checking the buffer, so checking every
 * word does not dilute the figure. It writes a new file (the figure
 * includes allocating its pages, which on a virtual machine may include
 * the host's first touch of that memory, a cost that varies from run to
 * run), then writes it again over the same pages (the data path alone)
 * with a new pattern, which the reads check.
 *
 * Before the first read the file's page cache is dropped with
 * POSIX_FADV_DONTNEED: on tmpfs this is a no-op (its pages are the only
 * copy) and in shmfs passthrough mode the mount's inode has no pages,
 * but in cached mode it makes the read fetch every byte from the daemon
 * instead of serving the copy the writes left in the kernel. The re-read
 * that follows measures that warm copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#define SEQ_FILE "shmfs-bench-seq"
#define SMALL_FILE "shmfs-bench-small"
#define MSG_FILE "shmfs-bench-MemoryFile"
#define MSG_LEN 26
#define SEG_PREFIX "shmfs-bench-seg-"
#define SEG_SIZE 4096

static uint64_t bench_seed(void)
{
	return (uint64_t)(shmfs_bench_now() * 1e9) ^ ((uint64_t)getpid() << 40);
}

static void bench_unlink(struct shmfs_bench *b, const char *name)
{
	unlinkat(b->dirfd, name, 0);
}

/* Flip one byte of NAME at OFF through a descriptor of its own. */
static int bench_corrupt(struct shmfs_bench *b, const char *metric, const char *name, off_t off)
{
	unsigned char c = 0;
	int fd, ret = 0;

	fd = openat(b->dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return shmfs_bench_fail(metric, "open '%s': %s", name, strerror(errno));
	if (pread(fd, &c, 1, off) != 1 || (c ^= 0x5a, pwrite(fd, &c, 1, off) != 1))
		ret = shmfs_bench_fail(metric, "corrupt '%s': %s", name, strerror(errno));
	close(fd);
	return ret;
}

static ssize_t bench_full(int fd, void *buf, size_t len, int writing)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (writing)
			n = write(fd, (char *)buf + done, len - done);
		else
			n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

/* Write the whole file: a new one (O_TRUNC), or over the existing pages. */
static int seq_write(struct shmfs_bench *b, const char *m, int trunc, void *buf, uint64_t seed)
{
	double t0, t = 0;
	uint64_t off;
	ssize_t n;
	int fd;

	t0 = shmfs_bench_now();
	fd = openat(b->dirfd, SEQ_FILE, O_CREAT | O_WRONLY | O_CLOEXEC | (trunc ? O_TRUNC : 0),
		    0600);
	if (fd < 0)
		return shmfs_bench_fail(m, "create '%s': %s", SEQ_FILE, strerror(errno));
	t += shmfs_bench_now() - t0;
	for (off = 0; off < b->seq_size; off += b->seq_block) {
		shmfs_bench_pattern_fill(buf, b->seq_block, off, seed);
		t0 = shmfs_bench_now();
		n = bench_full(fd, buf, b->seq_block, 1);
		t += shmfs_bench_now() - t0;
		if (n != (ssize_t)b->seq_block) {
			close(fd);
			return shmfs_bench_fail(m, "write at %" PRIu64 ": %s", off,
						n < 0 ? strerror(-n) : "short write");
		}
	}
	t0 = shmfs_bench_now();
	if (close(fd) < 0)
		return shmfs_bench_fail(m, "close: %s", strerror(errno));
	t += shmfs_bench_now() - t0;
	shmfs_bench_report(m, b->seq_size / t / 1e6, "MB/s",
			   "%" PRIu64 " MiB in %zu KiB writes, %.3f s", b->seq_size >> 20,
			   b->seq_block >> 10, t);
	return 0;
}

static int seq_read(struct shmfs_bench *b, const char *m, void *buf, uint64_t seed)
{
	double t0, t = 0;
	uint64_t off, bad;
	ssize_t n;
	int fd;

	t0 = shmfs_bench_now();
	fd = openat(b->dirfd, SEQ_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return shmfs_bench_fail(m, "open '%s': %s", SEQ_FILE, strerror(errno));
	t += shmfs_bench_now() - t0;
	for (off = 0; off < b->seq_size; off += b->seq_block) {
		t0 = shmfs_bench_now();
		n = bench_full(fd, buf, b->seq_block, 0);
		t += shmfs_bench_now() - t0;
		if (n != (ssize_t)b->seq_block) {
			close(fd);
			return shmfs_bench_fail(m, "read at %" PRIu64 ": %s", off,
						n < 0 ? strerror(-n) : "short read");
		}
		if (shmfs_bench_pattern_check(buf, b->seq_block, off, seed, &bad)) {
			close(fd);
			return shmfs_bench_mismatch(m, "wrong data at offset %" PRIu64, bad);
		}
	}
	t0 = shmfs_bench_now();
	n = read(fd, buf, 1);
	close(fd);
	t += shmfs_bench_now() - t0;
	if (n != 0)
		return shmfs_bench_mismatch(m, "file longer than %" PRIu64 " bytes", b->seq_size);
	shmfs_bench_report(m, b->seq_size / t / 1e6, "MB/s",
			   "%" PRIu64 " MiB in %zu KiB reads, %.3f s, every word checked",
			   b->seq_size >> 20, b->seq_block >> 10, t);
	return 0;
}

/* Drop the clean pages the kernel keeps for the file under this path. */
static int seq_drop_cache(struct shmfs_bench *b)
{
	int fd, err;

	fd = openat(b->dirfd, SEQ_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return shmfs_bench_fail("seq-read", "open '%s': %s", SEQ_FILE, strerror(errno));
	err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	if (err)
		return shmfs_bench_fail("seq-read", "posix_fadvise: %s", strerror(err));
	return 0;
}

int shmfs_bench_seq(struct shmfs_bench *b)
{
	uint64_t seed = bench_seed();
	void *buf;
	int ret;

	buf = aligned_alloc(4096, b->seq_block);
	if (!buf)
		return shmfs_bench_fail("seq", "out of memory");
	bench_unlink(b, SEQ_FILE);
	ret = seq_write(b, "seq-write", 1, buf, seed);
	if (!ret)
		ret = seq_write(b, "seq-overwrite", 0, buf, ++seed);
	if (!ret && b->inject_fault)
		ret = bench_corrupt(b, "seq", SEQ_FILE, b->seq_size / 2 + 3);
	if (!ret)
		ret = seq_drop_cache(b);
	if (!ret)
		ret = seq_read(b, "seq-read", buf, seed);
	if (!ret)
		ret = seq_read(b, "seq-reread", buf, seed);
	bench_unlink(b, SEQ_FILE);
	free(buf);
	return ret;
}

/* The 64 bytes that iteration I of the pwrite loop wrote. */
static void small_expect(void *buf, uint64_t i, uint64_t seed)
{
	shmfs_bench_pattern_fill(buf, 64, i * 64, seed);
}

static int small_pwrite(struct shmfs_bench *b, int fd, uint64_t seed, uint64_t *count)
{
	uint64_t slots = b->small_file / 64, i = 0;
	unsigned char buf[64];
	double t0, t;

	t0 = shmfs_bench_now();
	do {
		uint64_t end = shmfs_bench_batch_end(b, i);

		for (; i < end; i++) {
			small_expect(buf, i, seed);
			if (pwrite(fd, buf, 64, (i % slots) * 64) != 64)
				return shmfs_bench_fail("pwrite64", "pwrite: %s", strerror(errno));
		}
		t = shmfs_bench_now() - t0;
	} while (shmfs_bench_more(b, i, t));
	*count = i;
	shmfs_bench_report("pwrite64", i / t, "ops/s",
			   "%" PRIu64 " writes over %" PRIu64 " offsets, %.3f s", i, slots, t);
	return 0;
}

static int small_pread(struct shmfs_bench *b, int fd, uint64_t seed, uint64_t written)
{
	uint64_t slots = b->small_file / 64, j = 0, s, last, bad;
	unsigned char buf[64], want[64];
	double t0, t;

	t0 = shmfs_bench_now();
	do {
		uint64_t end = shmfs_bench_batch_end(b, j);

		for (; j < end; j++) {
			s = j % slots;
			if (pread(fd, buf, 64, s * 64) != 64)
				return shmfs_bench_fail("pread64", "pread: %s", strerror(errno));
			if (s >= written) {
				memset(want, 0, sizeof(want));
			} else {
				last = s + slots * ((written - 1 - s) / slots);
				small_expect(want, last, seed);
			}
			if (memcmp(buf, want, 64)) {
				bad = s * 64;
				return shmfs_bench_mismatch(
					"pread64", "wrong data in the 64 bytes at offset %" PRIu64,
					bad);
			}
		}
		t = shmfs_bench_now() - t0;
	} while (shmfs_bench_more(b, j, t));
	shmfs_bench_report("pread64", j / t, "ops/s",
			   "%" PRIu64 " reads over %" PRIu64 " offsets, %.3f s, all checked", j,
			   slots, t);
	return 0;
}

int shmfs_bench_small(struct shmfs_bench *b)
{
	uint64_t seed = bench_seed(), written = 0;
	int fd, ret;

	bench_unlink(b, SMALL_FILE);
	fd = openat(b->dirfd, SMALL_FILE, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return shmfs_bench_fail("small", "create '%s': %s", SMALL_FILE, strerror(errno));
	if (ftruncate(fd, b->small_file) < 0) {
		ret = shmfs_bench_fail("small", "ftruncate: %s", strerror(errno));
		goto out_close;
	}
	ret = small_pwrite(b, fd, seed, &written);
	if (!ret && b->inject_fault)
		ret = bench_corrupt(b, "small", SMALL_FILE, 7);
	if (!ret)
		ret = small_pread(b, fd, seed, written);
out_close:
	close(fd);
	bench_unlink(b, SMALL_FILE);
	return ret;
}

/* Message I: 16 hex digits of SEED+I, then 10 letters rotated by I. */
static void msg_make(char *msg, uint64_t i, uint64_t seed)
{
	char tmp[MSG_LEN + 1];
	int k;

	snprintf(tmp, sizeof(tmp), "%016" PRIx64, seed + i);
	for (k = 16; k < MSG_LEN; k++)
		tmp[k] = 'A' + (i + k) % 26;
	memcpy(msg, tmp, MSG_LEN);
}

static int msg_cycle(struct shmfs_bench *b, uint64_t i, uint64_t seed)
{
	const char *m = "msg26";
	char msg[MSG_LEN], got[MSG_LEN];
	ssize_t n;
	int fd;

	msg_make(msg, i, seed);
	fd = openat(b->dirfd, MSG_FILE, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return shmfs_bench_fail(m, "create '%s': %s", MSG_FILE, strerror(errno));
	n = write(fd, msg, MSG_LEN);
	if (close(fd) < 0 || n != MSG_LEN)
		return shmfs_bench_fail(m, "write: %s", n < 0 ? strerror(errno) : "short");
	if (b->inject_fault && i == 0 && bench_corrupt(b, m, MSG_FILE, 5))
		return SHMFS_BENCH_EXIT_ERROR;
	fd = openat(b->dirfd, MSG_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return shmfs_bench_fail(m, "open '%s': %s", MSG_FILE, strerror(errno));
	n = read(fd, got, MSG_LEN);
	close(fd);
	if (n != MSG_LEN)
		return shmfs_bench_fail(m, "read: %s", n < 0 ? strerror(errno) : "short");
	if (memcmp(msg, got, MSG_LEN))
		return shmfs_bench_mismatch(
			m, "wrong data in cycle %" PRIu64 ": read '%.26s', wrote '%.26s'", i, got,
			msg);
	return 0;
}

int shmfs_bench_msg(struct shmfs_bench *b)
{
	uint64_t seed = bench_seed(), i = 0;
	double t0, t;
	int ret = 0;

	bench_unlink(b, MSG_FILE);
	t0 = shmfs_bench_now();
	do {
		ret = msg_cycle(b, i++, seed);
		t = shmfs_bench_now() - t0;
	} while (!ret && shmfs_bench_more(b, i, t));
	bench_unlink(b, MSG_FILE);
	if (ret)
		return ret;
	shmfs_bench_report("msg26", i / t, "cyc/s",
			   "%" PRIu64 " cycles of 2 opens, 26-byte write and read, %.3f s", i, t);
	return 0;
}

/* Outside the timing: a created and sized segment has its size, then is gone. */
static int create_check(struct shmfs_bench *b)
{
	const char *m = "create-unlink", *name = SEG_PREFIX "check";
	struct stat st;
	int fd;

	bench_unlink(b, name);
	fd = openat(b->dirfd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return shmfs_bench_fail(m, "create '%s': %s", name, strerror(errno));
	if (ftruncate(fd, SEG_SIZE) < 0 || close(fd) < 0)
		return shmfs_bench_fail(m, "size '%s': %s", name, strerror(errno));
	if (fstatat(b->dirfd, name, &st, 0) < 0)
		return shmfs_bench_fail(m, "stat '%s': %s", name, strerror(errno));
	if (st.st_size != SEG_SIZE || !S_ISREG(st.st_mode))
		return shmfs_bench_mismatch(m, "'%s' has size %jd, expected %d", name,
					    (intmax_t)st.st_size, SEG_SIZE);
	if (unlinkat(b->dirfd, name, 0) < 0)
		return shmfs_bench_fail(m, "unlink '%s': %s", name, strerror(errno));
	if (fstatat(b->dirfd, name, &st, 0) == 0 || errno != ENOENT)
		return shmfs_bench_mismatch(m, "'%s' still there after unlink", name);
	return 0;
}

int shmfs_bench_create(struct shmfs_bench *b)
{
	const char *m = "create-unlink";
	char name[64];
	uint64_t i = 0;
	double t0, t;
	int fd, ret;

	ret = create_check(b);
	if (ret)
		return ret;
	t0 = shmfs_bench_now();
	do {
		snprintf(name, sizeof(name), SEG_PREFIX "%" PRIu64, i++);
		fd = openat(b->dirfd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0)
			return shmfs_bench_fail(m, "create '%s': %s", name, strerror(errno));
		if (ftruncate(fd, SEG_SIZE) < 0) {
			ret = shmfs_bench_fail(m, "ftruncate '%s': %s", name, strerror(errno));
			close(fd);
			unlinkat(b->dirfd, name, 0);
			return ret;
		}
		close(fd);
		if (unlinkat(b->dirfd, name, 0) < 0)
			return shmfs_bench_fail(m, "unlink '%s': %s", name, strerror(errno));
		t = shmfs_bench_now() - t0;
	} while (shmfs_bench_more(b, i, t));
	shmfs_bench_report(m, i / t, "ops/s",
			   "%" PRIu64 " segments of %d bytes created and unlinked, %.3f s", i,
			   SEG_SIZE, t);
	return 0;
}
