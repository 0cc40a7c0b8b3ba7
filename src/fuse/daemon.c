// SPDX-License-Identifier: MIT
/*
 * "shmfs mount": check everything that can be checked before mounting,
 * open the store, mount, and serve requests until unmounted.
 *
 * Without -f the command returns only once the kernel's INIT has been
 * answered (the daemon reports over a pipe), so the mount answers when it
 * returns, and any failure up to then is one line on stderr and exit 1.
 */
#include "caps.h"
#include "daemon.h"
#include "fs.h"
#include "log.h"
#include "mountinfo.h"
#include "ops_tmpfs.h"
#include "reaper.h"
#include "transport.h"
#include "umount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ENTRY_TIMEOUT 86400.0
#define MAX_THREADS 16
#define FD_CACHE_MAX 65536

void shmfs_fs_report_ready(struct shmfs_fs *fs, const char *msg)
{
	bool ok = !strcmp(msg, "ok");

	fs->failed = !ok;
	if (fs->ready_fd < 0) {
		if (!ok)
			shmfs_err("%s", msg);
		return;
	}
	if (write(fs->ready_fd, msg, strlen(msg)) < 0)
		shmfs_warn_errno(errno, "cannot report to the waiting command");
	close(fs->ready_fd);
	fs->ready_fd = -1;
}

static void report_ready(void *fs, const char *msg)
{
	shmfs_fs_report_ready(fs, msg);
}

/* What the transports need to know: the options, and whom to tell when ready. */
static void transport_config(struct shmfs_transport_config *tc, struct shmfs_fs *fs,
			     const struct shmfs_options *o)
{
	*tc = (struct shmfs_transport_config){
		.passthrough = o->transport.passthrough,
		.uring = o->transport.uring,
		.busy_poll_us = o->transport.busy_poll,
		.mountpoint = o->mountpoint,
		.report_ready = report_ready,
		.arg = fs,
	};
}

/*
 * Anything may be mounted over, as mount(8) allows: the tmpfs on /dev/shm,
 * an automount trigger (x-systemd.automount). A live shmfs mount may not:
 * a second daemon would hide the first's segments. A dead one (its daemon
 * killed) is detached, so that the mount proceeds on the same store.
 */
static int check_not_shmfs(const char *mp)
{
	enum shmfs_mount_state state;
	int err;

	/* Each detach uncovers what was mounted below, which is looked at in turn. */
	while ((state = shmfs_mountinfo_shmfs_state(mp)) == SHMFS_MOUNT_DEAD) {
		err = shmfs_umount(mp, SHMFS_UMOUNT_LAZY | SHMFS_UMOUNT_QUIET);
		if (err) {
			fprintf(stderr, "shmfs: cannot detach the dead mount at '%s': %s\n", mp,
				strerror(-err));
			return 1;
		}
		fprintf(stderr, "shmfs: detached the dead mount at '%s'\n", mp);
	}
	if (state == SHMFS_MOUNT_LIVE) {
		fprintf(stderr,
			"shmfs: '%s' is already mounted by a live shmfs daemon "
			"('shmfs umount %s' ends it)\n",
			mp, mp);
		return 1;
	}
	return 0;
}

/* The mountpoint must be a directory that no live shmfs is mounted on. */
static int check_mountpoint(const char *mp)
{
	struct stat sb;

	if (check_not_shmfs(mp))
		return 1;
	if (stat(mp, &sb)) {
		if (errno == ENOENT)
			fprintf(stderr, "shmfs: mountpoint '%s' does not exist\n", mp);
		else
			fprintf(stderr, "shmfs: cannot use mountpoint '%s': %s\n", mp,
				strerror(errno));
		return 1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "shmfs: mountpoint '%s' is not a directory\n", mp);
		return 1;
	}
	return 0;
}

/*
 * A user's mount opens /dev/fuse with the user's own rights, through
 * libfuse or fusermount3 alike: say so before anything is made.
 */
static int check_fuse_device(void)
{
	int fd;

	if (shmfs_caps_sys_admin())
		return 0;
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	fprintf(stderr, "shmfs: cannot open /dev/fuse: %s%s\n", strerror(errno),
		errno == EACCES ? " (a user's mount needs it open to all users, mode 0666)" : "");
	return 1;
}

static int build_fuse_args(struct shmfs_options *o, const char *argv0)
{
	char opts[256];

	snprintf(opts, sizeof(opts), "subtype=shmfs,fsname=shmfs,default_permissions%s%s%s%s",
		 (o->allow_other || geteuid() == 0) ? ",allow_other" : "",
		 o->read_only ? ",ro" : "", o->mount_flags ? "," : "",
		 o->mount_flags ? o->mount_flags : "");
	if (fuse_opt_add_arg(&o->fuse_args, argv0) || fuse_opt_add_arg(&o->fuse_args, "-o") ||
	    fuse_opt_add_arg(&o->fuse_args, opts))
		return -ENOMEM;
	if (o->debug && fuse_opt_add_arg(&o->fuse_args, "-d"))
		return -ENOMEM;
	return 0;
}

