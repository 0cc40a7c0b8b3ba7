// SPDX-License-Identifier: MIT
/*
 * The inode table: a chained hash table under one mutex. Lookups and
 * forgets are short; data-path operations never take the table lock.
 * A new entry takes its object's file handle outside the lock, and its
 * descriptor goes to the cache after it. Data descriptors are opened
 * again through /proc/self/fd from the O_PATH ones, which works for a
 * segment with no name left too.
 */
#include "inode.h"
#include "procfd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INITIAL_BUCKETS 1024

static size_t hash_key(dev_t dev, ino_t ino, size_t nbuckets)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev;

	return (size_t)(h >> 17) & (nbuckets - 1);
}

static void inode_setup(struct shmfs_inode *inode, const struct stat *sb)
{
	memset(inode, 0, sizeof(*inode));
	inode->dev = sb->st_dev;
	inode->ino = sb->st_ino;
	inode->type = sb->st_mode & S_IFMT;
	inode->unlinked_fd = -1;
	inode->kept_data_fd = -1;
	inode->transient = -1;
	inode->fsflags = -1;
	shmfs_fdslot_init(&inode->data);
	pthread_mutex_init(&inode->lock, NULL);
}

int shmfs_inode_table_init(struct shmfs_inode_table *t, int rootfd, const struct shmfs_fd_budget *b)
{
	struct stat sb;
	int err;

	if (fstatat(rootfd, "", &sb, AT_EMPTY_PATH))
		return -errno;
	memset(t, 0, sizeof(*t));
	t->rootfd = -1;
	t->root_path = shmfs_proc_readlink(rootfd);
	if (!t->root_path)
		return -errno;
	t->buckets = calloc(INITIAL_BUCKETS, sizeof(*t->buckets));
	err = t->buckets ? shmfs_fdcache_init(&t->fds, rootfd, b->path_fds) : -ENOMEM;
	if (!err) {
		err = shmfs_fdcache_init(&t->data_fds, -1, b->data_fds);
		if (err)
			shmfs_fdcache_release(&t->fds);
	}
	if (err) {
		free(t->buckets);
		t->buckets = NULL;
		free(t->root_path);
		t->root_path = NULL;
		return err;
	}
	t->nbuckets = INITIAL_BUCKETS;
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->release_lock, NULL);
	shmfs_pins_init(&t->pins, b->pins, b->pins_per_user);
	inode_setup(&t->root, &sb);
	shmfs_fdcache_ent_init(&t->root.path, rootfd); /* no handle: kept */
	t->rootfd = rootfd;
	t->root.nlookup = 2; /* never forgotten */
	return 0;
}

