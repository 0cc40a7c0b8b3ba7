// SPDX-License-Identifier: MIT
/*
 * "shmfs umount", "shmfs discard" and "shmfs status": the commands that
 * look at or end a mount. They learn about the daemon from its status,
 * which the control ioctl on the mount's root returns (control.h).
 */
#include "commands.h"
#include "control.h"
#include "holders.h"
#include "mountinfo.h"
#include "store.h"
#include "umount.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STATUS_KEYS 64

/* The daemon's status attribute, split into "key=value" lines. */
struct status {
	char text[SHMFS_STATUS_MAX];
	const char *key[STATUS_KEYS];
	const char *val[STATUS_KEYS];
	int n;
};

/* The value of key, or "?" when the daemon did not say. */
static const char *status_get(const struct status *st, const char *key)
{
	for (int i = 0; i < st->n; i++)
		if (!strcmp(st->key[i], key))
			return st->val[i];
	return "?";
}

static int status_read(const char *mp, struct status *st)
{
	char *line, *save, *eq;
	int err = shmfs_control_status(mp, st->text);

	if (err)
		return err;
	st->n = 0;
	for (line = strtok_r(st->text, "\n", &save); line && st->n < STATUS_KEYS;
	     line = strtok_r(NULL, "\n", &save)) {
		eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		st->key[st->n] = line;
		st->val[st->n++] = eq + 1;
	}
	return 0;
}

/* A daemon that gave no status in time (control.h), then what comes of it. */
static void daemon_say_silent(const char *mp, const char *then)
{
	fprintf(stderr,
		"shmfs: the daemon of '%s' does not answer (no status within %d s: "
		"is it stopped?)%s\n",
		mp, SHMFS_STATUS_TIMEOUT_S, then);
}

/* Resolve a mountpoint argument and require a shmfs mount there, live or dead. */
static char *mount_arg_resolve(const char *arg)
{
	char *mp = shmfs_abspath(arg);

	if (!mp) {
		fprintf(stderr, "shmfs: '%s' does not exist\n", arg);
		return NULL;
	}
	if (!shmfs_mountinfo_is_shmfs(mp)) {
		fprintf(stderr, "shmfs: '%s' is not a shmfs mount\n", mp);
		free(mp);
		return NULL;
	}
	return mp;
}

static int discard_report(const char *store, int err)
{
	if (err == -EBUSY)
		fprintf(stderr, "shmfs: store '%s' is still in use by a shmfs daemon\n", store);
	else if (err == -ENOENT)
		fprintf(stderr, "shmfs: there is no store at '%s'\n", store);
	else if (err)
		fprintf(stderr, "shmfs: cannot discard store '%s': %s\n", store, strerror(-err));
	return err ? 1 : 0;
}

static int discard_now(const char *store)
{
	return discard_report(store, shmfs_store_discard(store));
}

/* The state letter of process pid (R, S, D, T...), or 0 when it is gone. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *paren;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	/* "PID (COMM) STATE ...": COMM may hold anything, even ")". */
	paren = strrchr(buf, ')');
	if (!paren || paren[1] != ' ' || !paren[2] || paren[2] == 'Z' || paren[2] == 'X')
		return 0;
	return paren[2];
}

static bool is_stopped(char state)
{
	return state == 'T' || state == 't';
}