/*
 * Fork; the parent waits for the child's word on INIT and exits with it.
 * Returns in the child only, with the pipe's write end.
 */
static int background(void)
{
	int pfd[2], status;
	char msg[256];
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) || (pid = fork()) < 0) {
		fprintf(stderr, "shmfs: cannot start the daemon: %s\n", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(pfd[1]);
		n = read(pfd[0], msg, sizeof(msg) - 1);
		msg[n > 0 ? n : 0] = '\0';
		if (n == 2 && !strcmp(msg, "ok"))
			exit(0);
		if (n > 0)
			fprintf(stderr, "shmfs: %s\n", msg);
		else if (waitpid(pid, &status, 0) == pid && WIFSIGNALED(status))
			fprintf(stderr, "shmfs: the daemon died (%s)\n",
				strsignal(WTERMSIG(status)));
		else
			fprintf(stderr, "shmfs: the daemon stopped before the mount was ready\n");
		exit(1);
	}
	close(pfd[0]);
	setsid();
	if (chdir("/"))
		_exit(1);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	return pfd[1];
}

static int serve(struct shmfs_fs *fs)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	int err;

	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, MAX_THREADS);
	/* Busy polling keeps its waiting threads: a thread started costs a request. */
	fuse_loop_cfg_set_idle_threads(cfg, fs->opts->transport.busy_poll ? MAX_THREADS : 4);
	err = fuse_session_loop_mt(fs->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return err;
}

static int run(struct shmfs_fs *fs, struct shmfs_options *o, struct shmfs_transport_config *tc)
{
	static struct fuse_lowlevel_ops ops;
	char line[SHMFS_TRANSPORT_WHY_MAX];
	const char *why;
	int err;

	err = shmfs_store_open(&fs->store, &o->store, o->mountpoint, &why);
	if (err) {
		fprintf(stderr, "shmfs: %s\n", why);
		goto out_store;
	}
	if (fs->store.quota && fs->store.quota->max_bytes &&
	    o->transport.passthrough != SHMFS_PASSTHROUGH_OFF) {
		/* Passthrough writes would bypass the daemon's size accounting. */
		if (o->transport.passthrough == SHMFS_PASSTHROUGH_ON) {
			fprintf(stderr,
				"shmfs: passthrough=on cannot enforce size= on a "
				"directory store; use the default store or passthrough=off\n");
			goto out_store;
		}
		tc->passthrough = SHMFS_PASSTHROUGH_OFF;
		tc->passthrough_off_why = "size= on a directory store is kept by the daemon";
	}
	if (fs->store.quota && (o->xattr || o->acl)) {
		/* The filesystem under the store keeps attributes outside any count. */
		fprintf(stderr,
			"shmfs: %s cannot be bounded by size= or nr_inodes= on a "
			"directory store; use the default store, or no limits\n",
			o->acl ? "acl" : "xattr");
		goto out_store;
	}
	err = shmfs_inode_table_init(&fs->inodes, fs->store.rootfd, &fs->fd_budget);
	if (err) {
		fprintf(stderr, "shmfs: cannot read the store's root: %s\n", strerror(-err));
		goto out_store;
	}
	fs->store.rootfd = -1; /* now owned by the table's root entry */
	ops = shmfs_ops;
	shmfs_transport_ops_tmpfile(&ops, shmfs_op_tmpfile);
	fs->se = fuse_session_new(&o->fuse_args, &ops, sizeof(ops), fs);
	if (!fs->se)
		goto out_inodes;
	if (fuse_session_mount(fs->se, o->mountpoint)) {
		fprintf(stderr, "shmfs: cannot mount '%s'\n", o->mountpoint);
		goto out_session;
	}
	fs->transport = shmfs_transport_attach(fs->se, tc, line, sizeof(line));
	if (!fs->transport) {
		fprintf(stderr, "shmfs: %s\n", line);
		goto out_unmount;
	}
	fs->ready_fd = o->foreground ? -1 : background();
	shmfs_log_init(!o->foreground, o->debug);
	if (fuse_set_signal_handlers(fs->se))
		goto out_unmount;
	err = shmfs_reaper_start(fs);
	if (err) {
		shmfs_err_errno(err, "cannot start the transient segment reaper");
		goto out_unmount;
	}
	err = serve(fs);
	shmfs_reaper_stop(fs);
	fuse_remove_signal_handlers(fs->se);
	fuse_session_unmount(fs->se);
	/* After the unmount, which ends the connection unless the mount is busy. */
	shmfs_transport_stop(fs->transport);
	fuse_session_destroy(fs->se);
	shmfs_inode_table_release(&fs->inodes);
	shmfs_store_release(&fs->store);
	if (fs->ready_fd >= 0 || fs->failed) /* INIT never came, or failed */
		return 1;
	/*
	 * libfuse's loop returns the number of the signal that ended it
	 * (SIGTERM, SIGINT, SIGHUP): that is an orderly stop, not a failure.
	 */
	return err < 0 ? 1 : 0;
out_unmount:
	fuse_session_unmount(fs->se);
out_session:
	fuse_session_destroy(fs->se);
out_inodes:
	shmfs_inode_table_release(&fs->inodes);
out_store:
	shmfs_store_release(&fs->store);
	return 1;
}