static void grow(struct shmfs_inode_table *t)
{
	size_t n = t->nbuckets * 2;
	struct shmfs_inode **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct shmfs_inode *e = t->buckets[i], *next;

		for (; e; e = next) {
			size_t h = hash_key(e->dev, e->ino, n);

			next = e->next;
			e->next = b[h];
			b[h] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

static struct shmfs_inode *find_locked(struct shmfs_inode_table *t, dev_t dev, ino_t ino)
{
	struct shmfs_inode *e = t->buckets[hash_key(dev, ino, t->nbuckets)];

	while (e && (e->ino != ino || e->dev != dev))
		e = e->next;
	return e;
}

/* Account one more lookup of (dev, ino) if it has an entry. Table lock held. */
static struct shmfs_inode *lookup_locked(struct shmfs_inode_table *t, const struct stat *sb)
{
	struct shmfs_inode *e = find_locked(t, sb->st_dev, sb->st_ino);

	if (e)
		e->nlookup++;
	return e;
}

/*
 * A new entry for the object open as fd, not in the table yet; NULL if
 * out of memory. *kept tells whether it took fd for good (it has no handle).
 */
static struct shmfs_inode *inode_new(struct shmfs_inode_table *t, int fd, const struct stat *sb,
				     bool *kept)
{
	struct shmfs_handle h;
	bool has = shmfs_fdcache_handle(&t->fds, fd, &h);
	struct shmfs_inode *e = malloc(sizeof(*e) + (has ? h.len : 0));

	if (!e)
		return NULL;
	inode_setup(e, sb);
	if (has) {
		e->path.handle_len = (unsigned char)h.len;
		e->path.handle_type = h.type;
		memcpy(e->path.handle, h.bytes, h.len);
	}
	if (shmfs_fdcache_ent_init(&e->path, fd))
		*kept = true;
	return e;
}

struct shmfs_inode *shmfs_inode_table_get(struct shmfs_inode_table *t, int fd,
					  const struct stat *sb)
{
	struct shmfs_inode *e, *made;
	bool kept = false;
	size_t h;

	if (sb->st_dev == t->root.dev && sb->st_ino == t->root.ino) {
		close(fd);
		pthread_mutex_lock(&t->lock);
		t->root.nlookup++;
		pthread_mutex_unlock(&t->lock);
		return &t->root;
	}
	pthread_mutex_lock(&t->lock);
	e = lookup_locked(t, sb);
	pthread_mutex_unlock(&t->lock);
	if (e) {
		/* It may have lost its descriptor: this one saves a reopen. */
		shmfs_fdcache_offer(&t->fds, &e->path.fd, fd, false);
		return e;
	}
	made = inode_new(t, fd, sb, &kept);
	if (!made) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&t->lock);
	e = lookup_locked(t, sb); /* made by another lookup meanwhile? */
	if (!e) {
		e = made;
		e->nlookup = 1;
		h = hash_key(sb->st_dev, sb->st_ino, t->nbuckets);
		e->next = t->buckets[h];
		t->buckets[h] = e;
		if (++t->count > t->nbuckets)
			grow(t);
	}
	pthread_mutex_unlock(&t->lock);
	if (e != made) {
		pthread_mutex_destroy(&made->lock);
		free(made);
		kept = false;
	}
	/* The lookup counted here keeps e in the table meanwhile. */
	if (!kept)
		shmfs_fdcache_offer(&t->fds, &e->path.fd, fd, false);
	return e;
}

struct shmfs_inode *shmfs_inode_table_find(struct shmfs_inode_table *t, dev_t dev, ino_t ino)
{
	struct shmfs_inode *e;

	if (dev == t->root.dev && ino == t->root.ino)
		return &t->root;
	pthread_mutex_lock(&t->lock);
	e = find_locked(t, dev, ino);
	pthread_mutex_unlock(&t->lock);
	return e;
}

unsigned int shmfs_inode_table_nopen(struct shmfs_inode_table *t, dev_t dev, ino_t ino)
{
	struct shmfs_inode *e;
	unsigned int n = 0;

	pthread_mutex_lock(&t->lock);
	e = find_locked(t, dev, ino);
	if (e)
		n = __atomic_load_n(&e->nopen, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&t->lock);
	return n;
}

static void unlink_entry(struct shmfs_inode_table *t, struct shmfs_inode *inode)
{
	struct shmfs_inode **pp = &t->buckets[hash_key(inode->dev, inode->ino, t->nbuckets)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == inode) {
			*pp = inode->next;
			t->count--;
			return;
		}
	}
}

void shmfs_inode_free(struct shmfs_inode_table *t, struct shmfs_inode *inode)
{
	if (inode->unlinked_fd >= 0) {
		shmfs_inode_fd_put(t, inode, inode->unlinked_fd);
		shmfs_pins_give(&t->pins, inode->unlinked_uid);
	}
	if (inode->kept_data_fd >= 0)
		shmfs_inode_data_put(t, inode, inode->kept_data_fd);
	shmfs_fdslot_release(&t->data_fds, &inode->data);
	shmfs_fdslot_release(&t->fds, &inode->path.fd);
	pthread_mutex_destroy(&inode->lock);
	free(inode);
}