static void pause_briefly(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/*
 * Wait for the daemon to exit after its unmount, for as long as it runs:
 * releasing a large store can take a while on a loaded machine. A stopped
 * daemon would never exit; say so.
 */
static void daemon_wait_exit(const char *mp, pid_t pid)
{
	char state;

	while ((state = proc_state(pid)) && !is_stopped(state))
		pause_briefly();
	if (state)
		fprintf(stderr,
			"shmfs: the daemon of '%s' (pid %d) is stopped; not waiting "
			"for it to exit\n",
			mp, (int)pid);
}

/*
 * A process other than this one that has file open, from the links in
 * /proc/PID/fd; those are read, never followed, so no file system is
 * asked. 0 when none is seen.
 */
static pid_t holder_find(const char *file)
{
	DIR *proc = opendir("/proc");
	struct dirent *p;
	pid_t found = 0;

	while (proc && !found && (p = readdir(proc))) {
		pid_t pid = (pid_t)atoi(p->d_name);
		char dir[64], fdlink[PATH_MAX], target[PATH_MAX];
		struct dirent *f;
		DIR *fds;

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
		fds = opendir(dir);
		while (fds && !found && (f = readdir(fds))) {
			ssize_t n;

			snprintf(fdlink, sizeof(fdlink), "%s/%s", dir, f->d_name);
			n = readlink(fdlink, target, sizeof(target) - 1);
			if (n > 0 && (target[n] = '\0', !strcmp(target, file)))
				found = pid;
		}
		if (fds)
			closedir(fds);
	}
	if (proc)
		closedir(proc);
	return found;
}

/*
 * Destroy the store once the daemon has let go of it: its lock is free.
 * That may come a while after the unmount; wait for as long as the
 * process that holds the lock runs, and not for one that is stopped.
 */
static int discard_wait(const char *store, pid_t pid)
{
	bool said = false, looked = false;
	char lock[PATH_MAX];
	pid_t holder;
	char state;
	int err;

	snprintf(lock, sizeof(lock), "%s/lock", store);
	while ((err = shmfs_store_discard(store)) == -EBUSY) {
		holder = proc_state(pid) ? pid : holder_find(lock);
		state = proc_state(holder);
		if (!state && looked)
			break; /* held by a process out of sight */
		looked = !state;
		if (is_stopped(state)) {
			fprintf(stderr,
				"shmfs: store '%s' is held by process %d, which is stopped; "
				"not waiting for it ('kill -CONT %d' lets it finish)\n",
				store, (int)holder, (int)holder);
			return 1;
		}
		if (state && !said) {
			fprintf(stderr, "shmfs: waiting for process %d to release store '%s'\n",
				(int)holder, store);
			said = true;
		}
		if (state)
			pause_briefly();
	}
	return discard_report(store, err);
}

/*
 * The store a mount names is the word of whoever serves it: discard it
 * only for a mount of the caller's own uid (a user's FUSE daemon could
 * name any directory). A mount that is gone has nobody to ask.
 */
static bool mount_is_mine(const char *mp)
{
	uid_t owner;

	if (!shmfs_mountinfo_owner(mp, &owner) || owner == geteuid())
		return true;
	fprintf(stderr, "shmfs: '%s' was mounted by uid %u: only that user discards its store\n",
		mp, (unsigned)owner);
	return false;
}

int shmfs_cmd_umount(int argc, char **argv)
{
	bool lazy = false, discard = false;
	struct status st;
	const char *arg = NULL;
	char *mp, *store = NULL;
	pid_t pid = 0;
	int err, rc = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "--lazy"))
			lazy = true;
		else if (!strcmp(argv[i], "--discard"))
			discard = true;
		else if (argv[i][0] == '-' || arg)
			return fprintf(stderr, "shmfs: umount: unexpected argument '%s'\n",
				       argv[i]),
			       2;
		else
			arg = argv[i];
	}
	if (!arg)
		return fprintf(stderr, "shmfs: umount: no mountpoint given\n"), 2;
	if (lazy && discard)
		return fprintf(stderr, "shmfs: umount: --discard cannot be lazy\n"), 2;
	mp = mount_arg_resolve(arg);
	if (!mp)
		return 1;
	if (discard && !mount_is_mine(mp)) {
		free(mp);
		return 1;
	}
	err = status_read(mp, &st);
	if (!err) {
		pid = (pid_t)atoi(status_get(&st, "pid"));
		store = strdup(status_get(&st, "store"));
	} else if (discard) {
		store = shmfs_store_default_path(mp);
	}
	if (err == -ETIMEDOUT)
		daemon_say_silent(mp, "; unmounting without it");
	err = shmfs_umount(mp, lazy ? SHMFS_UMOUNT_LAZY : 0);
	if (err == -EBUSY) {
		fprintf(stderr,
			"shmfs: '%s' is busy (a process uses it); "
			"'shmfs umount -l %s' detaches it now and finishes when the last user is gone\n",
			mp, mp);
		rc = 1;
	} else if (err) {
		fprintf(stderr, "shmfs: cannot unmount '%s': %s\n", mp, strerror(-err));
		rc = 1;
	} else if (pid > 0 && !lazy) {
		daemon_wait_exit(mp, pid);
	}
	if (!rc && discard && store) {
		rc = discard_wait(store, pid);
		if (rc && !pid && access(store, F_OK))
			fprintf(stderr,
				"shmfs: the daemon of '%s' was gone, so its store is not "
				"known; if it was mounted with store=DIR: 'shmfs discard --store DIR'\n",
				mp);
	}
	free(store);
	free(mp);
	return rc;
}

int shmfs_cmd_discard(int argc, char **argv)
{
	char *mp, *store;
	int rc;

	if (argc == 3 && !strcmp(argv[1], "--store"))
		return discard_now(argv[2]);
	if (argc != 2 || argv[1][0] == '-')
		return fprintf(stderr, "shmfs: usage: shmfs discard MOUNTPOINT | --store DIR\n"), 2;
	mp = shmfs_abspath(argv[1]);
	if (!mp)
		return fprintf(stderr, "shmfs: '%s' does not exist\n", argv[1]), 1;
	if (shmfs_mountinfo_is_shmfs(mp)) {
		fprintf(stderr, "shmfs: '%s' is mounted; 'shmfs umount --discard %s' ends it\n", mp,
			mp);
		free(mp);
		return 1;
	}
	store = shmfs_store_default_path(mp);
	rc = store ? discard_now(store) : 1;
	free(store);
	free(mp);
	return rc;
}

