// SPDX-License-Identifier: MIT
/*
 * Removing transient segments at the right time; what may be removed,
 * and the removal itself, are core's (transient.h).
 *
 * In the cached data path a mapping holds the FUSE file open, so the last
 * release comes after the last munmap and the segment is removed then. In
 * the passthrough path a mapping holds the backing file instead, and the
 * release can come while a process still maps the segment: such segments
 * go to a reaper thread, which removes each once no process's
 * /proc/PID/maps names it (as the backing file, or as the FUSE file with
 * the backing inode number, which is how Linux 6.x shows a passthrough
 * mapping). One pass over /proc serves every waiting segment. Reading the
 * maps touches no process's files, and a process whose maps do not answer
 * (stuck in exec over a hung file system, say) is left to a worker of the
 * scan (mapscan.h), so no user can stall the reaper; no request thread
 * ever scans.
 *
 * A waiting segment is kept as its file handle, not a descriptor, when
 * the daemon can reopen handles (fdcache.h): users choose how many
 * segments wait, and they must not use up the daemon's descriptors.
 *
 * A removal runs while no other request changes names (the names lock,
 * held for writing). The kernel is told to forget the dentry by the
 * reaper, never from a request handler.
 */
#include "reaper.h"
#include "log.h"
#include "mapscan.h"
#include "mountinfo.h"
#include "ops.h"
#include "transient.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define REAP_INTERVAL_MS 500

struct transient_entry {
	bool waiting; /* not removed yet */
	int fd;	      /* O_PATH, owned, when it has no handle; else -1 */
	struct shmfs_handle handle;
	dev_t dev;
	ino_t ino;
	bool mapped; /* some process maps it (reaper only) */
	char *name;  /* the name to drop from the kernel's cache, after removal */
	fuse_ino_t parent;
	struct transient_entry *next;
};

static pthread_t reaper;
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t list_cond = PTHREAD_COND_INITIALIZER;
static struct transient_entry *list;
static bool stopping;
static bool fresh; /* an entry came since the reaper last looked */

/* The device of the mount itself, once mountinfo shows it (0 until then). */
static dev_t mount_dev(struct shmfs_fs *fs)
{
	static dev_t dev;
	unsigned int ma, mi;
	char buf[32];

	if (!dev && shmfs_mountinfo_device(fs->mountpoint, buf, sizeof(buf)) &&
	    sscanf(buf, "%u:%u", &ma, &mi) == 2)
		dev = makedev(ma, mi);
	return dev;
}

static int by_ino(const void *a, const void *b)
{
	ino_t x = (*(struct transient_entry *const *)a)->ino;
	ino_t y = (*(struct transient_entry *const *)b)->ino;

	return x < y ? -1 : x > y;
}

/*
 * Mark which of v[0..n) some process maps (mapscan.h: no process can
 * stall the scan). When the scan cannot be made, all count as mapped.
 */
static void mark_mapped(struct shmfs_fs *fs, struct transient_entry **v, size_t n)
{
	struct shmfs_mapkey *keys = calloc(n, sizeof(*keys));
	int err = keys ? 0 : -ENOMEM;

	qsort(v, n, sizeof(*v), by_ino);
	for (size_t i = 0; keys && i < n; i++) {
		keys[i].dev = v[i]->dev;
		keys[i].ino = v[i]->ino;
	}
	if (keys)
		err = shmfs_mapscan(keys, n, mount_dev(fs));
	if (err)
		shmfs_debug("cannot scan the processes' mappings: %s", strerror(-err));
	for (size_t i = 0; i < n; i++)
		v[i]->mapped = err || atomic_load_explicit(&keys[i].mapped, memory_order_relaxed);
	free(keys);
}

/*
 * Remove the segment open as fd (dev, ino) if nobody has it open; fill e
 * for the dentry notification.
 */
static void remove_segment(struct shmfs_fs *fs, int fd, struct transient_entry *e)
{
	struct shmfs_transient_found f;
	struct shmfs_inode *parent;
	struct stat sb;
	int err;

	pthread_rwlock_wrlock(&fs->names_lock);
	err = shmfs_transient_remove(&fs->inodes, fs->store.quota, fd, e->dev, e->ino, &f);
	pthread_rwlock_unlock(&fs->names_lock);
	if (err == -EMLINK)
		shmfs_debug("transient segment '%s' has %ju links: kept", f.base,
			    (uintmax_t)f.nlink);
	else if (err && f.dirfd < 0 && err != -ENOENT && err != -EBUSY)
		shmfs_warn_errno(-err, "cannot find transient segment %llu",
				 (unsigned long long)e->ino);
	else if (err && f.dirfd >= 0)
		shmfs_warn_errno(-err, "cannot remove transient segment '%s'", f.base);
	if (err)
		goto out;
	shmfs_debug("removed transient segment '%s'", f.base);
	/* Only the number is used: a stale one makes the kernel look up again. */
	parent = fstat(f.dirfd, &sb) ? NULL
				     : shmfs_inode_table_find(&fs->inodes, sb.st_dev, sb.st_ino);
	if (parent) {
		e->parent = parent == &fs->inodes.root ? FUSE_ROOT_ID : (uintptr_t)parent;
		e->name = f.base;
		f.base = NULL;
	}
out:
	shmfs_transient_found_release(&f);
}

