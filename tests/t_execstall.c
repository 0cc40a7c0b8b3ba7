// SPDX-License-Identifier: MIT
/*
 * t_execstall FILE PROGRAM [ARGS...]: open FILE, print the pid, wait for
 * a line on stdin (time to make FILE's file system stop answering), then
 * leave one asynchronous O_DIRECT read of FILE in flight (Linux AIO) and
 * execve PROGRAM. When FILE's file
 * system does not answer reads, the exec waits for that read while it
 * holds the process's exec lock, and every open of /proc/PID/maps of this
 * process waits too, until the read is answered. Used to check that such
 * a process cannot stall the daemon's scan of mappings.
 */
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct iocb cb, *list[1] = { &cb };
	aio_context_t aio = 0;
	char line[16];
	void *buf;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: t_execstall FILE PROGRAM [ARGS...]\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0) {
		perror("t_execstall: open");
		return 1;
	}
	printf("%d\n", getpid());
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	if (posix_memalign(&buf, 4096, 4096) || syscall(SYS_io_setup, 1, &aio)) {
		perror("t_execstall: io_setup");
		return 1;
	}
	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = (unsigned int)fd;
	cb.aio_lio_opcode = IOCB_CMD_PREAD;
	cb.aio_buf = (unsigned long)buf;
	cb.aio_nbytes = 4096;
	if (syscall(SYS_io_submit, aio, 1, list) != 1) {
		perror("t_execstall: io_submit");
		return 1;
	}
	execvp(argv[2], argv + 2);
	perror("t_execstall: exec");
	return 1;
}
