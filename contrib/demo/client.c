// SPDX-License-Identifier: MIT
/*
 * shmfs-demo-client: the asking half of the Commands/Results demo.
 * Publishes one command on the mailbox "demo/Commands", waits for the
 * answer with the same id on "demo/Results" and prints it. Clients take
 * the Commands segment's exclusive lock for the whole exchange, so several
 * may run at once and the mailbox still has one publisher at a time.
 *
 *   shmfs-demo-client upper hello world   ->  HELLO WORLD
 *   shmfs-demo-client sum 1 2 3           ->  6
 *   shmfs-demo-client stop                (stops the server)
 */
#include <shmfs.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEMO_CAPACITY 65536
#define DEMO_TIMEOUT_MS 10000

static int fail(const char *name, int err)
{
	char msg[512];

	if (err == -ETIMEDOUT)
		fprintf(stderr,
			"shmfs-demo-client: no answer on %s within %d "
			"seconds: is shmfs-demo-server running?\n",
			name, DEMO_TIMEOUT_MS / 1000);
	else if (err == -ENOENT)
		fprintf(stderr,
			"shmfs-demo-client: mailbox %s does not exist: "
			"start shmfs-demo-server first\n",
			name);
	else {
		shmfs_segment_error(name, err, msg, sizeof(msg));
		fprintf(stderr, "shmfs-demo-client: %s\n", msg);
	}
	return 1;
}

/* Wait for the answer whose id is ID; print it. */
static int await_answer(struct shmfs_mailbox *results, uint64_t last, const char *id)
{
	static char reply[DEMO_CAPACITY + 1];
	size_t idlen = strlen(id), len;
	int err;

	for (;;) {
		err = shmfs_mailbox_wait(results, last, DEMO_TIMEOUT_MS);
		if (err == -EINTR)
			continue;
		if (!err)
			err = shmfs_mailbox_read(results, reply, DEMO_CAPACITY, &len, &last);
		if (err)
			return err;
		reply[len] = '\0';
		if (len > idlen && !strncmp(reply, id, idlen) && reply[idlen] == ' ') {
			printf("%s\n", reply + idlen + 1);
			return 0;
		}
	}
}

static int exchange(struct shmfs_mailbox *commands, struct shmfs_mailbox *results, int argc,
		    char **argv)
{
	char cmd[DEMO_CAPACITY], id[64];
	size_t used;
	uint64_t last = shmfs_mailbox_seq(results);
	struct timespec ts;
	int err;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(id, sizeof(id), "%d.%ld", (int)getpid(), (long)ts.tv_nsec);
	used = (size_t)snprintf(cmd, sizeof(cmd), "%s", id);
	for (int i = 0; i < argc && used < sizeof(cmd); i++)
		used += (size_t)snprintf(cmd + used, sizeof(cmd) - used, " %s", argv[i]);
	if (used >= sizeof(cmd))
		return -EMSGSIZE;
	err = shmfs_mailbox_publish(commands, cmd, used, NULL);
	if (err)
		return err;
	return await_answer(results, last, id);
}

int main(int argc, char **argv)
{
	struct shmfs_mailbox *commands, *results;
	int err;

	if (argc < 2 || !strcmp(argv[1], "--help")) {
		fputs("Usage: shmfs-demo-client COMMAND [ARGS...]\n"
		      "Commands: upper TEXT, sum N..., stop\n",
		      argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	err = shmfs_mailbox_open("demo/Commands", 0, 0, &commands);
	if (err)
		return fail("demo/Commands", err);
	err = shmfs_mailbox_open("demo/Results", 0, SHMFS_RDONLY, &results);
	if (err)
		return fail("demo/Results", err);
	err = shmfs_segment_lock(shmfs_mailbox_segment(commands), SHMFS_LOCK_EXCLUSIVE, false);
	if (!err) {
		err = exchange(commands, results, argc - 1, argv + 1);
		shmfs_segment_unlock(shmfs_mailbox_segment(commands));
	}
	shmfs_mailbox_close(results);
	shmfs_mailbox_close(commands);
	return err ? fail(err == -ETIMEDOUT ? "demo/Results" : "demo/Commands", err) : 0;
}
