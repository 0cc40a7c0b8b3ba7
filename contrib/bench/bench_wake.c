// SPDX-License-Identifier: MIT
/*
 * The machine's floor for anything that waits on another process: a
 * one-byte round trip over two pipes between a parent and a child, first
 * where the scheduler puts them, then with both held on one CPU.
 *
 * No file system is involved. Every synchronous FUSE request is such a
 * round trip (the caller sleeps, the daemon wakes, the caller wakes), so
 * this bounds how many of them a second can hold. On a virtual machine
 * whose idle CPUs halt, waking a task on the other CPU costs an
 * inter-processor interrupt through the host, and the two figures differ
 * by an order of magnitude.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static int wake_run(struct shmfs_bench *b, const char *metric, int cpu)
{
	int ping[2], pong[2], status;
	uint64_t i = 0, end = 0;
	cpu_set_t set;
	double t0, t = 0;
	pid_t pid;
	char c = 0;

	if (pipe2(ping, O_CLOEXEC) || pipe2(pong, O_CLOEXEC))
		return shmfs_bench_fail(metric, "pipe: %s", strerror(errno));
	CPU_ZERO(&set);
	if (cpu >= 0) {
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			return shmfs_bench_fail(metric, "sched_setaffinity: %s", strerror(errno));
	}
	pid = fork();
	if (pid < 0)
		return shmfs_bench_fail(metric, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(ping[1]);
		close(pong[0]);
		while (read(ping[0], &c, 1) == 1 && write(pong[1], &c, 1) == 1)
			;
		_exit(0);
	}
	close(ping[0]);
	close(pong[1]);
	t0 = shmfs_bench_now();
	do {
		end = shmfs_bench_batch_end(b, i);
		for (; i < end; i++) {
			if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1) {
				kill(pid, SIGKILL);
				break;
			}
		}
		t = shmfs_bench_now() - t0;
	} while (i == end && shmfs_bench_more(b, i, t));
	close(ping[1]);
	close(pong[0]);
	waitpid(pid, &status, 0);
	if (!i || !WIFEXITED(status) || WEXITSTATUS(status))
		return shmfs_bench_fail(metric, "the other process did not answer");
	shmfs_bench_report(metric, t / i * 1e6, "us", "%" PRIu64 " round trips, %s", i,
			   cpu >= 0 ? "both on one CPU" : "placed by the scheduler");
	return 0;
}

int shmfs_bench_wake(struct shmfs_bench *b)
{
	cpu_set_t old;
	int ret, cpu;

	ret = wake_run(b, "wake-rt", -1);
	if (ret)
		return ret;
	if (sched_getaffinity(0, sizeof(old), &old))
		return shmfs_bench_fail("wake-rt-1cpu", "sched_getaffinity: %s", strerror(errno));
	cpu = sched_getcpu();
	ret = wake_run(b, "wake-rt-1cpu", cpu < 0 ? 0 : cpu);
	sched_setaffinity(0, sizeof(old), &old);
	return ret;
}
