#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Multi-user like /dev/shm: root's mount is mode 1777 with allow_other and
# default_permissions; a segment belongs to the user who made it, with
# that user's umask; the kernel enforces modes and the sticky bit; the
# store is out of every other user's reach; and an unprivileged user can
# mount a shmfs of their own through fusermount3.
#
# Runs as root; two test users are made for the suite and removed after.
# modes: passthrough cached
# resources: dev_fuse

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	users_add U1 U2
}

teardown_file() {
	users_del
}

setup() {
	chmod 0666 /dev/fuse	# a test may have taken it away
	let_users_in
	USER_MNT=""
	HOLDER=""
}

teardown() {
	if [ -n "$HOLDER" ]; then
		kill "$HOLDER" 2>/dev/null || true
		wait "$HOLDER" 2>/dev/null || true
	fi
	if [ -n "$USER_MNT" ] && shmfs_is_mounted "$USER_MNT"; then
		fusermount3 -u -z "$USER_MNT" || umount -l "$USER_MNT"
	fi
	rm -rf "/dev/shm/shmfs-$U1_ID"
	shmfs_teardown
}

t_io() {
	"$SHMFS_TEST_BIN/t_io" "$@"
}

@test "root's mount: the root is 1777 and the kernel mount has allow_other and default_permissions" {
	shmfs_mount
	run stat -c '%a %U %G' "$MNT"
	assert_output "1777 root root"
	run awk -v m="$MNT" '$5 == m { print $NF }' /proc/self/mountinfo
	assert_output --regexp '(^|,)allow_other(,|$)'
	assert_output --regexp '(^|,)default_permissions(,|$)'
	run as "$U1" ls -a "$MNT"
	assert_success
}

@test "a segment is owned by the user who made it, with their umask applied" {
	shmfs_mount
	run as "$U1" sh -c 'umask 077 && printf a >"$1/a" && mkdir "$1/da" &&
		umask 022 && printf b >"$1/b" && mkdir "$1/db"' sh "$MNT"
	assert_success
	run stat -c '%n %U %G %a' "$MNT/a" "$MNT/da" "$MNT/b" "$MNT/db"
	assert_output "$MNT/a $U1 $U1 600
$MNT/da $U1 $U1 700
$MNT/b $U1 $U1 644
$MNT/db $U1 $U1 755"
	run as "$U2" sh -c 'umask 027 && printf c >"$1/c"' sh "$MNT"
	assert_success
	run stat -c '%U %G %a' "$MNT/c"
	assert_output "$U2 $U2 640"
	# What the store holds, not only what the kernel was told.
	shmfs_umount
	shmfs_mount
	run stat -c '%n %U %G %a' "$MNT/a" "$MNT/c"
	assert_output "$MNT/a $U1 $U1 600
$MNT/c $U2 $U2 640"
}

@test "another user cannot read a 0600 segment, nor remove, rename or chown another's" {
	shmfs_mount
	as "$U1" sh -c 'umask 077 && printf secret >"$1/a" && umask 022 && printf open >"$1/b"' \
		sh "$MNT"
	run as "$U2" "$SHMFS_TEST_BIN/t_io" open "$MNT/a" rdonly open "$MNT/a" wronly \
		open "$MNT/b" rdonly open "$MNT/b" wronly truncate "$MNT/b" 0 \
		unlink "$MNT/a" unlink "$MNT/b" rename "$MNT/a" "$MNT/x" rename "$MNT/b" "$MNT/x"
	assert_success
	assert_output "open: EACCES
open: EACCES
open: ok
open: EACCES
truncate 0: EACCES
unlink: EPERM
unlink: EPERM
rename: EPERM
rename: EPERM"
	# Nor replace it by renaming over it.
	as "$U2" sh -c 'printf mine >"$1/m"' sh "$MNT"
	run as "$U2" "$SHMFS_TEST_BIN/t_io" rename "$MNT/m" "$MNT/a"
	assert_output "rename: EPERM"
	run as "$U2" cat "$MNT/a"
	assert_failure
	assert_output --partial "Permission denied"
	run as "$U2" chown "$U2" "$MNT/a"
	assert_failure
	assert_output --partial "Operation not permitted"
	run as "$U2" chmod 666 "$MNT/a"
	assert_failure
	assert_output --partial "Operation not permitted"
	# The owner may not give a segment away either.
	run as "$U1" chown "$U2" "$MNT/a"
	assert_failure
	assert_output --partial "Operation not permitted"
	run as "$U1" chgrp "$U2" "$MNT/a"
	assert_failure
	assert_output --partial "Operation not permitted"
	run stat -c '%U %G %a %s' "$MNT/a" "$MNT/b"
	assert_output "$U1 $U1 600 6
$U1 $U1 644 4"
	run as "$U1" cat "$MNT/a" "$MNT/b"
	assert_output "secretopen"
	# The owner can remove their own; root can remove anyone's.
	run as "$U1" rm "$MNT/a"
	assert_success
	run rm "$MNT/m"
	assert_success
}

