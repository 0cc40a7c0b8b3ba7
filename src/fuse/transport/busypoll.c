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
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SHORT_IO (64u << 10) /* reads and writes up to this are short */

_Static_assert(offsetof(struct fuse_read_in, size) == offsetof(struct fuse_write_in, size),
	       "one look at the size of a read or a write");

static unsigned int poll_us;
static pthread_mutex_t role_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t role_free = PTHREAD_COND_INITIALIZER;
static bool role_taken;
static bool ended; /* the session is over: everyone reads, and fails */
static __thread bool is_reader;
static pthread_key_t reader_key; /* non-NULL while this thread is the reader */

static void role_give(bool end);

static void reader_exits(void *arg)
{
	(void)arg;
	role_give(false);
}

void shmfs_busypoll_enable(unsigned int usec)
{
	if (usec && pthread_key_create(&reader_key, reader_exits))
		usec = 0; /* no way to hand the role on at thread exit: no polling */
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
	const struct fuse_in_header *in = buf;
	const void *arg = in + 1;
	size_t argsz;

	if (n < sizeof(*in))
		return false;
	argsz = n - sizeof(*in);
	switch (in->opcode) {
	case FUSE_SETATTR: { /* a change of size frees or reserves memory */
		struct fuse_setattr_in a;

		if (argsz < sizeof(a))
			return false;
		memcpy(&a, arg, sizeof(a));
		return !(a.valid & FATTR_SIZE);
	}
	case FUSE_OPEN: { /* O_TRUNC frees memory */
		struct fuse_open_in a;

		if (argsz < sizeof(a))
			return false;
		memcpy(&a, arg, sizeof(a));
		return !(a.flags & O_TRUNC);
	}
	case FUSE_READ:
	case FUSE_WRITE: { /* fuse_read_in and fuse_write_in agree up to size */
		struct fuse_read_in a;

		if (argsz < offsetof(struct fuse_read_in, size) + sizeof(a.size))
			return false;
		memcpy(&a.size, (const char *)arg + offsetof(struct fuse_read_in, size),
		       sizeof(a.size));
		return a.size <= SHORT_IO;
	}
	case FUSE_LOOKUP:
	case FUSE_GETATTR:
	case FUSE_READLINK:
	case FUSE_SYMLINK:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_UNLINK:
	case FUSE_RMDIR:
	case FUSE_RENAME:
	case FUSE_LINK:
	case FUSE_STATFS:
	case FUSE_RELEASE:
	case FUSE_FSYNC:
	case FUSE_SETXATTR:
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_REMOVEXATTR:
	case FUSE_FLUSH:
	case FUSE_OPENDIR:
	case FUSE_RELEASEDIR:
	case FUSE_FSYNCDIR:
	case FUSE_ACCESS:
	case FUSE_CREATE:
	case FUSE_INTERRUPT:
	case FUSE_RENAME2:
	case FUSE_LSEEK: return true;
	default: return false;
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
	if (!is_reader) /* the session is over */
		return read(fd, buf, len);
	until = now_us() + poll_us;
	do {
		if (poll(&p, 1, 0) != 0)
			break; /* a request, or an error that read will tell */
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
