// SPDX-License-Identifier: MIT
/*
 * "shmfs exec [-o OPTIONS] -- COMMAND [ARG]...": run a command whose
 * /dev/shm is a fresh shmfs mount of its own, so that shm_open(), sem_open()
 * and every other user of /dev/shm get shmfs without a change.
 *
 * This process becomes the supervisor of a private mount namespace:
 *
 *   1. unshare the mount namespace and make every mount in it private
 *      first, so that nothing done below propagates to the host;
 *   2. give the daemon's default store a directory of its own (a tmpfs on
 *      /run/shmfs, seen only here), and take away what is mounted on
 *      /dev/shm here (the host's tmpfs, or a shmfs the host uses);
 *   3. start "shmfs mount -f /dev/shm" as a child in a session of its own
 *      and wait until its status answers;
 *   4. run COMMAND, forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
 *      SIGUSR2 to it, and wait for it;
 *   5. unmount /dev/shm, wait for the daemon, drop the store, and exit
 *      with COMMAND's status (128 + N for a death by signal N).
 *
 * The daemon and COMMAND are told to die with this process (SIGTERM and
 * SIGKILL), so that a supervisor killed outright leaves no mount serving
 * nobody. The exit statuses of this command's own failures follow env(1):
 * 125, or 126/127 when COMMAND cannot be run or found.
 */
#include "caps.h"
#include "commands.h"
#include "control.h"
#include "mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXEC_MP "/dev/shm"
#define EXEC_RUN_DIR "/run/shmfs" /* the parent of root's default stores (store.h) */
#define EXEC_FAIL 125
#define EXEC_NOEXEC 126
#define EXEC_NOTFOUND 127
#define EXEC_START_S 30	  /* the longest wait for the daemon's mount */
#define EXEC_STOP_S 60	  /* the longest wait for its exit */
#define EXEC_MAX_STACK 64 /* mounts stacked on /dev/shm taken away, at most */
#define EXEC_USAGE "shmfs exec [-o OPTIONS]... [--] COMMAND [ARG]..."

struct exec_state {
	char *opts;	  /* the -o options joined, or NULL */
	bool own_store;	  /* store= given: the store is the user's, kept */
	bool private_run; /* EXEC_RUN_DIR holds a tmpfs of this namespace */
	int sigfd;
	sigset_t orig_mask;
	pid_t daemon, command;
	bool daemon_gone, command_gone, ending;
	int daemon_status, command_status;
	/*
	 * The daemon's standard error. While it starts, what it says is kept
	 * and shown only if it fails: the rest is the report of a mount that
	 * came up ("ready, data path: ..."), which "shmfs status" gives too.
	 * Once it serves, its warnings are passed on.
	 */
	int logfd;
	bool serving;
	size_t startlen;
	char startlog[4096];
};

/* The signals that reach COMMAND through this process. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static int fail(const char *what, int err)
{
	fprintf(stderr, "shmfs: exec: %s: %s\n", what, strerror(err));
	return EXEC_FAIL;
}

/* Append one -o argument to the comma-separated list. */
static int add_opts(struct exec_state *x, const char *arg)
{
	size_t old = x->opts ? strlen(x->opts) : 0;
	char *s = realloc(x->opts, old + strlen(arg) + 2);

	if (!s)
		return -ENOMEM;
	if (old)
		s[old++] = ',';
	strcpy(s + old, arg);
	x->opts = s;
	return 0;
}

/* Whether the options name a store of their own (store=DIR). */
static bool names_store(const char *opts)
{
	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : "")
		if (!strncmp(p, "store=", 6))
			return true;
	return false;
}

/* The mount namespace of this process alone, with no propagation in or out. */
static int enter_namespace(void)
{
	if (unshare(CLONE_NEWNS))
		return fail("cannot make a private mount namespace", errno);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return fail("cannot make the mount namespace private", errno);
	return 0;
}

/*
 * Take away whatever is mounted on /dev/shm in this namespace: the host's
 * tmpfs (two may be stacked), or a shmfs the host serves there, whose live
 * daemon would make the new mount fail. A mount inherited locked (in a
 * container's user namespace) cannot be taken away: the new mount must then
 * go on top of it.
 */
