// SPDX-License-Identifier: MIT
/*
 * shmfs-demo-server: the serving half of the Commands/Results demo. Waits
 * on the mailbox "demo/Commands" (a futex in the shared page: no polling),
 * carries out each command and publishes the answer on "demo/Results".
 *
 * A command is "ID VERB ARGS": "upper TEXT" answers TEXT in capitals,
 * "sum N..." the sum of the numbers, "stop" stops the server. The answer
 * is "ID TEXT", so a client can tell its answer from an older one.
 */
#include <shmfs.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_CAPACITY 65536

static int fail(const char *name, int err)
{
	char msg[512];

	shmfs_segment_error(name, err, msg, sizeof(msg));
	fprintf(stderr, "shmfs-demo-server: %s\n", msg);
	return 1;
}

/* Work out the answer to VERB ARGS into out[0..cap). Returns false for
 * "stop". */
static bool answer(const char *verb, char *args, char *out, size_t cap)
{
	if (!strcmp(verb, "upper")) {
		size_t i;

		for (i = 0; args[i] && i + 1 < cap; i++)
			out[i] = (char)toupper((unsigned char)args[i]);
		out[i] = '\0';
	} else if (!strcmp(verb, "sum")) {
		long long sum = 0;
		char *tok, *save;

		for (tok = strtok_r(args, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			sum += strtoll(tok, NULL, 10);
		snprintf(out, cap, "%lld", sum);
	} else if (!strcmp(verb, "stop")) {
		snprintf(out, cap, "stopping");
		return false;
	} else {
		snprintf(out, cap, "error: unknown command '%s'", verb);
	}
	return true;
}

/* Handle one command message; false when told to stop. */
static bool serve_one(struct shmfs_mailbox *results, char *cmd)
{
	char reply[DEMO_CAPACITY], out[DEMO_CAPACITY - 128];
	char *id = cmd, *verb, *args;
	bool go_on;

	verb = strchr(id, ' ');
	if (!verb)
		return true;
	*verb++ = '\0';
	args = strchr(verb, ' ');
	if (args)
		*args++ = '\0';
	printf("%s%s%s -> ", verb, args ? " " : "", args ? args : "");
	go_on = answer(verb, args ? args : (char *)"", out, sizeof(out));
	snprintf(reply, sizeof(reply), "%.63s %s", id, out);
	shmfs_mailbox_publish(results, reply, strlen(reply), NULL);
	printf("%s\n", out);
	fflush(stdout);
	return go_on;
}

int main(int argc, char **argv)
{
	struct shmfs_mailbox *commands, *results;
	static char cmd[DEMO_CAPACITY + 1];
	uint64_t last, seq;
	size_t len;
	int err;

	if (argc > 1) {
		fputs("Usage: shmfs-demo-server\nAnswers the commands published "
		      "on mailbox demo/Commands on demo/Results.\n",
		      strcmp(argv[1], "--help") ? stderr : stdout);
		return strcmp(argv[1], "--help") ? 2 : 0;
	}
	err = shmfs_mailbox_open("demo/Commands", DEMO_CAPACITY, SHMFS_OPEN_CREATE, &commands);
	if (err)
		return fail("demo/Commands", err);
	err = shmfs_mailbox_open("demo/Results", DEMO_CAPACITY, SHMFS_OPEN_CREATE, &results);
	if (err)
		return fail("demo/Results", err);
	/* Commands already there when we start are old: answer newer ones. */
	last = shmfs_mailbox_seq(commands);
	printf("serving demo/Commands\n");
	fflush(stdout);
	for (;;) {
		err = shmfs_mailbox_wait(commands, last, -1);
		if (err == -EINTR)
			continue;
		if (!err)
			err = shmfs_mailbox_read(commands, cmd, DEMO_CAPACITY, &len, &seq);
		if (err)
			break;
		last = seq;
		cmd[len] = '\0';
		if (!serve_one(results, cmd))
			break;
	}
	shmfs_mailbox_close(results);
	shmfs_mailbox_close(commands);
	return err ? fail("demo/Commands", err) : 0;
}