/* A byte count in the largest binary unit that keeps it at or above 1. */
static void bytes_format(char *buf, size_t len, double n)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	int i = 0;

	while (n >= 1024 && i < 5) {
		n /= 1024;
		i++;
	}
	if (i)
		snprintf(buf, len, "%.1f %s", n, units[i]);
	else
		snprintf(buf, len, "%.0f B", n);
}

static void bytes_print(const char *label, const char *used, const char *limit)
{
	char u[32], l[32];
	double lim = strtod(limit, NULL);

	bytes_format(u, sizeof(u), strtod(used, NULL));
	bytes_format(l, sizeof(l), lim);
	printf("%-14s %s of %s\n", label, u, lim > 0 ? l : "no limit");
}

/* The daemon's descriptors of cached inodes: bounded, or one each. */
static void fds_print(const struct status *st)
{
	const char *how = status_get(st, "inode_fds"), *unbounded = "one per inode: ";

	if (!strcmp(how, "bounded"))
		printf("%-14s %s open for %s cached inodes (at most %s; limit %s)\n",
		       "descriptors:", status_get(st, "inode_fds_open"),
		       status_get(st, "cached_inodes"), status_get(st, "inode_fds_max"),
		       status_get(st, "fd_limit"));
	else if (!strncmp(how, unbounded, strlen(unbounded)))
		printf("%-14s one per cached inode (%s): %s cached, limit %s\n",
		       "descriptors:", how + strlen(unbounded), status_get(st, "cached_inodes"),
		       status_get(st, "fd_limit"));
}

/* The totals of "shmfs ls --holders": who holds the mount's segments. */
static void holders_print(const char *mp)
{
	struct shmfs_holders h = { 0 };
	struct stat st;
	size_t segs;

	if (stat(mp, &st) || shmfs_holders_scan(&h, st.st_dev)) {
		printf("%-14s unknown (cannot read /proc)\n", "holders:");
		shmfs_holders_release(&h);
		return;
	}
	segs = shmfs_holders_inodes(&h);
	printf("%-14s %zu process%s hold%s %zu segment%s", "holders:", h.procs,
	       h.procs == 1 ? "" : "es", h.procs == 1 ? "s" : "", segs, segs == 1 ? "" : "s");
	if (h.skipped)
		printf(" (%zu process%s not inspected: permission denied)", h.skipped,
		       h.skipped == 1 ? "" : "es");
	putchar('\n');
	shmfs_holders_release(&h);
}

int shmfs_cmd_status(int argc, char **argv)
{
	struct status st;
	bool raw = argc == 3 && !strcmp(argv[1], "--raw");
	char *mp;
	int err;

	if (argc != 2 + raw || argv[1 + raw][0] == '-')
		return fprintf(stderr, "shmfs: usage: shmfs status [--raw] MOUNTPOINT\n"), 2;
	mp = mount_arg_resolve(argv[1 + raw]);
	if (!mp)
		return 1;
	if (raw) {
		err = shmfs_control_status(mp, st.text);
		if (!err)
			fputs(st.text, stdout);
	} else {
		err = status_read(mp, &st);
	}
	if (err) {
		if (err == -ETIMEDOUT)
			daemon_say_silent(mp, "");
		else
			fprintf(stderr, "shmfs: cannot read the status of '%s': %s%s\n", mp,
				strerror(-err),
				err == -ENOTCONN || err == -ECONNABORTED
					? " (the daemon is gone; mount it again)"
					: "");
		free(mp);
		return 1;
	}
	if (raw) {
		free(mp);
		return 0;
	}
	printf("%-14s %s\n", "mountpoint:", mp);
	printf("%-14s %s\n", "data path:", status_get(&st, "data_path"));
	printf("%-14s %s (%s)\n", "store:", status_get(&st, "store"),
	       status_get(&st, "store_kind"));
	if (strcmp(status_get(&st, "store_options"), "?"))
		printf("%-14s %s\n", "store options:",
		       *status_get(&st, "store_options")
			       ? status_get(&st, "store_options")
			       : "tmpfs's defaults (huge=never, mpol=default, swap)");
	printf("%-14s %s\n", "segments:", status_get(&st, "segments"));
	bytes_print("memory:", status_get(&st, "bytes_used"), status_get(&st, "bytes_limit"));
	printf("%-14s %s of %s\n", "inodes:", status_get(&st, "inodes_used"),
	       strtoull(status_get(&st, "inodes_limit"), NULL, 10) ? status_get(&st, "inodes_limit")
								   : "no limit");
	printf("%-14s %s\n", "open handles:", status_get(&st, "open_handles"));
	holders_print(mp);
	fds_print(&st);
	printf("%-14s %s\n", "xattr reads:", status_get(&st, "xattr"));
	if (strtoul(status_get(&st, "busy_poll_us"), NULL, 10))
		printf("%-14s %s us\n", "busy polling:", status_get(&st, "busy_poll_us"));
	printf("%-14s %s\n", "daemon pid:", status_get(&st, "pid"));
	free(mp);
	return 0;
}