static void clear_mountpoint(void)
{
	char fstype[64];

	for (int i = 0; i < EXEC_MAX_STACK; i++)
		if (!shmfs_mountinfo_lookup(EXEC_MP, fstype, sizeof(fstype)) ||
		    umount2(EXEC_MP, MNT_DETACH))
			return;
}

/*
 * Root's default store lives in a tmpfs under /run/shmfs that the daemon
 * mounts. A tmpfs of this namespace on /run/shmfs gives it a fresh
 * directory there: no store of a host mount is seen or locked (the host may
 * serve its own /dev/shm from /run/shmfs/dev-shm), and the store goes
 * with the namespace.
 */
static int private_run_dir(struct exec_state *x)
{
	if (mkdir(EXEC_RUN_DIR, 0700) && errno != EEXIST)
		return fail("cannot make '" EXEC_RUN_DIR "'", errno);
	if (mount("shmfs-exec", EXEC_RUN_DIR, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0700"))
		return fail("cannot mount a tmpfs on '" EXEC_RUN_DIR "'", errno);
	x->private_run = true;
	return 0;
}

/*
 * In a child: die with the supervisor (parent), which may already be gone,
 * and take back the signal mask that the supervisor blocked.
 */
static void child_setup(const struct exec_state *x, pid_t parent, int deathsig)
{
	if (prctl(PR_SET_PDEATHSIG, deathsig) || getppid() != parent)
		_exit(EXEC_FAIL);
	sigprocmask(SIG_SETMASK, &x->orig_mask, NULL);
}

/*
 * This program, by a path whose last component is its name: ps, top and
 * "shmfs ls --holders" show a daemon started by /proc/self/exe as "exe".
 * A binary replaced since it started has only /proc/self/exe.
 */
static const char *self_path(void)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (n <= 0 || access((path[n] = '\0', path), X_OK))
		return "/proc/self/exe";
	return path;
}

static int start_daemon(struct exec_state *x)
{
	char *argv[] = { "shmfs", "mount", "-f", "-o", x->opts, EXEC_MP, NULL };
	pid_t parent = getpid(), pid;
	int null, log[2];

	if (!x->opts) {
		argv[3] = EXEC_MP;
		argv[4] = NULL;
	}
	if (pipe2(log, O_CLOEXEC))
		return fail("cannot start the daemon", errno);
	pid = fork();
	if (pid < 0) {
		close(log[0]);
		close(log[1]);
		return fail("cannot start the daemon", errno);
	}
	if (pid > 0) {
		close(log[1]);
		x->logfd = log[0];
		fcntl(x->logfd, F_SETFL, O_NONBLOCK);
		x->daemon = pid;
		return 0;
	}
	/* Out of the terminal's process group: a ^C is the command's alone. */
	setsid();
	child_setup(x, parent, SIGTERM);
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(log[1], 2) < 0)
		_exit(EXEC_FAIL);
	execv(self_path(), argv);
	fprintf(stderr, "shmfs: exec: cannot run the daemon: %s\n", strerror(errno));
	_exit(EXEC_FAIL);
}

static void say_daemon_end(int status)
{
	if (WIFSIGNALED(status))
		fprintf(stderr, "shmfs: exec: the daemon of '" EXEC_MP "' died (%s)",
			strsignal(WTERMSIG(status)));
	else
		fprintf(stderr, "shmfs: exec: the daemon of '" EXEC_MP "' exited with status %d",
			WEXITSTATUS(status));
}

/* Collect the children that have ended: the daemon, COMMAND, and none else. */
static void reap(struct exec_state *x)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == x->command) {
			x->command_gone = true;
			x->command_status = status;
		} else if (pid == x->daemon) {
			x->daemon_gone = true;
			x->daemon_status = status;
			/* While COMMAND runs, its /dev/shm now fails with ENOTCONN. */
			if (x->command && !x->command_gone && !x->ending) {
				say_daemon_end(status);
				fputs("; the command's /dev/shm no longer answers\n", stderr);
			}
		}
	}
}

/*
 * Wait up to ms milliseconds (-1: for ever) for a signal, or for fd (if
 * not negative) to become ready with events. Children that ended are
 * reaped. Returns the signal that is not SIGCHLD, 0 for anything else.
 */
