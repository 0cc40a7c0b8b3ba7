#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The command line and libshmfs among users who do not trust each other:
# names are resolved beneath the segment directory with no symbolic link
# followed (as shm_open does), and the default store of an ordinary user
# cannot be taken over by another user who made its directory first.
#
# Runs as root; two test users are made for the suite and removed after.
# resources: dev_fuse

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	users_add UA UB
}

teardown_file() {
	users_del
}

setup() {
	let_users_in
	USER_MNT=""
	rm -rf "/dev/shm/shmfs-$UA_ID"
}

teardown() {
	if [ -n "$USER_MNT" ] && shmfs_is_mounted "$USER_MNT"; then
		fusermount3 -u -z "$USER_MNT" || umount -l "$USER_MNT"
	fi
	rm -rf "/dev/shm/shmfs-$UA_ID"
	shmfs_teardown
}

# A's own file outside the mount, and B's traps for it in a 0777
# directory of the root mount: dir/MemoryFile links to the file, dir/sub
# to the directory holding it.
plant_links() {
	AHOME=$BATS_TEST_TMPDIR/ahome
	mkdir "$AHOME"
	printf 'notes of A\n' >"$AHOME/notes"
	chown -R "$UA:" "$AHOME"
	touch -d @1000000000 "$AHOME/notes"
	as "$UB" sh -c 'mkdir -m 0777 "$1/dir" && ln -s "$2/notes" "$1/dir/MemoryFile" &&
		ln -s "$2" "$1/dir/sub"' sh "$MNT" "$AHOME"
}

# A's file is as it was.
notes_unchanged() {
	run stat -c '%s %Y %U' "$AHOME/notes"
	assert_output "11 1000000000 $UA"
	run cat "$AHOME/notes"
	assert_output "notes of A"
}

@test "shmfs create and rm refuse a symbolic link another user planted, in one line" {
	shmfs_mount
	plant_links
	local name
	for name in dir/MemoryFile dir/sub/notes; do
		run --separate-stderr as "$UA" env SHMFS_DIR="$MNT" "$SHMFS" create "$name" 1m
		assert_failure 1
		assert_output ""
		assert_equal "$stderr" "shmfs: segment '$name' is reached through a symbolic link, which is never followed"
		notes_unchanged
		run --separate-stderr as "$UA" env SHMFS_DIR="$MNT" "$SHMFS" rm "$name"
		assert_failure 1
		assert_equal "$stderr" "shmfs: segment '$name' is reached through a symbolic link, which is never followed"
		notes_unchanged
	done
	# The links themselves stay where B put them.
	run readlink "$MNT/dir/MemoryFile" "$MNT/dir/sub"
	assert_output "$AHOME/notes
$AHOME"
	# Names without links still work in the same directory.
	run as "$UA" env SHMFS_DIR="$MNT" "$SHMFS" create dir/own/seg 4k
	assert_success
	run stat -c '%s %U' "$MNT/dir/own/seg"
	assert_output "4096 $UA"
	run as "$UA" env SHMFS_DIR="$MNT" "$SHMFS" rm dir/own/seg
	assert_success
}

# t_segment as A on the mount, with openat2 or with the fallback walk.
seg_as_a() {
	as "$UA" env SHMFS_DIR="$MNT" "$SHMFS_TEST_BIN/t_segment" $WALK "$@"
}

@test "libshmfs open, create, mailbox and unlink refuse a planted symbolic link with ELOOP" {
	shmfs_mount
	plant_links
	local name op
	for WALK in "" --no-openat2; do
		for name in dir/MemoryFile dir/sub/notes; do
			for op in open unlink mailbox; do
				run seg_as_a "$op" "$name"
				assert_failure 1
				assert_output "ELOOP"
			done
			run seg_as_a create "$name" 1048576
			assert_failure 1
			assert_output "ELOOP"
			notes_unchanged
		done
		# A new segment never replaces the link, nor goes where it points.
		run seg_as_a excl dir/MemoryFile 4096
		assert_failure 1
		assert_output "EEXIST"
		run seg_as_a excl dir/sub/fresh 4096
		assert_failure 1
		assert_output "ELOOP"
		[ ! -e "$AHOME/fresh" ] || fail "a segment was made outside the mount"
		notes_unchanged
		# Directories without links are made and used as before.
		run seg_as_a create "dir/own$WALK/a/b/seg" 4096
		assert_success
		assert_output "ok"
		run seg_as_a open "dir/own$WALK/a/b/seg"
		assert_output "ok"
		run stat -c '%s %U' "$MNT/dir/own$WALK/a/b/seg"
		assert_output "4096 $UA"
		run seg_as_a unlink "dir/own$WALK/a/b/seg"
		assert_output "ok"
		[ ! -e "$MNT/dir/own$WALK/a/b/seg" ] || fail "not removed"
	done
}

