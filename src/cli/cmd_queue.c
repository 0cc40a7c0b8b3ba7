// SPDX-License-Identifier: MIT
/*
 * The queue subcommands: "shmfs send QUEUE" appends its standard input to a
 * libshmfs queue as one message, "shmfs recv QUEUE" takes the oldest
 * message and writes it to standard output. Both create the queue if it
 * does not exist, so either side of a script may start first.
 */
#include "commands.h"

#include <shmfs.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The ring a queue made by the command line gets, unless told otherwise. */
#define CMD_QUEUE_CAPACITY (1024 * 1024)

struct queue_args {
	const char *name;
	int timeout_ms; /* -1: no limit */
	uint64_t capacity;
};

static int queue_fail(const char *name, int err)
{
	char msg[512];

	switch (err) {
	case -EPROTO: fprintf(stderr, "shmfs: '%s' is not a queue\n", name); break;
	case -EPROTONOSUPPORT:
		fprintf(stderr,
			"shmfs: queue '%s' has a format this shmfs does "
			"not know\n",
			name);
		break;
	case -EBADMSG: fprintf(stderr, "shmfs: queue '%s' is corrupted\n", name); break;
	default:
		shmfs_segment_error(name, err, msg, sizeof(msg));
		fprintf(stderr, "shmfs: %s\n", msg);
	}
	return shmfs_name_validate(name) ? 2 : 1;
}

/* "2", "0.5": seconds, into milliseconds (at most a day). */
static int timeout_parse(const char *s, int *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 86400)
		return -EINVAL;
	*ms = (int)(v * 1000 + 0.999);
	return 0;
}

/* Parse [--timeout S] [--capacity BYTES] QUEUE; 0, or an exit status + 1. */
static int queue_args_parse(int argc, char **argv, const char *usage, bool with_capacity,
			    struct queue_args *a)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	a->timeout_ms = -1;
	a->capacity = CMD_QUEUE_CAPACITY;
	while ((c = getopt_long(argc, argv, "+t:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (timeout_parse(optarg, &a->timeout_ms)) {
				fprintf(stderr,
					"shmfs: invalid timeout '%s' "
					"(seconds)\n",
					optarg);
				return 3;
			}
			break;
		case 'c':
			errno = 0;
			a->capacity = strtoull(optarg, &end, 10);
			if (!with_capacity || errno || *end || !a->capacity ||
			    a->capacity > (1ull << 40)) {
				fprintf(stderr,
					"shmfs: invalid capacity '%s' "
					"(bytes)\n",
					optarg);
				return 3;
			}
			break;
		case 'h': printf("Usage: shmfs %s\n", usage); return 1;
		default: return 3;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "shmfs: usage: shmfs %s\n", usage);
		return 3;
	}
	a->name = argv[optind];
	return 0;
}

/* Open queue A->name, creating it with A->capacity if it does not exist. */
static int queue_get(const struct queue_args *a, struct shmfs_queue **qp)
{
	int err = shmfs_queue_open(a->name, 0, 0, qp);

	if (err == -ENOENT || err == -EAGAIN)
		err = shmfs_queue_open(a->name, (size_t)a->capacity, SHMFS_OPEN_CREATE, qp);
	return err;
}

/* Read all of standard input, up to MAX bytes, into *bufp. */
static int stdin_read(size_t max, unsigned char **bufp, size_t *lenp)
{
	size_t len = 0, cap = 4096;
	unsigned char *buf = malloc(cap), *nb;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto out_err;
			buf = nb;
			cap *= 2;
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto out_err;
		}
		len += (size_t)n;
		if (len > max) {
			free(buf);
			return -EMSGSIZE;
		}
	}
	*bufp = buf;
	*lenp = len;
	return 0;

out_err:
	free(buf);
	return errno ? -errno : -ENOMEM;
}

int shmfs_cmd_send(int argc, char **argv)
{
	static const char usage[] = "send [--timeout S] [--capacity BYTES] QUEUE";
	struct shmfs_queue *q;
	struct queue_args a;
	unsigned char *buf;
	size_t len;
	int err, st;

	st = queue_args_parse(argc, argv, usage, true, &a);
	if (st)
		return st - 1;
	err = queue_get(&a, &q);
	if (err)
		return queue_fail(a.name, err);
	err = stdin_read(shmfs_queue_max_message(q), &buf, &len);
	if (err == -EMSGSIZE) {
		fprintf(stderr,
			"shmfs: the message is larger than queue '%s' "
			"takes (%zu bytes)\n",
			a.name, shmfs_queue_max_message(q));
	} else if (err) {
		fprintf(stderr, "shmfs: cannot read standard input: %s\n", strerror(-err));
	} else {
		err = shmfs_queue_send(q, buf, len, a.timeout_ms);
		if (err == -ETIMEDOUT || err == -EAGAIN)
			fprintf(stderr, "shmfs: queue '%s' stayed full\n", a.name);
		else if (err)
			queue_fail(a.name, err);
		free(buf);
	}
	shmfs_queue_close(q);
	return err ? 1 : 0;
}

static int stdout_write(const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(STDOUT_FILENO, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int shmfs_cmd_recv(int argc, char **argv)
{
	static const char usage[] = "recv [--timeout S] QUEUE";
	struct shmfs_queue *q;
	struct queue_args a;
	const void *data;
	size_t len;
	int err, st;

	st = queue_args_parse(argc, argv, usage, false, &a);
	if (st)
		return st - 1;
	err = queue_get(&a, &q);
	if (err)
		return queue_fail(a.name, err);
	/* In place: the message is written out before it is consumed, so a
	 * recv killed meanwhile loses it only as the queue reports. */
	while ((err = shmfs_queue_read(q, &data, &len, a.timeout_ms)) == -EOWNERDEAD)
		fprintf(stderr,
			"shmfs: warning: a process that died lost a "
			"message of queue '%s'\n",
			a.name);
	if (!err) {
		err = stdout_write(data, len);
		shmfs_queue_release(q);
		if (err)
			fprintf(stderr,
				"shmfs: cannot write standard output: "
				"%s\n",
				strerror(-err));
	} else if (err == -ETIMEDOUT || err == -EAGAIN) {
		fprintf(stderr, "shmfs: no message on queue '%s'\n", a.name);
	} else {
		queue_fail(a.name, err);
	}
	shmfs_queue_close(q);
	return err ? 1 : 0;
}