static void relay_log(struct exec_state *x)
{
	char buf[4096];
	ssize_t n;

	while (x->logfd >= 0 && (n = read(x->logfd, buf, sizeof(buf))) != 0) {
		size_t room = sizeof(x->startlog) - x->startlen;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* nothing more for now */
		}
		if (x->serving) {
			if (write(STDERR_FILENO, buf, (size_t)n) < 0)
				return;
			continue;
		}
		if ((size_t)n < room)
			room = (size_t)n;
		memcpy(x->startlog + x->startlen, buf, room);
		x->startlen += room;
	}
	if (x->logfd >= 0) {
		close(x->logfd); /* the daemon is gone */
		x->logfd = -1;
	}
}

static int wait_event(struct exec_state *x, int fd, short events, int ms,
		      struct signalfd_siginfo *si)
{
	struct pollfd p[3] = { { x->sigfd, POLLIN, 0 },
			       { x->logfd, POLLIN, 0 },
			       { fd, events, 0 } };

	if (poll(p, fd >= 0 ? 3 : 2, ms) <= 0)
		return 0;
	if (p[1].revents)
		relay_log(x);
	if (!(p[0].revents & POLLIN))
		return 0;
	if (read(x->sigfd, si, sizeof(*si)) != (ssize_t)sizeof(*si))
		return 0;
	if (si->ssi_signo == SIGCHLD) {
		reap(x);
		return 0;
	}
	return (int)si->ssi_signo;
}

static long ms_left(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
}

/* Whether the daemon's status answers at /dev/shm with its pid. */
static bool daemon_answers(const struct exec_state *x)
{
	char buf[SHMFS_STATUS_MAX], fstype[64];
	char *line, *save;

	if (!shmfs_mountinfo_lookup(EXEC_MP, fstype, sizeof(fstype)) ||
	    strcmp(fstype, "fuse.shmfs"))
		return false;
	/* Waits for the kernel's INIT to be answered, or fails if it never is. */
	if (shmfs_control_status(EXEC_MP, buf))
		return false;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "pid=", 4))
			return atoi(line + 4) == x->daemon;
	return false;
}

static void stop_daemon(struct exec_state *x, int sig)
{
	struct signalfd_siginfo si;
	struct timespec end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += EXEC_STOP_S;
	if (sig && !x->daemon_gone)
		kill(x->daemon, sig);
	while (!x->daemon_gone) {
		long left = ms_left(&end);

		if (left <= 0 || wait_event(x, -1, 0, (int)left, &si)) {
			/* Out of time, or asked to stop: do not wait any longer. */
			kill(x->daemon, SIGKILL);
			end.tv_sec += EXEC_STOP_S;
		}
	}
}

/* Wait until the daemon's mount answers; 0, or the exit status to give. */
static int wait_ready(struct exec_state *x)
{
	struct signalfd_siginfo si;
	struct timespec end;
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC), sig = 0;

	if (fd < 0)
		return fail("cannot read '/proc/self/mountinfo'", errno);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += EXEC_START_S;
	/* The mount table polls POLLPRI once a mount comes or goes. */
	while (!x->daemon_gone && !daemon_answers(x)) {
		long left = ms_left(&end);

		if (left <= 0) {
			fprintf(stderr,
				"shmfs: exec: the daemon did not mount '" EXEC_MP "' within %d s\n",
				EXEC_START_S);
			sig = -1;
			break;
		}
		sig = wait_event(x, fd, POLLPRI, (int)left, &si);
		if (sig)
			break;
	}
	close(fd);
	if (!x->daemon_gone && !sig) {
		relay_log(x); /* the report of a mount that came up */
		x->serving = true;
		return 0;
	}
	x->ending = true;
	stop_daemon(x, SIGTERM);
	relay_log(x);
	if (fwrite(x->startlog, 1, x->startlen, stderr) != x->startlen)
		return EXEC_FAIL;
	/* A daemon that stopped on its own said why on standard error. */
	return sig > 0 ? 128 + sig : EXEC_FAIL;
}

static int run_command(struct exec_state *x, char **argv)
{
	pid_t parent = getpid(), pid = fork();
	int err;

	if (pid < 0)
		return fail("cannot start the command", errno);
	if (pid > 0) {
		x->command = pid;
		return 0;
	}
	/* SIGKILL: without its supervisor, nothing would end the mount. */
	child_setup(x, parent, SIGKILL);
	execvp(argv[0], argv);
	err = errno;
	fprintf(stderr, "shmfs: exec: cannot run '%s': %s\n", argv[0], strerror(err));
	_exit(err == ENOENT ? EXEC_NOTFOUND : EXEC_NOEXEC);
}