@test "the store is out of every other user's reach, and so is the daemon's /proc" {
	shmfs_mount
	as "$U1" sh -c 'umask 022 && printf data >"$1/a"' sh "$MNT"
	local store
	store=$(status_of store)
	assert_equal "$store" "/run/shmfs/$(store_key "$MNT")"
	run stat -c '%a %U %G' /run/shmfs "$store"
	assert_output "700 root root
700 root root"
	[ -f "$store/root/a" ] || fail "no backing file at $store/root/a"
	# Hold the segment open: the daemon then has a descriptor of its backing file.
	sleep 300 <"$MNT/a" &
	HOLDER=$!
	local fd="" f
	for f in /proc/"$SHMFS_PID"/fd/*; do
		[ "$(readlink "$f")" != "$store/root/a" ] || fd=${f##*/}
	done
	[ -n "$fd" ] || fail "the daemon holds no descriptor of the segment"
	run as "$U1" "$SHMFS_TEST_BIN/t_io" open "$store/root/a" rdonly stat "$store" \
		stat "$store/root" open "/proc/$SHMFS_PID/root$store/root/a" rdonly \
		open "/proc/$SHMFS_PID/fd" rdonly,directory \
		open "/proc/$SHMFS_PID/fd/$fd" rdonly
	assert_success
	assert_output "open: EACCES
stat: EACCES
stat: EACCES
open: EACCES
open: EACCES
open: EACCES"
	run as "$U1" ls "/proc/$SHMFS_PID/fd"
	assert_failure
	assert_output --partial "Permission denied"
	# While the owner still reaches it through the mount.
	run as "$U1" cat "$MNT/a"
	assert_output "data"
}

@test "a setgid directory passes its group on to segments and directories" {
	shmfs_mount
	mkdir "$MNT/g"
	chgrp "$U2" "$MNT/g"
	chmod 2777 "$MNT/g"
	run as "$U1" sh -c 'umask 022 && printf x >"$1/g/f" && mkdir "$1/g/sub" &&
		printf y >"$1/g/sub/f" && printf z >"$1/own"' sh "$MNT"
	assert_success
	run stat -c '%n %U %G %A' "$MNT/g/f" "$MNT/g/sub" "$MNT/g/sub/f" "$MNT/own"
	assert_output "$MNT/g/f $U1 $U2 -rw-r--r--
$MNT/g/sub $U1 $U2 drwxr-sr-x
$MNT/g/sub/f $U1 $U2 -rw-r--r--
$MNT/own $U1 $U1 -rw-r--r--"
}

@test "mode=, uid= and gid= set the root directory" {
	shmfs_mount -o "mode=0750,uid=$U1,gid=$U2_GID"
	run stat -c '%a %U %G' "$MNT"
	assert_output "750 $U1 $U2"
	run as "$U1" sh -c 'printf x >"$1/f" && ls "$1"' sh "$MNT"
	assert_success
	assert_output "f"
	run as "$U2" ls "$MNT"
	assert_success
	assert_output "f"
	run as "$U2" "$SHMFS_TEST_BIN/t_io" open "$MNT/g" wronly,creat
	assert_output "open: EACCES"
	shmfs_umount
	shmfs_mount -o mode=0700
	run stat -c '%a %U %G' "$MNT"
	assert_output "700 $U1 $U2"
	run as "$U2" ls "$MNT"
	assert_failure
	assert_output --partial "Permission denied"
}

