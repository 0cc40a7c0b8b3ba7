// SPDX-License-Identifier: MIT
/*
 * Removing transient segments.
 *
 * In the cached data path a mapping holds the FUSE file open, so the last
 * release comes after the last munmap. In the passthrough path a mapping
 * holds the backing file instead, and the release can come while a
 * process still maps the segment: such segments wait in a list that a
 * reaper thread checks twice a second against /proc/PID/map_files.
 *
 * The segment's name is found from its O_PATH descriptor (the store is
 * private, so the path under the store's root is the name under the
 * mount), removed in the store, and the kernel is told to forget the
 * dentry. That notification is sent by the reaper thread, never from the
 * request handler that released the file.
 */
#include "transient.h"
#include "busypoll.h"
#include "log.h"
#include "ops.h"
#include "uring.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define REAP_INTERVAL_MS 500

struct transient_entry {
	int fd;			/* O_PATH, owned */
	dev_t dev;
	ino_t ino;
	bool removed;		/* only the kernel's dentry is left to drop */
	char *name;		/* the name to drop, after removal */
	fuse_ino_t parent;
	struct transient_entry *next;
};

static pthread_t reaper;
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t list_cond = PTHREAD_COND_INITIALIZER;
static struct transient_entry *list;
static bool stopping;

/* Whether the object open as fd has the transient mark: 1, 0, or -1 (could not tell). */
static int is_transient(int fd)
{
	char path[SHMFS_PROC_PATH_MAX];

	shmfs_proc_path(path, fd);
	if (getxattr(path, SHMFS_TRANSIENT_XATTR, NULL, 0) >= 0)
		return 1;
	return errno == ENODATA || errno == ENOTSUP ? 0 : -1;
}

/* Does any process map the file (dev, ino)? */
static bool is_mapped(dev_t dev, ino_t ino)
{
	DIR *proc = opendir("/proc"), *maps;
	struct dirent *p, *m;
	char dir[300];
	bool found = false;
	struct stat sb;

	if (!proc)
		return false;
	while (!found && (p = readdir(proc))) {
		if (p->d_name[0] < '0' || p->d_name[0] > '9')
			continue;
		snprintf(dir, sizeof(dir), "/proc/%s/map_files", p->d_name);
		maps = opendir(dir);
		if (!maps)
			continue;
		while (!found && (m = readdir(maps)))
			found = m->d_name[0] != '.' && !fstatat(dirfd(maps), m->d_name, &sb, 0) &&
				sb.st_dev == dev && sb.st_ino == ino;
		closedir(maps);
	}
	closedir(proc);
	return found;
}

/* The segment's path relative to the store's root, or NULL if it has none. */
static char *store_name(struct shmfs_fs *fs, int fd)
{
	char link[SHMFS_PROC_PATH_MAX], target[PATH_MAX], prefix[PATH_MAX];
	ssize_t n;
	size_t plen;

	shmfs_proc_path(link, fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s/root/", fs->store.path);
	if (strncmp(target, prefix, plen) || strstr(target, " (deleted)"))
		return NULL;
	return strdup(target + plen);
}

/* The node id the kernel knows the directory of rel by, or 0. */
static fuse_ino_t parent_nodeid(struct shmfs_fs *fs, const char *rel)
{
	const char *slash = strrchr(rel, '/');
	char *dir;
	struct stat sb;
	struct shmfs_inode *found;

	if (!slash)
		return FUSE_ROOT_ID;
	dir = strndup(rel, (size_t)(slash - rel));
	if (!dir || fstatat(fs->inodes.rootfd, dir, &sb, AT_SYMLINK_NOFOLLOW)) {
		free(dir);
		return 0;
	}
	free(dir);
	found = shmfs_inode_table_find(&fs->inodes, sb.st_dev, sb.st_ino);
	/* Only the number is used: a stale one makes the kernel look up again. */
	return found ? (uintptr_t)found : 0;
}

/* Remove the segment open as fd; fill e for the dentry notification. */
static void remove_segment(struct shmfs_fs *fs, int fd, struct transient_entry *e)
{
	char *rel = store_name(fs, fd);
	struct shmfs_freed freed;
	const char *base;

	if (!rel)
		return;
	base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	e->parent = parent_nodeid(fs, rel);
	shmfs_freed_probe(fs, &fs->inodes.root, rel, &freed);
	if (unlinkat(fs->inodes.rootfd, rel, 0)) {
		shmfs_warn_errno(errno, "cannot remove transient segment '%s'", rel);
		free(rel);
		return;
	}
	shmfs_freed_refund(fs, &freed);
	shmfs_debug("removed transient segment '%s'", rel);
	e->name = strdup(base);
	e->removed = true;
	free(rel);
}

static void enqueue(struct transient_entry *e)
{
	pthread_mutex_lock(&list_lock);
	e->next = list;
	list = e;
	pthread_cond_signal(&list_cond);
	pthread_mutex_unlock(&list_lock);
}

void shmfs_transient_released(struct shmfs_fs *fs, struct shmfs_inode *inode)
{
	struct transient_entry *e;
	int fd;

	if (inode->type != S_IFREG || inode->transient == 0)
		return;
	fd = shmfs_inode_fd_get(&fs->inodes, inode);
	if (fd < 0)
		return;
	if (inode->transient < 0)
		inode->transient = (signed char)is_transient(fd);
	if (inode->transient <= 0)
		goto out_put;
	e = calloc(1, sizeof(*e));
	if (!e)
		goto out_put;
	e->fd = -1;
	e->dev = inode->dev;
	e->ino = inode->ino;
	/*
	 * is_mapped() stats every mapping's file, some of them on this mount:
	 * a thread serving an io_uring queue, or the busy-polling reader,
	 * must leave that to the reaper, since its own requests would wait on
	 * the queue it serves.
	 */
	if (!fs->pt.active || (!shmfs_uring_serving() && !shmfs_busypoll_reading() &&
			       !is_mapped(e->dev, e->ino)))
		remove_segment(fs, fd, e);
	else
		e->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (!e->removed && e->fd < 0) {
		free(e);
		goto out_put;
	}
	enqueue(e);
out_put:
	shmfs_inode_fd_put(&fs->inodes, inode, fd);
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
	struct transient_entry *e, *next;

	pthread_mutex_lock(&list_lock);
	e = list;
	list = NULL;
	pthread_mutex_unlock(&list_lock);
	for (; e; e = next) {
		next = e->next;
		if (!e->removed) {
			if (shmfs_inode_table_nopen(&fs->inodes, e->dev, e->ino)) {
				entry_free(e);	/* open again: its release decides */
				continue;
			}
			if (is_mapped(e->dev, e->ino)) {
				enqueue(e);
				continue;
			}
			remove_segment(fs, e->fd, e);
		}
		if (e->removed && e->parent)
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
		if (!stopping)
			pthread_cond_timedwait(&list_cond, &list_lock, &ts);
	}
	pthread_mutex_unlock(&list_lock);
	return NULL;
}

int shmfs_transient_start(struct shmfs_fs *fs)
{
	return -pthread_create(&reaper, NULL, reaper_main, fs);
}

void shmfs_transient_stop(struct shmfs_fs *fs)
{
	pthread_mutex_lock(&list_lock);
	stopping = true;
	pthread_cond_signal(&list_cond);
	pthread_mutex_unlock(&list_lock);
	pthread_join(reaper, NULL);
}
