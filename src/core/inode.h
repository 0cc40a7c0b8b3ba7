/* SPDX-License-Identifier: MIT */
/*
 * The inode table: one entry per backing object that the kernel knows
 * about, keyed by the backing (st_dev, st_ino). An entry reaches its
 * object through an O_PATH descriptor, so no path is ever resolved twice
 * and renames in the store need no bookkeeping. Those descriptors sit in
 * a bounded cache (fdcache.h): a request borrows one with
 * shmfs_inode_fd_get() and gives it back with shmfs_inode_fd_put(), and
 * the table holds millions of entries with a few thousand descriptors.
 *
 * The descriptors that read and write a segment's bytes sit in a second
 * bounded cache, opened again from the O_PATH one when they were closed
 * to make room (shmfs_inode_data_get()): however many segments users hold
 * open, the daemon holds at most so many. What a user can make the daemon
 * keep open beyond those, a removed segment's descriptor (reclaim.h), is
 * counted per user (pins.h).
 *
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
#include "pins.h"

struct shmfs_inode {
	struct shmfs_inode *next; /* hash chain, table lock */
	uint64_t nlookup;	  /* table lock */
	dev_t dev;
	ino_t ino;

	pthread_mutex_t lock;  /* guards the fields below, up to path */
	mode_t type;	       /* S_IFMT bits, fixed for life */
	unsigned int nopen;    /* open handles; read unlocked with __atomic_load_n */
	uid_t open_uid;	       /* who opened it first of the opens still held */
	int backing_id;	       /* the passthrough id of its backing file, 0 when none */
	bool backing_rw;       /* that backing file is open for writing */
	signed char transient; /* has the transient mark: 1, 0, or -1 not known yet */
	int fsflags;	       /* its inode flags that refuse writers, or -1 (ops_fsflags.c) */
	/*
	 * A borrowed O_PATH descriptor that keeps a segment removed while the
	 * kernel knows it in the store until the forget, or -1; a pin of
	 * unlinked_uid's (the table's release lock, reclaim.h).
	 */
	int unlinked_fd;
	uid_t unlinked_uid;
	/* The data descriptor (shmfs_inode_data_get()), tagged when it may write. */
	struct shmfs_fdslot data;
	/*
	 * A writable data descriptor kept borrowed until the last release, or
	 * -1: the daemon's, when none may be opened any more (an immutable
	 * segment that opens made before still write). Inode lock.
	 */
	int kept_data_fd;

	/* The O_PATH descriptor: shmfs_inode_fd_get(). Last: its handle follows. */
	struct shmfs_fdent path;
};

/* How many descriptors of each kind the table may hold open. */
struct shmfs_fd_budget {
	uint32_t path_fds;	/* O_PATH descriptors of entries, when bounded */
	uint32_t data_fds;	/* data descriptors of segments and directory streams */
	uint32_t pins;		/* descriptors pinned by removed segments (reclaim.h) */
	uint32_t pins_per_user; /* ...of those, held open by one user (but root) */
};

struct shmfs_inode_table {
	pthread_mutex_t lock;
	struct shmfs_inode **buckets;
	size_t nbuckets;
	size_t count;
	struct shmfs_fdcache fds;
	struct shmfs_fdcache data_fds;
	/*
	 * Held while it is decided whether a removed segment keeps a pinned
	 * descriptor, and who gives its bytes back (reclaim.h). Taken before
	 * the table's lock.
	 */
	pthread_mutex_t release_lock;
	struct shmfs_pins pins;
	/*
	 * A removed segment still open keeps a descriptor (reclaim.h): set
	 * when the daemon's descriptors are all that hold the store's file,
	 * the cached data path (passthrough opens hold it in the kernel).
	 */
	bool keep_removed;
	int rootfd;		 /* the store's root (O_PATH), open as long as the table */
	char *root_path;	 /* rootfd's path as /proc/self/fd shows it (beneath.h) */
	struct shmfs_inode root; /* last: see struct shmfs_inode */
};

/*
 * Start a table whose root is the directory rootfd (O_PATH, taken), with
 * descriptors of other entries open within budget b. 0 or -errno.
 */
int shmfs_inode_table_init(struct shmfs_inode_table *t, int rootfd,
			   const struct shmfs_fd_budget *b);
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
	shmfs_fdcache_put(&t->fds, &inode->path.fd, fd);
}

/*
 * A new descriptor of inode's object opened with flags (O_RDWR,
 * O_RDONLY | O_DIRECTORY...) through its O_PATH one, for the caller to
 * own. The descriptor, or -errno.
 */
int shmfs_inode_open(struct shmfs_inode_table *t, struct shmfs_inode *inode, int flags);
/*
 * Borrow a descriptor of inode's backing file for its data, until
 * shmfs_inode_data_put(): read-write when the daemon may (*rw set), else
 * read-only (the kernel may read pages through any open); with write, a
 * read-only one is opened again in the hope of a writable one. No system
 * call when it is cached. The descriptor, or -errno.
 */
int shmfs_inode_data_get(struct shmfs_inode_table *t, struct shmfs_inode *inode, bool write,
			 bool *rw);

static inline void shmfs_inode_data_put(struct shmfs_inode_table *t, struct shmfs_inode *inode,
					int fd)
{
	shmfs_fdcache_put(&t->data_fds, &inode->data, fd);
}

/* A new read-write data descriptor of inode (taken), kept if there is room. */
void shmfs_inode_data_offer(struct shmfs_inode_table *t, struct shmfs_inode *inode, int fd);

/*
 * A descriptor of its own that an open keeps in the data descriptors'
 * cache, such as a directory stream: s is the caller's (shmfs_fdslot_init),
 * and the descriptor may be closed between requests. Borrow it, opening
 * inode again with flags if it was closed: the descriptor, or -errno.
 */
int shmfs_inode_slot_get(struct shmfs_inode_table *t, struct shmfs_inode *inode,
			 struct shmfs_fdslot *s, int flags);

static inline void shmfs_inode_slot_put(struct shmfs_inode_table *t, struct shmfs_fdslot *s, int fd)
{
	shmfs_fdcache_put(&t->data_fds, s, fd);
}

/* A new descriptor for s (taken), kept if there is room. */
static inline void shmfs_inode_slot_offer(struct shmfs_inode_table *t, struct shmfs_fdslot *s,
					  int fd)
{
	shmfs_fdcache_offer(&t->data_fds, s, fd, false);
}

/* Close s's descriptor for good, when the open ends. */
static inline void shmfs_inode_slot_release(struct shmfs_inode_table *t, struct shmfs_fdslot *s)
{
	shmfs_fdslot_release(&t->data_fds, s);
}
/*
 * After EMFILE or ENFILE: close some cached descriptors nobody uses.
 * Whether any was closed (worth trying again).
 */
bool shmfs_inode_table_shrink(struct shmfs_inode_table *t);

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