@test "an unprivileged user mounts a shmfs of their own through fusermount3, cached" {
	USER_MNT=$BATS_TEST_TMPDIR/umnt
	mkdir "$USER_MNT"
	chown "$U1:" "$USER_MNT"
	local store="/dev/shm/shmfs-$U1_ID/$(store_key "$USER_MNT")"
	run --separate-stderr as "$U1" timeout 30 "$SHMFS" mount "$USER_MNT"
	assert_success
	shmfs_is_mounted "$USER_MNT" || fail "not mounted"
	run awk -v m="$USER_MNT" '$5 == m { print $NF }' /proc/self/mountinfo
	assert_output --regexp "(^|,)user_id=$U1_ID(,|$)"
	refute_output --regexp '(^|,)allow_other(,|$)'
	run as "$U1" "$SHMFS" status --raw "$USER_MNT"
	assert_success
	assert_line "data_path=cached"
	assert_line "store=$store"
	assert_line "store_kind=directory"
	run stat -c '%a %U' "/dev/shm/shmfs-$U1_ID" "$store"
	assert_output "700 $U1
700 $U1"
	run as "$U1" sh -c 'printf hello >"$1/seg" && cat "$1/seg"' sh "$USER_MNT"
	assert_success
	assert_output "hello"
	# Nobody else gets in: the mount has no allow_other.
	run as "$U2" cat "$USER_MNT/seg"
	assert_failure
	assert_output --partial "Permission denied"
	run as "$U1" "$SHMFS" umount "$USER_MNT"
	assert_success
	run shmfs_is_mounted "$USER_MNT"
	assert_failure
	# The segment outlives the mount; --discard destroys the store.
	run as "$U1" cat "$store/root/seg"
	assert_output "hello"
	run as "$U1" timeout 30 "$SHMFS" mount "$USER_MNT"
	assert_success
	run as "$U1" cat "$USER_MNT/seg"
	assert_output "hello"
	run as "$U1" "$SHMFS" umount --discard "$USER_MNT"
	assert_success
	[ ! -e "$store" ] || fail "the store is still there"
	run --separate-stderr as "$U1" timeout 30 "$SHMFS" mount -o passthrough=on "$USER_MNT"
	assert_failure 1
	assert_equal "$stderr" "shmfs: passthrough=on, but the daemon lacks CAP_SYS_ADMIN"
	run shmfs_is_mounted "$USER_MNT"
	assert_failure
}

@test "a user whom /dev/fuse refuses gets one line, exit 1, and no store" {
	chmod 0600 /dev/fuse
	USER_MNT=$BATS_TEST_TMPDIR/umnt
	mkdir "$USER_MNT"
	chown "$U1:" "$USER_MNT"
	run --separate-stderr as "$U1" timeout 30 "$SHMFS" mount "$USER_MNT"
	assert_failure 1
	assert_equal "$stderr" "shmfs: cannot open /dev/fuse: Permission denied (a user's mount needs it open to all users, mode 0666)"
	run shmfs_is_mounted "$USER_MNT"
	assert_failure
	[ ! -e "/dev/shm/shmfs-$U1_ID" ] || fail "a store was made"
}

@test "a user's own mount: a segment first opened read-only takes writes once it is writable" {
	USER_MNT=$BATS_TEST_TMPDIR/umnt
	mkdir "$USER_MNT"
	chown "$U1:" "$USER_MNT"
	local store="/dev/shm/shmfs-$U1_ID/$(store_key "$USER_MNT")"
	run as "$U1" timeout 30 "$SHMFS" mount "$USER_MNT"
	assert_success
	# Made read-only in the store, so that the daemon (running as the user)
	# can first open them only for reading.
	as "$U1" sh -c 'cd "$1" && printf one >held && printf one >free &&
		printf one >trunc && chmod 0444 held free trunc' sh "$store/root"
	# held: a reader keeps it open while another open writes.
	run as "$U1" sh -c '
		cd "$1" || exit
		exec 3<held
		chmod 0644 held && printf two >held || exit
		cat <&3; echo; cat held; echo
		exec 3<&-
		# free: read and closed, then written.
		cat free; echo
		chmod 0644 free && printf three >free && cat free; echo
		# trunc: read and closed, then truncated by path (truncate(2)).
		cat trunc; echo
		chmod 0644 trunc &&
			python3 -c "import os; os.truncate(\"trunc\", 2)" && cat trunc' sh "$USER_MNT"
	assert_success
	assert_output "two
two
one
three
one
on"
	run cat "$store/root/held" "$store/root/free" "$store/root/trunc"
	assert_output "twothreeon"
	run as "$U1" "$SHMFS" umount --discard "$USER_MNT"
	assert_success
}
