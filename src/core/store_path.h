/* SPDX-License-Identifier: MIT */
/*
 * Where a store lives, and whether its path can be trusted: the store's
 * own helpers (store.c), not for other modules. The daemon may be root,
 * and a store's path runs through directories other users may write to
 * (/dev/shm): every component is checked before the store is used, and
 * nothing another user controls or could swap is accepted.
 */
#ifndef SHMFS_STORE_PATH_H
#define SHMFS_STORE_PATH_H

#include "store.h"

#define SHMFS_STORE_RUN_DIR "/run/shmfs" /* root's stores: a tmpfs each */
#define SHMFS_STORE_SHM_DIR "/dev/shm"

/* Set st->why to "WHAT 'NAME': ERROR" and return err. */
int shmfs_store_fail(struct shmfs_store *st, const char *what, const char *name, int err);

/*
 * Whether a store= path can be trusted as it is written: every component
 * that exists must belong to root or to the daemon's user (a symbolic link
 * too), and no directory on the way may let other users swap its entries
 * (writable by them without the sticky bit). Otherwise another user's
 * link, say /dev/shm/store -> /etc, would send the store, and a later
 * discard, anywhere. 0, or -errno with st->why set.
 */
int shmfs_store_path_check(struct shmfs_store *st, const char *given);

/*
 * Make or open st->path as the default store of a user without
 * CAP_SYS_ADMIN (see shmfs_store_default_path()), every level checked
 * through its parent's descriptor. S is left open in st->dirfd. 0, or
 * -errno with st->why set.
 */
int shmfs_store_user_prepare(struct shmfs_store *st);

#endif
