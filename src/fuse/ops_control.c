// SPDX-License-Identifier: MIT
/*
 * The daemon's side of the control channel (control.h): the status
 * ioctl on the root directory. Every other ioctl is refused.
 */
#include "control.h"
#include "ops.h"
#include "quota.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The descriptors of cached inodes and of data: "key=value" lines. */
static int status_fds(struct shmfs_fs *fs, char *buf, size_t len)
{
	struct shmfs_fdcache *c = &fs->inodes.fds, *d = &fs->inodes.data_fds;
	struct shmfs_pins *p = &fs->inodes.pins;
	struct rlimit rl = { 0, 0 };
	unsigned int pinned;

	getrlimit(RLIMIT_NOFILE, &rl);
	pthread_mutex_lock(&p->lock);
	pinned = p->count;
	pthread_mutex_unlock(&p->lock);
	return snprintf(
		buf, len,
		"cached_inodes=%zu\ninode_fds=%s%s\ninode_fds_open=%u\n"
		"inode_fds_max=%u\ninode_fd_reopens=%" PRIuFAST64 "\n"
		"data_fds_open=%u\ndata_fds_max=%u\ndata_fd_opens=%" PRIuFAST64 "\n"
		"removed_pins=%u\nremoved_pins_max=%u\nremoved_pins_per_user=%u\n"
		"fd_limit=%llu\n",
		shmfs_inode_table_count(&fs->inodes),
		c->bounded ? "bounded" : "one per inode: ", c->bounded ? "" : c->why_unbounded,
		atomic_load_explicit(&c->nr_open, memory_order_relaxed), c->max,
		atomic_load_explicit(&c->nr_reopen, memory_order_relaxed),
		atomic_load_explicit(&d->nr_open, memory_order_relaxed), d->max,
		atomic_load_explicit(&d->nr_reopen, memory_order_relaxed), pinned, p->max,
		p->per_user, (unsigned long long)rl.rlim_cur);
}

/* tmpfs's huge=, mpol= and noswap, as the store's tmpfs has them now; absent for a directory. */
static int status_tmpfs(struct shmfs_fs *fs, char *buf, size_t len)
{
	char opts[256];

	if (!shmfs_store_tmpfs_options(&fs->store, opts, sizeof(opts)))
		return 0;
	return snprintf(buf, len, "store_options=%s\n", opts);
}

static size_t status_text(struct shmfs_fs *fs, char *buf, size_t len)
{
	struct shmfs_tree_usage u;
	struct statvfs sv;
	int n, m;

	if (shmfs_store_usage(&fs->store, &u))
		memset(&u, 0, sizeof(u));
	if (shmfs_store_statfs(&fs->store, &sv))
		memset(&sv, 0, sizeof(sv));
	n = snprintf(buf, len,
		     "pid=%d\nmountpoint=%s\ndata_path=%s\nstore=%s\nstore_kind=%s\n"
		     "segments=%" PRIu64 "\nsegment_bytes=%" PRIu64 "\n"
		     "bytes_used=%" PRIu64 "\nbytes_limit=%" PRIu64 "\n"
		     "inodes_used=%" PRIu64 "\ninodes_limit=%" PRIu64 "\n"
		     "open_handles=%" PRIuFAST64 "\nread_requests=%" PRIuFAST64
		     "\nwrite_requests=%" PRIuFAST64 "\nxattr=%s\n",
		     (int)getpid(), fs->mountpoint, fs->passthrough ? "passthrough" : "cached",
		     fs->store.path, fs->store.kind->name, u.files, u.file_bytes,
		     (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize,
		     (uint64_t)sv.f_blocks * sv.f_frsize, (uint64_t)(sv.f_files - sv.f_ffree),
		     (uint64_t)sv.f_files, atomic_load_explicit(&fs->nr_open, memory_order_relaxed),
		     atomic_load_explicit(&fs->nr_read, memory_order_relaxed),
		     atomic_load_explicit(&fs->nr_write, memory_order_relaxed),
		     fs->opts->xattr ? "on" : "off");
	if (n < 0)
		return 0;
	if ((size_t)n < len) {
		m = shmfs_transport_status(fs->transport, buf + n, len - (size_t)n);
		n += m > 0 ? m : 0;
	}
	if ((size_t)n < len) {
		m = status_fds(fs, buf + n, len - (size_t)n);
		n += m > 0 ? m : 0;
	}
	if ((size_t)n < len) {
		m = status_tmpfs(fs, buf + n, len - (size_t)n);
		n += m > 0 ? m : 0;
	}
	return (size_t)n < len ? (size_t)n + 1 : len;
}

void shmfs_op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		    struct fuse_file_info *fi, unsigned int flags, const void *in_buf,
		    size_t in_bufsz, size_t out_bufsz)
{
	char text[SHMFS_STATUS_MAX];
	size_t n;

	if (ino != FUSE_ROOT_ID || cmd != (unsigned int)SHMFS_IOC_STATUS ||
	    out_bufsz < sizeof(text)) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	n = status_text(shmfs_req_fs(req), text, sizeof(text));
	text[sizeof(text) - 1] = '\0';
	fuse_reply_ioctl(req, 0, text, n);
}
