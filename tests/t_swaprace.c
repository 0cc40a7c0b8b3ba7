// SPDX-License-Identifier: MIT
/*
 * t_swaprace DIR LINK NAME COUNT: races the removal of transient segments
 * against a directory swap. A child process exchanges DIR and LINK
 * (renameat2 RENAME_EXCHANGE) over and over, while this process, COUNT
 * times, creates DIR/NAME, marks it transient through the creating
 * descriptor and closes it. DIR is a directory and LINK a symlink, both in
 * the same directory: each exchange puts the symlink where the directory
 * was, so a removal that resolves DIR/NAME again by path, at the wrong
 * moment, goes wherever LINK points.
 *
 * Prints "t_swaprace: M of COUNT segments marked and closed, X exchanges"
 * and exits 0; exits 2 if it could not run. Opens that meet the symlink
 * (it points where the caller may not go) count as misses, not failures.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MARK "user.shmfs.transient"
/* src/core/transient_mark.h; elsewhere than shmfs (ENOTTY), the attribute MARK. */
#define SHMFS_IOC_SET_TRANSIENT _IOW('S', 0x52, int)

struct shared {
	atomic_int stop;
	atomic_long exchanges;
};

static void die(const char *what)
{
	fprintf(stderr, "t_swaprace: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void swapper(struct shared *sh, const char *dir, const char *link)
{
	while (!atomic_load(&sh->stop))
		if (!renameat2(AT_FDCWD, dir, AT_FDCWD, link, RENAME_EXCHANGE))
			atomic_fetch_add(&sh->exchanges, 1);
	_exit(0);
}

/* One create, mark and close of path: 1 if all three were done, else 0. */
static int make_transient(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	int on = 1, ok;

	if (fd < 0)
		return 0;
	ok = !ioctl(fd, SHMFS_IOC_SET_TRANSIENT, &on);
	if (!ok && errno == ENOTTY)
		ok = !fsetxattr(fd, MARK, "1", 1, 0);
	return close(fd) == 0 && ok;
}

int main(int argc, char **argv)
{
	struct shared *sh;
	char path[4096];
	long count, i, made = 0;
	pid_t pid;
	int status;

	if (argc != 5) {
		fprintf(stderr, "usage: t_swaprace DIR LINK NAME COUNT\n");
		return 2;
	}
	count = atol(argv[4]);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", argv[1], argv[3]) >= sizeof(path))
		return 2;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		swapper(sh, argv[1], argv[2]);
	for (i = 0; i < count; i++)
		made += make_transient(path);
	atomic_store(&sh->stop, 1);
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	printf("t_swaprace: %ld of %ld segments marked and closed, %ld exchanges\n", made, count,
	       atomic_load(&sh->exchanges));
	return 0;
}
