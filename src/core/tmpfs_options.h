/* SPDX-License-Identifier: MIT */
/*
 * tmpfs's options for how the store keeps a segment's pages, under
 * tmpfs's names and grammar: huge= (transparent huge pages), noswap and
 * mpol= (the NUMA policy). They only mean something where shmfs mounts
 * the store's tmpfs itself; a directory store refuses them.
 *
 * This module owns their grammar (checked when the options are parsed,
 * before anything is made), the text that goes to mount(2), the kernel's
 * verdict on each value before mounting (fsopen(2) and fsconfig(2) on a
 * context that is never mounted, so that a refusal names its option),
 * and what the store's tmpfs has now, as /proc/self/mountinfo shows it.
 */
#ifndef SHMFS_TMPFS_OPTIONS_H
#define SHMFS_TMPFS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

/* The longest mpol= value taken: a mode, its flag and a node list. */
#define SHMFS_TMPFS_MPOL_MAX 128

/* What was asked; anything not asked keeps what the store's tmpfs has. */
struct shmfs_tmpfs_options {
	const char *huge; /* "never", "always", "within_size", "advise", or NULL */
	bool noswap;
	char *mpol; /* MODE[=static|relative][:NODELIST], or NULL */
};

/* Whether any of them was asked for. */
bool shmfs_tmpfs_options_any(const struct shmfs_tmpfs_options *t);
/* The first one asked for, as it was written ("huge=advise"), for messages. */
void shmfs_tmpfs_options_first(const struct shmfs_tmpfs_options *t, char *buf, size_t len);

/* A huge= value: tmpfs's own spelling of it (static), or NULL if it has none. */
const char *shmfs_tmpfs_huge_parse(const char *s);
/*
 * Whether s is an mpol= value as tmpfs reads one: default, local,
 * prefer:N, bind:NODELIST or interleave[:NODELIST], where NODELIST is
 * N or N-M ranges separated by commas, and prefer, bind and interleave
 * may take =static or =relative before the list. 0 or -EINVAL. Which
 * nodes exist is the kernel's to say (shmfs_tmpfs_options_probe).
 */
int shmfs_tmpfs_mpol_check(const char *s);

/*
 * Append ",huge=...", ",noswap" and ",mpol=..." for what t asks to the
 * mount(2) data in buf (n bytes used, of len). noswap_now: the store's
 * tmpfs has noswap already, and keeps it (Linux 6.4 refused a remount
 * that did not repeat it). Returns the new length, or -ENAMETOOLONG.
 */
int shmfs_tmpfs_options_append(const struct shmfs_tmpfs_options *t, bool noswap_now, char *buf,
			       size_t n, size_t len);

/*
 * Ask this kernel's tmpfs whether it takes each value in t. Returns 0
 * (also when the kernel cannot be asked: mount(2) then says), or a
 * negative errno with a line in why naming the option that tmpfs refuses
 * and why.
 */
int shmfs_tmpfs_options_probe(const struct shmfs_tmpfs_options *t, char *why, size_t len);

/*
 * The huge=, mpol= and noswap options of the tmpfs mounted at path, as
 * the kernel shows them (it leaves out defaults): "" for none. Returns
 * false when no tmpfs is mounted at path.
 */
bool shmfs_tmpfs_options_shown(const char *path, char *buf, size_t len);
/* The same, out of a tmpfs's superblock options ("rw,size=1024k,huge=advise"). */
void shmfs_tmpfs_options_filter(const char *opts, char *buf, size_t len);

#endif
