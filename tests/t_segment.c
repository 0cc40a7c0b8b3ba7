// SPDX-License-Identifier: MIT
/*
 * One libshmfs call on a segment name, for the suites that run it as a
 * given user; prints "ok" or the errno's name.
 *
 *   t_segment open NAME        open an existing segment
 *   t_segment create NAME SIZE create-or-open and grow to SIZE bytes
 *   t_segment excl NAME SIZE   create a new segment of SIZE bytes
 *   t_segment unlink NAME
 *   t_segment mailbox NAME     create-or-open a mailbox of 64 bytes
 *
 * With --no-openat2 first, openat2(2) fails with ENOSYS, as on kernels
 * older than 5.6, so the library's fallback walk is what runs.
 */
#include <shmfs.h>

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* A seccomp filter that answers openat2 with ENOSYS. */
static int refuse_openat2(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("t_segment: seccomp");
		return -1;
	}
	return 0;
}

static int segment(const char *name, const char *size, int flags)
{
	struct shmfs_segment *seg = NULL;
	int err = shmfs_segment_open(name, size ? strtoull(size, NULL, 0) : 0, flags, &seg);

	shmfs_segment_close(seg);
	return err;
}

static int mailbox(const char *name)
{
	struct shmfs_mailbox *mb = NULL;
	int err = shmfs_mailbox_open(name, 64, SHMFS_OPEN_CREATE, &mb);

	shmfs_mailbox_close(mb);
	return err;
}

int main(int argc, char **argv)
{
	const char *op;
	int err;

	if (argc > 1 && !strcmp(argv[1], "--no-openat2")) {
		if (refuse_openat2())
			return 2;
		argv++;
		argc--;
	}
	op = argc > 2 ? argv[1] : "";

	if (!strcmp(op, "open") && argc == 3)
		err = segment(argv[2], NULL, 0);
	else if (!strcmp(op, "create") && argc == 4)
		err = segment(argv[2], argv[3], SHMFS_OPEN_CREATE);
	else if (!strcmp(op, "excl") && argc == 4)
		err = segment(argv[2], argv[3], SHMFS_OPEN_EXCL);
	else if (!strcmp(op, "unlink") && argc == 3)
		err = shmfs_segment_unlink(argv[2]);
	else if (!strcmp(op, "mailbox") && argc == 3)
		err = mailbox(argv[2]);
	else {
		fprintf(stderr,
			"usage: t_segment [--no-openat2] open|create|excl|unlink|mailbox NAME [SIZE]\n");
		return 2;
	}
	if (err)
		printf("%s\n", strerrorname_np(-err) ?: "E?");
	else
		puts("ok");
	return err ? 1 : 0;
}