/* fs.nr_open: the most descriptors the kernel lets a process have; 0 if unknown. */
static rlim_t nr_open(void)
{
	unsigned long long n = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");

	if (f) {
		if (fscanf(f, "%llu", &n) != 1)
			n = 0;
		fclose(f);
	}
	return (rlim_t)n;
}

/*
 * Take all the descriptors allowed: up to fs.nr_open when the daemon may
 * raise its hard limit (CAP_SYS_RESOURCE), else the hard limit, not the
 * soft 1024. Returns the limit in effect.
 */
static rlim_t raise_fd_limit(void)
{
	rlim_t most = nr_open();
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1024;
	if (most > rl.rlim_max && rl.rlim_max != RLIM_INFINITY) {
		struct rlimit up = { most, most };

		if (!setrlimit(RLIMIT_NOFILE, &up))
			return most;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

/*
 * Share the descriptor limit out: a quarter of it, at most FD_CACHE_MAX,
 * may hold the O_PATH descriptors of cached inodes (inode.h), and half as
 * many each the data descriptors of open segments and directories, and
 * the descriptors pinned by removed segments (a quarter of those for one
 * user); the rest serve requests in flight and the daemon itself. As many
 * passthrough registrations as data descriptors are kept for segments
 * nobody has open (ops_file.c).
 */
static void fd_budget(struct shmfs_fs *fs)
{
	rlim_t limit = raise_fd_limit();
	rlim_t quarter = limit == RLIM_INFINITY ? FD_CACHE_MAX : limit / 4;
	unsigned int eighth;

	if (quarter > FD_CACHE_MAX)
		quarter = FD_CACHE_MAX;
	eighth = quarter / 2 > BACKING_IDLE_MIN ? (unsigned int)quarter / 2 : BACKING_IDLE_MIN;
	fs->fd_budget.path_fds = (uint32_t)quarter;
	fs->fd_budget.data_fds = eighth;
	fs->fd_budget.pins = eighth;
	fs->fd_budget.pins_per_user = eighth / 4;
	fs->backing_idle_max = eighth;
}

int shmfs_daemon_main(int argc, char **argv)
{
	struct shmfs_options o;
	struct shmfs_fs fs = { .ready_fd = -1,
			       .timeout = ENTRY_TIMEOUT,
			       .names_lock = PTHREAD_RWLOCK_INITIALIZER };
	struct shmfs_transport_config tc;
	char line[SHMFS_TRANSPORT_WHY_MAX];
	char *abs;
	int rc;

	rc = shmfs_options_parse(&o, argc, argv);
	if (rc)
		return rc;
	shmfs_log_init(false, o.debug);
	fd_budget(&fs);
	abs = shmfs_abspath(o.mountpoint);
	if (!abs) {
		fprintf(stderr, "shmfs: mountpoint '%s' does not exist\n", o.mountpoint);
		rc = 1;
		goto out;
	}
	free(o.mountpoint);
	o.mountpoint = abs;
	rc = check_mountpoint(o.mountpoint);
	if (rc)
		goto out;
	transport_config(&tc, &fs, &o);
	if (shmfs_transport_check(&tc, line, sizeof(line))) {
		fprintf(stderr, "shmfs: %s\n", line);
		rc = 1;
		goto out;
	}
	rc = check_fuse_device();
	if (rc)
		goto out;
	if (build_fuse_args(&o, argv[0])) {
		rc = 1;
		goto out;
	}
	umask(0); /* modes from the kernel are final */
	fs.opts = &o;
	fs.mountpoint = o.mountpoint;
	fs.can_chown = geteuid() == 0; /* CAP_CHOWN, strictly; checked by fchown itself */
	rc = run(&fs, &o, &tc);
out:
	shmfs_options_release(&o);
	return rc;
}