# A's own mountpoint, and the directory of A's default stores in /dev/shm.
user_mnt() {
	USER_MNT=$BATS_TEST_TMPDIR/umnt
	mkdir -p "$USER_MNT"
	chown "$UA:" "$USER_MNT"
	SHMDIR=/dev/shm/shmfs-$UA_ID
}

# A's mount must fail with exactly the line $1, and mount nothing.
mount_refused() {
	run --separate-stderr as "$UA" timeout 30 "$SHMFS" mount "$USER_MNT"
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "$1"
	run shmfs_is_mounted "$USER_MNT"
	assert_failure
}

# The store A's mount uses, from the daemon; then A unmounts it.
store_of_a_mount() {
	run as "$UA" "$@" timeout 30 "$SHMFS" mount "$USER_MNT"
	assert_success
	STORE=$(as "$UA" "$SHMFS" status --raw "$USER_MNT" | sed -n 's/^store=//p')
	[ -n "$STORE" ]
}

@test "another user's directory or link at /dev/shm/shmfs-UID is refused by name, and left alone" {
	user_mnt
	local adir=$BATS_TEST_TMPDIR/adir bdir=$BATS_TEST_TMPDIR/bdir
	mkdir -m 0700 "$adir"
	chown "$UA:" "$adir"
	mkdir -m 0777 "$bdir"
	chown "$UB:" "$bdir"
	as "$UB" mkdir -m 0777 "$SHMDIR"
	mount_refused "shmfs: not using store directory '$SHMDIR': it belongs to uid $UB_ID"
	run ls -A "$SHMDIR"
	assert_output ""
	rmdir "$SHMDIR"
	for target in "$bdir" "$adir"; do
		as "$UB" ln -s "$target" "$SHMDIR"
		mount_refused "shmfs: not using store directory '$SHMDIR': it is a symbolic link"
		run ls -A "$target"
		assert_output ""
		rm "$SHMDIR"
	done
	as "$UB" touch "$SHMDIR"
	mount_refused "shmfs: not using store directory '$SHMDIR': it is not a directory"
}

@test "a default store that other users could write to, or that holds their files, is never used" {
	user_mnt
	store_of_a_mount
	run as "$UA" "$SHMFS" umount --discard "$USER_MNT"
	assert_success
	# A's own directory, open to all: B may have put anything in it.
	as "$UA" chmod 0777 "$SHMDIR"
	mount_refused "shmfs: not using store directory '$SHMDIR': other users may write to it (mode 0777)"
	# The store itself open to all, and B's root inside it.
	as "$UA" mkdir -m 0700 "$STORE"
	as "$UA" chmod 0777 "$STORE"
	as "$UB" mkdir -m 0777 "$STORE/root"
	as "$UA" chmod 0700 "$SHMDIR"
	mount_refused "shmfs: not using store directory '$STORE': other users may write to it (mode 0777)"
	# Made private again, it still holds B's root.
	as "$UA" chmod 0700 "$STORE"
	mount_refused "shmfs: not using store '$STORE': its 'root' belongs to another user"
	run ls -A "$STORE/root"
	assert_output ""
	run stat -c '%U %a' "$STORE/root"
	assert_output "$UB 777"
}