/* Forward signals to COMMAND until it ends. */
static void supervise(struct exec_state *x)
{
	struct signalfd_siginfo si;
	int sig;

	while (!x->command_gone) {
		sig = wait_event(x, -1, 0, -1, &si);
		/*
		 * A terminal sends its signals (SI_KERNEL) to the whole foreground
		 * process group, COMMAND too: it has had this one already.
		 */
		if (sig && !x->command_gone && si.ssi_code != SI_KERNEL)
			kill(x->command, sig);
	}
}

/* End the mount once COMMAND has ended, then the daemon and the store. */
static void finish(struct exec_state *x)
{
	bool was_serving = !x->daemon_gone; /* its end is not reported yet */

	x->ending = true;
	if (x->daemon_gone) {
		umount2(EXEC_MP, MNT_DETACH); /* the dead mount */
	} else if (!umount2(EXEC_MP, 0)) {
		stop_daemon(x, 0); /* it exits once the connection ends */
	} else {
		if (errno == EBUSY)
			fputs("shmfs: exec: processes that the command left behind still use '" EXEC_MP
			      "'; it ends now all the same\n",
			      stderr);
		else
			fprintf(stderr,
				"shmfs: exec: cannot unmount '" EXEC_MP "': %s; "
				"ending its daemon\n",
				strerror(errno));
		/* On SIGTERM the daemon detaches its mount and ends the connection. */
		stop_daemon(x, SIGTERM);
		umount2(EXEC_MP, MNT_DETACH);
	}
	if (was_serving && (!WIFEXITED(x->daemon_status) || WEXITSTATUS(x->daemon_status))) {
		say_daemon_end(x->daemon_status);
		fputs(" while it unmounted\n", stderr);
	}
	/* The store, in a tmpfs under it, goes with it. */
	if (x->private_run)
		umount2(EXEC_RUN_DIR, MNT_DETACH);
}

static int exit_status(int status)
{
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* Block the signals that this process handles, and read them from sigfd. */
static int take_signals(struct exec_state *x)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	if (sigprocmask(SIG_BLOCK, &set, &x->orig_mask))
		return fail("cannot block signals", errno);
	x->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (x->sigfd < 0)
		return fail("cannot read signals", errno);
	return 0;
}

static int parse_args(struct exec_state *x, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (add_opts(x, optarg))
				return fail("cannot keep the options", ENOMEM);
			break;
		case 'h': puts("Usage: " EXEC_USAGE); return -1;
		default: fputs("shmfs: usage: " EXEC_USAGE "\n", stderr); return EXEC_FAIL;
		}
	}
	if (optind == argc) {
		fputs("shmfs: exec: no command given (usage: " EXEC_USAGE ")\n", stderr);
		return EXEC_FAIL;
	}
	return 0;
}

int shmfs_cmd_exec(int argc, char **argv)
{
	struct exec_state x = { .sigfd = -1, .logfd = -1 };
	int rc = parse_args(&x, argc, argv);

	if (rc) {
		free(x.opts);
		return rc < 0 ? 0 : rc;
	}
	if (!shmfs_caps_sys_admin()) {
		fputs("shmfs: exec needs CAP_SYS_ADMIN (run it as root): it mounts /dev/shm "
		      "in a mount namespace of its own\n",
		      stderr);
		free(x.opts);
		return EXEC_FAIL;
	}
	x.own_store = names_store(x.opts);
	rc = take_signals(&x);
	if (!rc)
		rc = enter_namespace();
	if (!rc && !x.own_store)
		rc = private_run_dir(&x);
	if (!rc) {
		clear_mountpoint();
		rc = start_daemon(&x);
	}
	if (!rc)
		rc = wait_ready(&x);
	if (!rc) {
		rc = run_command(&x, argv + optind);
		if (!rc)
			supervise(&x);
		finish(&x);
		if (x.command_gone)
			rc = exit_status(x.command_status);
	} else if (x.private_run) {
		umount2(EXEC_RUN_DIR, MNT_DETACH);
	}
	relay_log(&x);
	if (x.logfd >= 0)
		close(x.logfd);
	if (x.sigfd >= 0)
		close(x.sigfd);
	free(x.opts);
	return rc;
}
