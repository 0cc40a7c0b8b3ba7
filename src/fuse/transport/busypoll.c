// SPDX-License-Identifier: MIT
/*
 * Busy polling of /dev/fuse. See busypoll.h.
 *
 * The reader role is a flag under a mutex; threads that want it wait on a
 * condition variable (a cancellation point: libfuse may cancel its
 * workers at exit). The reader keeps the role across the short requests
 * it serves (a thread-local mark) and gives it up, waking one waiter,
 * before a long one, on an error, or when the session ends. A thread
 * that ends while it holds the role (libfuse lets surplus idle workers
 * go) gives it up on its way out, through a thread-specific key.
 */
#include "busypoll.h"
#include "fuse_abi.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Opcodes of the kernel's FUSE protocol (include/uapi/linux/fuse.h). */
enum {
	OP_LOOKUP = 1, OP_GETATTR = 3, OP_SETATTR = 4, OP_READLINK = 5, OP_SYMLINK = 6,
	OP_MKNOD = 8, OP_MKDIR = 9, OP_UNLINK = 10, OP_RMDIR = 11, OP_RENAME = 12,
	OP_LINK = 13, OP_OPEN = 14, OP_READ = 15, OP_WRITE = 16, OP_STATFS = 17,
	OP_RELEASE = 18, OP_FSYNC = 20, OP_SETXATTR = 21, OP_GETXATTR = 22,
	OP_LISTXATTR = 23, OP_REMOVEXATTR = 24, OP_FLUSH = 25, OP_OPENDIR = 27,
	OP_RELEASEDIR = 29, OP_FSYNCDIR = 30, OP_ACCESS = 34, OP_CREATE = 35,
	OP_INTERRUPT = 36, OP_RENAME2 = 45, OP_LSEEK = 46,
};

#define ATTR_SIZE_BIT	(1u << 3)	/* FATTR_SIZE in fuse_setattr_in.valid */
#define SHORT_IO	(64u << 10)	/* reads and writes up to this are short */

static unsigned int poll_us;
static pthread_mutex_t role_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t role_free = PTHREAD_COND_INITIALIZER;
static bool role_taken;
static bool ended;		/* the session is over: everyone reads, and fails */
static __thread bool is_reader;
static pthread_key_t reader_key;	/* non-NULL while this thread is the reader */

static void role_give(bool end);

static void reader_exits(void *arg)
{
	(void)arg;
	role_give(false);
}

void shmfs_busypoll_enable(unsigned int usec)
{
	if (usec && pthread_key_create(&reader_key, reader_exits))
		usec = 0;	/* no way to hand the role on at thread exit: no polling */
	poll_us = usec;
}

bool shmfs_busypoll_enabled(void)
{
	return poll_us > 0;
}

unsigned int shmfs_busypoll_us(void)
{
	return poll_us;
}

static void unlock_role(void *arg)
{
	pthread_mutex_unlock(arg);
}

/* Wait until this thread holds the reader role, or the session is over. */
static void role_take(void)
{
	pthread_mutex_lock(&role_lock);
	pthread_cleanup_push(unlock_role, &role_lock);
	while (role_taken && !ended)
		pthread_cond_wait(&role_free, &role_lock);
	if (!ended) {
		role_taken = true;
		is_reader = true;
		pthread_setspecific(reader_key, &is_reader);
	}
	pthread_cleanup_pop(1);
}

static void role_give(bool end)
{
	pthread_mutex_lock(&role_lock);
	role_taken = false;
	is_reader = false;
	pthread_setspecific(reader_key, NULL);
	if (end) {
		ended = true;
		pthread_cond_broadcast(&role_free);
	} else {
		pthread_cond_signal(&role_free);
	}
	pthread_mutex_unlock(&role_lock);
}

void shmfs_busypoll_yield(void)
{
	if (is_reader)
		role_give(false);
}

/* May the reader serve this request itself without holding up others? */
static bool is_short(const void *buf, size_t n)
{
	const struct shmfs_fuse_in_header *in = buf;
	const unsigned char *arg = (const unsigned char *)(in + 1);
	uint32_t v;

	if (n < sizeof(*in))
		return false;
	switch (in->opcode) {
	case OP_SETATTR:	/* fuse_setattr_in: valid first */
		if (n < sizeof(*in) + sizeof(v))
			return false;
		memcpy(&v, arg, sizeof(v));
		return !(v & ATTR_SIZE_BIT);
	case OP_OPEN:		/* fuse_open_in: flags first; O_TRUNC frees memory */
		if (n < sizeof(*in) + sizeof(v))
			return false;
		memcpy(&v, arg, sizeof(v));
		return !(v & O_TRUNC);
	case OP_READ:
	case OP_WRITE:		/* fuse_read_in, fuse_write_in: size at 16 */
		if (n < sizeof(*in) + 16 + sizeof(v))
			return false;
		memcpy(&v, arg + 16, sizeof(v));
		return v <= SHORT_IO;
	case OP_LOOKUP: case OP_GETATTR: case OP_READLINK: case OP_SYMLINK:
	case OP_MKNOD: case OP_MKDIR: case OP_UNLINK: case OP_RMDIR: case OP_RENAME:
	case OP_LINK: case OP_STATFS: case OP_RELEASE: case OP_FSYNC:
	case OP_SETXATTR: case OP_GETXATTR: case OP_LISTXATTR: case OP_REMOVEXATTR:
	case OP_FLUSH: case OP_OPENDIR: case OP_RELEASEDIR: case OP_FSYNCDIR:
	case OP_ACCESS: case OP_CREATE: case OP_INTERRUPT: case OP_RENAME2: case OP_LSEEK:
		return true;
	default:
		return false;
	}
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

ssize_t shmfs_busypoll_read(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t until;
	ssize_t n;
	int err;

	if (!is_reader)
		role_take();
	if (!is_reader)		/* the session is over */
		return read(fd, buf, len);
	until = now_us() + poll_us;
	do {
		if (poll(&p, 1, 0) != 0)
			break;	/* a request, or an error that read will tell */
	} while (now_us() < until);
	n = read(fd, buf, len);
	if (n < 0) {
		err = errno;
		role_give(err == ENODEV);
		errno = err;
		return n;
	}
	if (!is_short(buf, (size_t)n))
		role_give(false);
	return n;
}