@test "a user's store goes to \$XDG_RUNTIME_DIR when it is theirs alone, and discard finds it there" {
	user_mnt
	local xdg=$BATS_TEST_TMPDIR/xdg-a
	mkdir -m 0700 "$xdg"
	chown "$UA:" "$xdg"
	# /dev/shm/shmfs-UID squatted: it does not matter any more.
	as "$UB" mkdir -m 0777 "$SHMDIR"
	store_of_a_mount env XDG_RUNTIME_DIR="$xdg/"
	assert_equal "$STORE" "$xdg/shmfs/$(basename "$STORE")"
	run stat -c '%a %U' "$xdg/shmfs" "$STORE"
	assert_output "700 $UA
700 $UA"
	run as "$UA" sh -c 'printf kept >"$1/seg"' sh "$USER_MNT"
	assert_success
	run as "$UA" "$SHMFS" umount "$USER_MNT"
	assert_success
	run as "$UA" env XDG_RUNTIME_DIR="$xdg" timeout 30 "$SHMFS" mount "$USER_MNT"
	assert_success
	run as "$UA" cat "$USER_MNT/seg"
	assert_output "kept"
	run as "$UA" env XDG_RUNTIME_DIR="$xdg" "$SHMFS" umount "$USER_MNT"
	assert_success
	run as "$UA" env XDG_RUNTIME_DIR="$xdg" "$SHMFS" discard "$USER_MNT"
	assert_success
	[ ! -e "$STORE" ] || fail "discard did not find the store"
	run ls -A "$SHMDIR"
	assert_output ""
	rmdir "$SHMDIR"
	# A runtime directory that is not A's own private one is not used.
	local bxdg=$BATS_TEST_TMPDIR/xdg-b
	mkdir -m 0700 "$bxdg"
	chown "$UB:" "$bxdg"
	ln -s "$xdg" "$BATS_TEST_TMPDIR/xdg-link"
	for bad in "$bxdg" "$BATS_TEST_TMPDIR/xdg-link" relative/dir; do
		store_of_a_mount env XDG_RUNTIME_DIR="$bad"
		assert_equal "$STORE" "$SHMDIR/$(basename "$STORE")"
		run as "$UA" env XDG_RUNTIME_DIR="$bad" "$SHMFS" umount --discard "$USER_MNT"
		assert_success
	done
	chmod 0755 "$xdg"
	store_of_a_mount env XDG_RUNTIME_DIR="$xdg"
	assert_equal "$STORE" "$SHMDIR/$(basename "$STORE")"
	run as "$UA" "$SHMFS" umount --discard "$USER_MNT"
	assert_success
	run ls -A "$xdg/shmfs" "$bxdg"
	assert_output "$xdg/shmfs:

$bxdg:"
}

@test "root's store= is refused when another user's link or directory is on its path, and nothing there is touched" {
	local victim=$BATS_TEST_TMPDIR/victim link=/dev/shm/shx$$-store
	mkdir "$BATS_TEST_TMPDIR/mnt"
	mkdir -m 0755 "$victim"
	printf 'not a store\n' >"$victim/file"
	as "$UB" ln -s "$victim" "$link"
	run --separate-stderr "$SHMFS" mount -o "store=$link" "$BATS_TEST_TMPDIR/mnt"
	rm -f "$link"
	assert_failure 1
	assert_equal "$stderr" "shmfs: not using store '$link': '$link' belongs to uid $UB_ID"
	run stat -c '%a %U' "$victim"
	assert_output "755 root"
	run ls -A "$victim"
	assert_output "file"
	# A directory open to all without the sticky bit: anyone could swap the store.
	mkdir -m 0777 "$BATS_TEST_TMPDIR/open"
	run --separate-stderr "$SHMFS" mount -o "store=$BATS_TEST_TMPDIR/open/s" \
		"$BATS_TEST_TMPDIR/mnt"
	assert_failure 1
	assert_equal "$stderr" "shmfs: not using store '$BATS_TEST_TMPDIR/open/s': any user may replace what '$BATS_TEST_TMPDIR/open' holds (mode 0777)"
	run ls -A "$BATS_TEST_TMPDIR/open"
	assert_output ""
}

@test "root's umount --discard of another user's mount leaves the store it names alone" {
	user_mnt
	store_of_a_mount
	run as "$UA" sh -c 'printf kept >"$1/seg"' sh "$USER_MNT"
	assert_success
	run --separate-stderr "$SHMFS" umount --discard "$USER_MNT"
	assert_failure 1
	assert_equal "$stderr" "shmfs: '$USER_MNT' was mounted by uid $UA_ID: only that user discards its store"
	run as "$UA" cat "$USER_MNT/seg"
	assert_output kept
	[ -d "$STORE/root" ] || fail "the store was touched"
	run as "$UA" "$SHMFS" umount --discard "$USER_MNT"
	assert_success
	[ ! -e "$STORE" ] || fail "A's own discard left the store"
}
