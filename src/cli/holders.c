// SPDX-License-Identifier: MIT
/*
 * The holders of a mount's segments, read from /proc (holders.h): for
 * every process, the files its descriptors lead to (/proc/PID/fd, each
 * link's target examined with statx(AT_STATX_DONT_SYNC), which FUSE answers
 * from the attributes the kernel keeps, without a request to the daemon)
 * and the files it maps (/proc/PID/maps, which names each mapping's device
 * and inode). A process whose descriptors or maps we may not read (another
 * user's, without CAP_SYS_PTRACE) is counted as skipped.
 */
#include "holders.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int holder_add(struct shmfs_holders *h, ino_t ino, pid_t pid, bool open, bool mapped)
{
	struct shmfs_holder *e;

	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 64;
		struct shmfs_holder *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	e = &h->v[h->n++];
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->pid = pid;
	e->open = open;
	e->mapped = mapped;
	return 0;
}

/* What a failure to open one of a process's /proc files means. */
static int proc_open_error(int err)
{
	return err == EACCES || err == EPERM ? -EACCES : 0; /* else: it is gone */
}

/* The regular files on dev that process pid has open. */
static int scan_fds(struct shmfs_holders *h, pid_t pid, dev_t dev)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int dfd, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return proc_open_error(errno);
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -ENOMEM;
	}
	while (!err && (de = readdir(d))) {
		struct statx stx;

		if (de->d_name[0] == '.')
			continue;
		/* Follows the link to the open file; never a lookup by name. */
		if (statx(dfd, de->d_name, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO, &stx))
			continue; /* closed meanwhile, or not ours to see */
		if (S_ISREG(stx.stx_mode) && makedev(stx.stx_dev_major, stx.stx_dev_minor) == dev)
			err = holder_add(h, (ino_t)stx.stx_ino, pid, true, false);
	}
	closedir(d);
	return err;
}

/* The files on dev that process pid maps. */
static int scan_maps(struct shmfs_holders *h, pid_t pid, dev_t dev, size_t first)
{
	unsigned long long ino;
	unsigned int major, minor;
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return proc_open_error(errno);
	/* "START-END PERMS OFFSET MAJOR:MINOR INODE [PATH]", numbers in hex but INODE. */
	while (!err && getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &major, &minor, &ino) != 3 || !ino ||
		    makedev(major, minor) != dev)
			continue;
		/* A mapping in several pieces shows as consecutive lines. */
		if (h->n > first && h->v[h->n - 1].ino == (ino_t)ino && h->v[h->n - 1].mapped)
			continue;
		err = holder_add(h, (ino_t)ino, pid, false, true);
	}
	free(line);
	fclose(f);
	return err;
}

static int by_ino_pid(const void *a, const void *b)
{
	const struct shmfs_holder *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* One entry per inode in h->v[first..n): open and mapped combined. */
static void merge_process(struct shmfs_holders *h, size_t first)
{
	size_t out = first;

	qsort(h->v + first, h->n - first, sizeof(*h->v), by_ino_pid);
	for (size_t i = first; i < h->n; i++) {
		if (out > first && h->v[out - 1].ino == h->v[i].ino) {
			h->v[out - 1].open |= h->v[i].open;
			h->v[out - 1].mapped |= h->v[i].mapped;
		} else {
			h->v[out++] = h->v[i];
		}
	}
	h->n = out;
}

/* The effective uid and the command name of process pid. */
static void process_identity(pid_t pid, uid_t *uid, char *comm, size_t len)
{
	char path[64], line[256];
	unsigned int r, e;
	FILE *f;

	*uid = (uid_t)-1;
	snprintf(comm, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Uid: %u %u", &r, &e) == 2) {
			*uid = (uid_t)e;
			break;
		}
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (f && fgets(comm, (int)len, f))
		comm[strcspn(comm, "\n")] = '\0';
	if (f)
		fclose(f);
}

/*
 * Whether process pid still runs: one that is exiting refuses its /proc
 * files too, and has nothing left to hold.
 */
static bool process_lives(pid_t pid)
{
	char path[64], buf[512], *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	/* "PID (COMM) STATE ...": COMM may hold anything, even ")". */
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] && !strchr("ZXx", paren[2]);
}

static int scan_process(struct shmfs_holders *h, pid_t pid, dev_t dev)
{
	size_t first = h->n;
	int fds = scan_fds(h, pid, dev), maps;
	uid_t uid;

	if (fds == -ENOMEM)
		return fds;
	maps = scan_maps(h, pid, dev, first);
	if (maps == -ENOMEM)
		return maps;
	if ((fds == -EACCES || maps == -EACCES) && process_lives(pid))
		h->skipped++;
	if (h->n == first)
		return 0;
	merge_process(h, first);
	process_identity(pid, &uid, h->v[first].comm, sizeof(h->v[first].comm));
	for (size_t i = first; i < h->n; i++) {
		h->v[i].uid = uid;
		if (i > first)
			memcpy(h->v[i].comm, h->v[first].comm, sizeof(h->v[i].comm));
	}
	h->procs++;
	return 0;
}

static bool is_pid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int shmfs_holders_scan(struct shmfs_holders *h, dev_t dev)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	int err = 0;

	memset(h, 0, sizeof(*h));
	if (!proc)
		return -errno;
	while (!err && (de = readdir(proc)))
		if (is_pid(de->d_name))
			err = scan_process(h, (pid_t)atoi(de->d_name), dev);
	closedir(proc);
	qsort(h->v, h->n, sizeof(*h->v), by_ino_pid);
	return err;
}

const struct shmfs_holder *shmfs_holders_of(const struct shmfs_holders *h, ino_t ino, size_t *count)
{
	size_t lo = 0, hi = h->n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->v[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < h->n && h->v[end].ino == ino; end++)
		;
	*count = end - lo;
	return *count ? &h->v[lo] : NULL;
}

size_t shmfs_holders_inodes(const struct shmfs_holders *h)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n; i++)
		if (!i || h->v[i].ino != h->v[i - 1].ino)
			n++;
	return n;
}

void shmfs_holders_release(struct shmfs_holders *h)
{
	free(h->v);
	memset(h, 0, sizeof(*h));
}
