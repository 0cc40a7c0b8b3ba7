/* SPDX-License-Identifier: MIT */
/*
 * What the request handlers share. The handlers themselves are split by
 * concern (ops.c: table, attributes, lifecycle; ops_namespace.c: names;
 * ops_file.c: open files and data; ops_dir.c: directory listing;
 * ops_xattr.c: extended attributes; ops_control.c: the status ioctl). Each decodes
 * its request, does the work through the store's descriptors, and replies
 * exactly once.
 */
#ifndef SHMFS_OPS_H
#define SHMFS_OPS_H

#include <stdio.h>
#include <sys/stat.h>

#include "fs.h"
#include "procfd.h"

static inline struct shmfs_fs *shmfs_req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/*
 * Lock an inode for a request. A request that holds the lock may take
 * long (truncation, fallocate): the transport is told that this thread
 * waits (a busy-poll reader hands over rather than hold up every other
 * request).
 */
static inline void shmfs_inode_lock(struct shmfs_inode *inode)
{
	if (pthread_mutex_trylock(&inode->lock)) {
		shmfs_transport_yield();
		pthread_mutex_lock(&inode->lock);
	}
}

/* Bracket a change of names in the store (see names_lock in fs.h). */
static inline void shmfs_names_begin(struct shmfs_fs *fs)
{
	pthread_rwlock_rdlock(&fs->names_lock);
}

static inline void shmfs_names_end(struct shmfs_fs *fs)
{
	pthread_rwlock_unlock(&fs->names_lock);
}

static inline struct shmfs_inode *shmfs_req_inode(fuse_req_t req, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &shmfs_req_fs(req)->inodes.root;
	return (struct shmfs_inode *)(uintptr_t)ino;
}

/*
 * Borrow inode's O_PATH descriptor for a request (shmfs_inode_fd_get()):
 * when it cannot be had, the request is answered with the error and -1
 * returned. Give it back with shmfs_inode_fd_put(), which must not use
 * the request after its reply.
 */
static inline int shmfs_req_fd_get(fuse_req_t req, struct shmfs_inode *inode)
{
	int fd = shmfs_inode_fd_get(&shmfs_req_fs(req)->inodes, inode);

	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return -1;
	}
	return fd;
}

/*
 * Account a lookup of the object open as fd (O_PATH, owned) and fill the
 * entry for the kernel. 0 or -errno.
 */
int shmfs_entry_from_fd(struct shmfs_fs *fs, int fd, struct fuse_entry_param *e);
/* Look parent/name up and fill the entry. 0 or -errno. */
int shmfs_entry_lookup(struct shmfs_fs *fs, struct shmfs_inode *parent, const char *name,
		       struct fuse_entry_param *e);
/*
 * Drop n of the kernel's lookups of inode; when none remain, give back its
 * passthrough registration and free it.
 */
void shmfs_forget_inode(struct shmfs_fs *fs, struct shmfs_inode *inode, uint64_t n);
/*
 * Give back inode's passthrough registration (its backing id). Inode lock
 * held, or the inode out of every other thread's reach (forgotten).
 */
void shmfs_backing_put(struct shmfs_fs *fs, struct shmfs_inode *inode);
/*
 * Give a new object parent/name (or fd when >= 0) to the caller, keeping
 * the set-ID bits that the store gave it when mode (the mode it was made
 * with; 0 for directories and symlinks, which a change of owner leaves
 * alone) asked for any.
 */
int shmfs_owner_set(fuse_req_t req, struct shmfs_inode *parent, const char *name, int fd,
		    mode_t mode);

/*
 * Before making an object for req: with ACLs on, the kernel leaves the
 * umask to the file system, and the store applies it unless the directory
 * has a default ACL, exactly as tmpfs does; so the thread takes the
 * caller's umask.
 */
void shmfs_umask_set(fuse_req_t req);

/* Handlers living outside ops.c. */
void shmfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void shmfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void shmfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void shmfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name);
void shmfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void shmfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void shmfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned int flags);
void shmfs_op_readlink(fuse_req_t req, fuse_ino_t ino);

void shmfs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     struct fuse_file_info *fi);
void shmfs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void shmfs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi);
void shmfs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi);
void shmfs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void shmfs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void shmfs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			struct fuse_file_info *fi);
/* Truncate ino's backing file (for setattr). 0 or -errno. */
int shmfs_file_truncate(struct shmfs_fs *fs, struct shmfs_inode *inode, struct fuse_file_info *fi,
			off_t size);

void shmfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void shmfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi);
void shmfs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi);
void shmfs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

void shmfs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		       size_t size, int flags);
void shmfs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void shmfs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void shmfs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
/* Set (value non-NULL) or remove an attribute of inode: 0 or a positive errno. */
int shmfs_xattr_change(fuse_req_t req, struct shmfs_inode *inode, const char *name,
		       const char *value, size_t size, int flags);
void shmfs_op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		    struct fuse_file_info *fi, unsigned int flags, const void *in_buf,
		    size_t in_bufsz, size_t out_bufsz);

#endif
