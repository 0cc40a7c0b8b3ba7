/* SPDX-License-Identifier: MIT */
/*
 * The inode table: one entry per backing object that the kernel knows
 * about, keyed by the backing (st_dev, st_ino). An entry reaches its
 * object through an O_PATH descriptor, so no path is ever resolved twice
 * and renames in the store need no bookkeeping. Those descriptors sit in
 * a bounded cache (fdcache.h): a request borrows one with
 * shmfs_inode_fd_get() and gives it back with shmfs_inode_fd_put(), and
 * the table holds millions of entries with a few thousand descriptors.
 * The FUSE node id of an entry is its address; the root is the table's
 * own entry, whose descriptor stays open. Nothing here speaks FUSE.
 */
#ifndef SHMFS_INODE_H
#define SHMFS_INODE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fdcache.h"

struct shmfs_inode {
	struct shmfs_inode *next; /* hash chain, table lock */
	uint64_t nlookup;	  /* table lock */
	dev_t dev;
	ino_t ino;

	pthread_mutex_t lock;  /* guards the fields below, up to path */
	mode_t type;	       /* S_IFMT bits, fixed for life */
	unsigned int nopen;    /* open handles; read unlocked with __atomic_load_n */
	int data_fd;	       /* shared descriptor of the backing file, or -1 */
	int backing_id;	       /* data_fd's passthrough id, 0 when none */
	bool data_rw;	       /* data_fd is open for writing */
	signed char transient; /* has the transient mark: 1, 0, or -1 not known yet */
	int fsflags;	       /* its inode flags that refuse writers, or -1 (ops_fsflags.c) */
	/*
	 * A borrowed O_PATH descriptor that keeps a segment removed while the
	 * kernel knows it in the store until the forget gives its bytes back,
	 * or -1 (the size limit's release lock, quota.h).
	 */
	int unlinked_fd;

	/* The O_PATH descriptor: shmfs_inode_fd_get(). Last: its handle follows. */
	struct shmfs_fdent path;
};

struct shmfs_inode_table {
	pthread_mutex_t lock;
	struct shmfs_inode **buckets;
	size_t nbuckets;
	size_t count;
	struct shmfs_fdcache fds;
	int rootfd;		 /* the store's root (O_PATH), open as long as the table */
	char *root_path;	 /* rootfd's path as /proc/self/fd shows it (beneath.h) */
	struct shmfs_inode root; /* last: see struct shmfs_inode */
};

/*
 * Start a table whose root is the directory rootfd (O_PATH, taken), with
 * at most max_fds descriptors of other entries open. 0 or -errno.
 */
int shmfs_inode_table_init(struct shmfs_inode_table *t, int rootfd, uint32_t max_fds);
void shmfs_inode_table_release(struct shmfs_inode_table *t);

/*
 * Borrow inode's O_PATH descriptor, which stays open until it is given
 * back with shmfs_inode_fd_put(). No system call unless it had to be
 * reopened. The descriptor, or -errno: -ESTALE when the object is gone
 * from the store.
 */
static inline int shmfs_inode_fd_get(struct shmfs_inode_table *t, struct shmfs_inode *inode)
{
	return shmfs_fdcache_get(&t->fds, &inode->path, inode->dev, inode->ino);
}

static inline void shmfs_inode_fd_put(struct shmfs_inode_table *t, struct shmfs_inode *inode,
				      int fd)
{
	shmfs_fdcache_put(&t->fds, &inode->path, fd);
}

/*
 * A new descriptor of inode's backing file, for its data: read-write when
 * the daemon may (*rw set), else read-only (the kernel may read pages
 * through any open). The descriptor, or -errno.
 */
int shmfs_inode_data_open(struct shmfs_inode_table *t, struct shmfs_inode *inode, bool *rw);

/*
 * Account one lookup of the object open as fd (O_PATH) with attributes sb.
 * Takes ownership of fd. Returns the entry, or NULL with errno set.
 */
struct shmfs_inode *shmfs_inode_table_get(struct shmfs_inode_table *t, int fd,
					  const struct stat *sb);
/*
 * The entry for (dev, ino), or NULL. No reference is taken: the result
 * may only be used as a number (a node id), never dereferenced.
 */
struct shmfs_inode *shmfs_inode_table_find(struct shmfs_inode_table *t, dev_t dev, ino_t ino);
/* Open handles of the entry for (dev, ino); 0 if there is none. */
unsigned int shmfs_inode_table_nopen(struct shmfs_inode_table *t, dev_t dev, ino_t ino);
/*
 * Drop n lookups. When none remain the entry leaves the table and is
 * returned: the caller gives back what it registered for it elsewhere,
 * then frees it with shmfs_inode_free(). NULL while it stays.
 */
struct shmfs_inode *shmfs_inode_table_forget(struct shmfs_inode_table *t, struct shmfs_inode *inode,
					     uint64_t n);
/* Close an entry's descriptors and free it. */
void shmfs_inode_free(struct shmfs_inode_table *t, struct shmfs_inode *inode);
/* Entries in the table, the root included. */
size_t shmfs_inode_table_count(struct shmfs_inode_table *t);

#endif