struct shmfs_inode *shmfs_inode_table_forget(struct shmfs_inode_table *t, struct shmfs_inode *inode,
					     uint64_t n)
{
	bool gone = false;

	pthread_mutex_lock(&t->lock);
	inode->nlookup = inode->nlookup > n ? inode->nlookup - n : 0;
	if (inode->nlookup == 0 && inode != &t->root) {
		unlink_entry(t, inode);
		gone = true;
	}
	pthread_mutex_unlock(&t->lock);
	return gone ? inode : NULL;
}

void shmfs_inode_table_release(struct shmfs_inode_table *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct shmfs_inode *e = t->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			shmfs_inode_free(t, e);
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	if (t->rootfd >= 0)
		shmfs_fdslot_release(&t->fds, &t->root.path.fd);
	t->rootfd = -1;
	free(t->root_path);
	t->root_path = NULL;
	shmfs_fdcache_release(&t->data_fds);
	shmfs_fdcache_release(&t->fds);
	shmfs_pins_release(&t->pins);
	pthread_mutex_destroy(&t->release_lock);
	pthread_mutex_destroy(&t->root.lock);
}

bool shmfs_inode_table_shrink(struct shmfs_inode_table *t)
{
	unsigned int n = shmfs_fdcache_shrink(&t->data_fds, 64);

	return n + shmfs_fdcache_shrink(&t->fds, 64) > 0;
}

int shmfs_inode_open(struct shmfs_inode_table *t, struct shmfs_inode *inode, int flags)
{
	char path[SHMFS_PROC_PATH_MAX];
	int pfd = shmfs_inode_fd_get(t, inode);
	int fd;

	if (pfd < 0)
		return pfd;
	shmfs_proc_path(path, pfd);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && shmfs_inode_table_shrink(t))
		fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	shmfs_inode_fd_put(t, inode, pfd);
	return fd;
}

/* A new data descriptor of inode: read-write if the daemon may (*rw), else read-only. */
static int data_open(struct shmfs_inode_table *t, struct shmfs_inode *inode, bool *rw)
{
	int fd = shmfs_inode_open(t, inode, O_RDWR);

	*rw = fd >= 0;
	/* EPERM: immutable or append-only (chattr), yet readable. */
	if (fd == -EACCES || fd == -EPERM)
		fd = shmfs_inode_open(t, inode, O_RDONLY);
	return fd;
}

/* Lend fd, opened for s (or -errno), to the data descriptors' cache. */
static int lend(struct shmfs_inode_table *t, struct shmfs_fdslot *s, int fd, bool *tag)
{
	if (fd < 0)
		return fd;
	atomic_fetch_add_explicit(&t->data_fds.nr_reopen, 1, memory_order_relaxed);
	return shmfs_fdcache_lend(&t->data_fds, s, fd, tag);
}

int shmfs_inode_data_get(struct shmfs_inode_table *t, struct shmfs_inode *inode, bool write,
			 bool *rw)
{
	int fd = shmfs_fdcache_borrow(&inode->data, write, rw);

	return fd >= 0 ? fd : lend(t, &inode->data, data_open(t, inode, rw), rw);
}

int shmfs_inode_slot_get(struct shmfs_inode_table *t, struct shmfs_inode *inode,
			 struct shmfs_fdslot *s, int flags)
{
	bool tag = false;
	int fd = shmfs_fdcache_borrow(s, false, &tag);

	return fd >= 0 ? fd : lend(t, s, shmfs_inode_open(t, inode, flags), &tag);
}

void shmfs_inode_data_offer(struct shmfs_inode_table *t, struct shmfs_inode *inode, int fd)
{
	shmfs_fdcache_offer(&t->data_fds, &inode->data, fd, true);
}

size_t shmfs_inode_table_count(struct shmfs_inode_table *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count + 1;
	pthread_mutex_unlock(&t->lock);
	return n;
}