/* Remove the segment that e waits for, reached by its handle or descriptor. */
static void remove_waiting(struct shmfs_fs *fs, struct transient_entry *e)
{
	int fd = e->fd;

	if (fd < 0)
		fd = shmfs_fdcache_open_handle(&fs->inodes.fds, &e->handle, e->dev, e->ino);
	if (fd >= 0)
		remove_segment(fs, fd, e);
	else if (fd != -ESTALE) /* gone: nothing left to remove */
		shmfs_warn_errno(-fd, "cannot reach transient segment %llu",
				 (unsigned long long)e->ino);
	if (fd >= 0 && fd != e->fd)
		close(fd);
	e->waiting = false;
}

/* Put e on the list; a new entry (not one put back) wakes the reaper. */
static void enqueue(struct transient_entry *e, bool new)
{
	pthread_mutex_lock(&list_lock);
	e->next = list;
	list = e;
	if (new) {
		fresh = true;
		pthread_cond_signal(&list_cond);
	}
	pthread_mutex_unlock(&list_lock);
}

void shmfs_reaper_take(struct shmfs_fs *fs, struct shmfs_inode *inode)
{
	struct transient_entry *e = calloc(1, sizeof(*e));
	int fd;

	if (!e)
		return;
	fd = shmfs_inode_fd_get(&fs->inodes, inode);
	if (fd < 0) {
		free(e);
		return;
	}
	e->fd = -1;
	e->waiting = true;
	e->dev = inode->dev;
	e->ino = inode->ino;
	if (!fs->passthrough) {
		/* Cached: no mapping outlives the release. */
		remove_segment(fs, fd, e);
		shmfs_inode_fd_put(&fs->inodes, inode, fd);
		if (!e->name) {
			free(e);
			return;
		}
		e->waiting = false;
	} else {
		if (!shmfs_fdcache_handle(&fs->inodes.fds, fd, &e->handle))
			e->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		shmfs_inode_fd_put(&fs->inodes, inode, fd);
		if (!e->handle.len && e->fd < 0) {
			shmfs_warn_errno(errno, "cannot keep transient segment %llu for removal",
					 (unsigned long long)e->ino);
			free(e);
			return;
		}
	}
	enqueue(e, true);
}

static void entry_free(struct transient_entry *e)
{
	if (e->fd >= 0)
		close(e->fd);
	free(e->name);
	free(e);
}

/*
 * One pass over the list: remove the segments nobody maps or opens any
 * more, tell the kernel about removed names, keep the rest for later.
 */
static void reap(struct shmfs_fs *fs)
{
	struct transient_entry *e, *next, *waiting = NULL, **v;
	size_t n = 0;

	pthread_mutex_lock(&list_lock);
	e = list;
	list = NULL;
	fresh = false;
	pthread_mutex_unlock(&list_lock);
	for (; e; e = next) {
		next = e->next;
		if (e->waiting && shmfs_inode_table_nopen(&fs->inodes, e->dev, e->ino)) {
			entry_free(e); /* open again: its release decides */
			continue;
		}
		e->next = waiting;
		waiting = e;
		n += e->waiting;
	}
	v = n ? malloc(n * sizeof(*v)) : NULL;
	if (v) {
		size_t i = 0;

		for (e = waiting; e; e = e->next)
			if (e->waiting)
				v[i++] = e;
		mark_mapped(fs, v, n);
		free(v);
	}
	for (e = waiting; e; e = next) {
		next = e->next;
		if (e->waiting) {
			if (!v || e->mapped) {
				enqueue(e, false);
				continue;
			}
			remove_waiting(fs, e);
		}
		if (e->name)
			fuse_lowlevel_notify_inval_entry(fs->se, e->parent, e->name,
							 strlen(e->name));
		entry_free(e);
	}
}

static void *reaper_main(void *arg)
{
	struct shmfs_fs *fs = arg;
	struct timespec ts;

	pthread_mutex_lock(&list_lock);
	while (!stopping) {
		pthread_mutex_unlock(&list_lock);
		reap(fs);
		pthread_mutex_lock(&list_lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += REAP_INTERVAL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		/* Woken at once by a new entry; the interval is for mapped ones. */
		if (!stopping && !fresh)
			pthread_cond_timedwait(&list_cond, &list_lock, &ts);
	}
	pthread_mutex_unlock(&list_lock);
	return NULL;
}

int shmfs_reaper_start(struct shmfs_fs *fs)
{
	return -pthread_create(&reaper, NULL, reaper_main, fs);
}

void shmfs_reaper_stop(struct shmfs_fs *fs)
{
	pthread_mutex_lock(&list_lock);
	stopping = true;
	pthread_cond_signal(&list_cond);
	pthread_mutex_unlock(&list_lock);
	pthread_join(reaper, NULL);
}
