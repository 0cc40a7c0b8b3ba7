/* SPDX-License-Identifier: MIT */
/*
 * The inode table: one entry per backing object that the kernel knows
 * about, keyed by the backing (st_dev, st_ino). An entry holds an O_PATH
 * descriptor of its object, so no path is ever resolved twice and renames
 * in the store need no bookkeeping. The FUSE node id of an entry is its
 * address; the root is the table's own entry. Nothing here speaks FUSE.
 */
#ifndef SHMFS_INODE_H
#define SHMFS_INODE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct shmfs_inode {
	int fd;			/* O_PATH, owned */
	dev_t dev;
	ino_t ino;
	mode_t type;		/* S_IFMT bits, fixed for life */
	uint64_t nlookup;	/* table lock */
	struct shmfs_inode *next;	/* hash chain, table lock */

	pthread_mutex_t lock;	/* guards the fields below */
	unsigned int nopen;	/* open handles; read unlocked with __atomic_load_n */
	int data_fd;		/* shared descriptor of the backing file, or -1 */
	bool data_rw;		/* data_fd is open for writing */
	int backing_id;		/* data_fd's passthrough id, 0 when none */
	signed char transient;	/* has the transient mark: 1, 0, or -1 not known yet */
};

struct shmfs_inode_table {
	pthread_mutex_t lock;
	struct shmfs_inode **buckets;
	size_t nbuckets;
	size_t count;
	struct shmfs_inode root;
};

int shmfs_inode_table_init(struct shmfs_inode_table *t, int rootfd);
void shmfs_inode_table_release(struct shmfs_inode_table *t);

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
struct shmfs_inode *shmfs_inode_table_forget(struct shmfs_inode_table *t,
					     struct shmfs_inode *inode, uint64_t n);
/* Close an entry's descriptors and free it. */
void shmfs_inode_free(struct shmfs_inode *inode);

#endif
