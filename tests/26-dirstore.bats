#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# A directory store with size= is kept by the daemon (cached data path):
# its byte count must follow every change of size, including opens with
# O_TRUNC, and data must stay intact under it (fsx and the concurrency
# workers, which then go through the daemon's limited write path).

bats_require_minimum_version 1.5.0

load helpers

status_field() {
	"$SHMFS" status --raw "$MNT" | sed -n "s/^$1=//p"
}

mount_dirstore() {
	SHMFS_TEST_MODE=cached shmfs_mount -o "store=$BATS_TEST_TMPDIR/store,size=$1"
	run status_field data_path
	assert_output "cached"
}

@test "dir store: an open with O_TRUNC gives its bytes back to size=" {
	local i
	mount_dirstore 8m
	head -c $((6 << 20)) /dev/zero >"$MNT/seg"
	run status_field bytes_used
	assert_output $((6 << 20))
	: >"$MNT/seg"
	run stat -c %s "$MNT/seg"
	assert_output "0"
	run status_field bytes_used
	assert_output "0"
	# Rewriting through O_TRUNC again and again never runs out of room.
	for ((i = 0; i < 5; i++)); do
		head -c $((6 << 20)) /dev/zero >"$MNT/seg" || fail "rewrite $i: out of room"
	done
	run status_field bytes_used
	assert_output $((6 << 20))
	# The count agrees with a fresh count of the store.
	shmfs_umount
	SHMFS_MOUNTS=()
	SHMFS_PIDS=()
	mount_dirstore 8m
	run status_field bytes_used
	assert_output $((6 << 20))
}

@test "dir store: fsx under a size limit" {
	mount_dirstore 64m
	run "$SHMFS_TEST_BIN/fsx" -s 21 -n 10000 -N 500 "$MNT/fsx"
	assert_success
	assert_line --index 1 --regexp '^fsx: 10000 ops OK, seed 21'
	size=$(stat -c %s "$MNT/fsx")
	run status_field bytes_used
	assert_output $(((size + 4095) / 4096 * 4096))
}

@test "dir store: the flock counter with 8 writers under a size limit" {
	local i logs=() pids=() H=$SHMFS_TEST_BIN/t_hammer
	mount_dirstore 64m
	truncate -s $((64 + 100000 * 56)) "$MNT/counter"
	for ((i = 1; i <= 8; i++)); do
		timeout 60 "$H" counter "$MNT/counter" "$i" 2 "$BATS_TEST_TMPDIR/c$i.log" 3>&- &
		pids+=($!)
		logs+=("$BATS_TEST_TMPDIR/c$i.log")
	done
	for i in "${pids[@]}"; do
		wait "$i" || fail "a counter writer failed"
	done
	run "$H" counter-check "$MNT/counter" "${logs[@]}"
	assert_success
	assert_output --regexp '^counter-check: [0-9]+ records from 8 writers'
}

@test "dir store: a nest 3000 deep is counted whole, with a few descriptors, atimes untouched" {
	local pid
	# The daemon holds a descriptor per cached inode: it must not stop at
	# the soft limit.
	ulimit -Sn 512
	mount_dirstore 64m
	python3 -c '
import os, sys
os.chdir(sys.argv[1])
for i in range(3000):
    os.mkdir("d")
    os.chdir("d")
    if i % 500 == 499:
        with open("f", "w") as f:
            f.write("x" * 5000)
' "$MNT"
	run status_field segments
	assert_output "6"
	run status_field segment_bytes
	assert_output $((6 * 8192))
	touch -a -d @1000 "$BATS_TEST_TMPDIR/store/root/d/d"
	# A fresh daemon counts the store for size= from scratch, with far
	# fewer descriptors than levels.
	shmfs_umount
	SHMFS_MOUNTS=()
	SHMFS_PIDS=()
	ulimit -n 1024
	mount_dirstore 64m
	run status_field bytes_used
	assert_output $((6 * 8192))
	pid=$(status_field pid)
	[ "$(ls "/proc/$pid/fd" | wc -l)" -lt 64 ] || fail "the daemon holds $(ls "/proc/$pid/fd" | wc -l) descriptors"
	run stat -c %X "$BATS_TEST_TMPDIR/store/root/d/d"
	assert_output "1000"
	run "$SHMFS" umount --discard "$MNT"
	assert_success
	[ ! -e "$BATS_TEST_TMPDIR/store" ] || fail "the store is still there"
	SHMFS_MOUNTS=()
	SHMFS_PIDS=()
}

@test "dir store: umount --discard of a mount whose daemon died points to discard --store" {
	mount_dirstore 8m
	echo data >"$MNT/seg"
	shmfs_kill9
	run --separate-stderr "$SHMFS" umount --discard "$MNT"
	echo "$stderr"
	assert_failure 1
	[[ "${stderr_lines[0]}" == *"there is no store at"* ]] || fail "no 'no store' line"
	assert_equal "${stderr_lines[1]}" "shmfs: the daemon of '$MNT' was gone, so its store is not known; if it was mounted with store=DIR: 'shmfs discard --store DIR'"
	run shmfs_is_mounted "$MNT"
	assert_failure
	run cat "$BATS_TEST_TMPDIR/store/root/seg"
	assert_output "data"
	run "$SHMFS" discard --store "$BATS_TEST_TMPDIR/store"
	assert_success
	[ ! -e "$BATS_TEST_TMPDIR/store" ] || fail "the store is still there"
}

@test "dir store: status and df show what the store holds, not the whole filesystem under it" {
	requires root
	# The store's filesystem, with a file of its own beside the store.
	FS=$BATS_TEST_TMPDIR/fs
	mkdir "$FS"
	mount -t tmpfs -o size=64m shmfs-test "$FS"
	head -c $((2 << 20)) /dev/zero >"$FS/other"
	local opts
	for opts in "" ,nr_inodes=100; do
		shmfs_mount -o "store=$FS/store$opts"
		head -c $((1 << 20)) /dev/zero >"$MNT/big"
		mkdir "$MNT/dir"
		head -c 12288 /dev/zero >"$MNT/dir/small"
		run status_field bytes_used
		assert_output $(((1 << 20) + 12288))
		run status_field inodes_used
		assert_output 3
		run df -B1 --output=used,iused "$MNT"
		assert_line --index 1 --regexp "^ *$(((1 << 20) + 12288)) +3$"
		# Free is what the filesystem has free.
		run df -B1 --output=avail "$FS" "$MNT"
		assert_equal "${lines[1]}" "${lines[2]}"
		rm -r "$MNT/big" "$MNT/dir"
		run status_field bytes_used
		assert_output 0
		shmfs_umount
		SHMFS_MOUNTS=()
		SHMFS_PIDS=()
		rm -rf "$FS/store"
	done
}

teardown() {
	shmfs_teardown
	[ -z "${FS:-}" ] || umount -l "$FS"
}

# links DIR LEN MAX: make up to MAX symlinks in DIR with LEN-byte targets;
# print how many were made before the first failure, and its message.
links() {
	local target i
	target=$(head -c "$2" /dev/zero | tr '\0' x)
	for ((i = 0; i < $3; i++)); do
		ln -s "$target" "$1/l$i" 2>"$BATS_TEST_TMPDIR/ln.err" || break
	done
	echo "$i $(sed 's/.*: //' "$BATS_TEST_TMPDIR/ln.err")"
}

@test "dir store: long symlink targets count against size= as on tmpfs, short ones do not" {
	local tmpfs=$BATS_TEST_TMPDIR/tmpfs expected
	mkdir "$tmpfs"
	mount -t tmpfs -o size=1m tmpfs "$tmpfs"
	run links "$tmpfs" 4000 1000
	umount "$tmpfs"
	assert_success
	expected=$output
	[[ $expected =~ ^[0-9]+\ No\ space\ left\ on\ device$ ]] || fail "tmpfs: $expected"
	mount_dirstore 1m
	run links "$MNT" 4000 1000
	assert_success
	assert_output "$expected"
	# Removing them gives the pages back; short targets take none.
	rm -f "$MNT"/l*
	run status_field bytes_used
	assert_output 0
	run links "$MNT" 100 1000
	assert_success
	assert_output "1000 "
	run status_field bytes_used
	assert_output 0
	# A fresh count of the store finds the long ones' pages.
	rm -f "$MNT"/l*
	run links "$MNT" 4000 10
	assert_output "10 "
	shmfs_umount
	mount_dirstore 1m
	run status_field bytes_used
	assert_output $((10 * 4096))
}

@test "dir store: xattr and acl with size= or nr_inodes= are refused in one line" {
	local o
	mkdir "$BATS_TEST_TMPDIR/mnt"
	for o in "size=1m,xattr" "nr_inodes=100,acl"; do
		run --separate-stderr "$SHMFS" mount -o "store=$BATS_TEST_TMPDIR/store,$o" \
			"$BATS_TEST_TMPDIR/mnt"
		assert_failure 1
		assert_output ""
		[ "${#stderr_lines[@]}" = 1 ] || fail "more than one line: $stderr"
		[[ $stderr =~ ^shmfs:\ (xattr|acl)\ cannot\ be\ bounded ]] || fail "$stderr"
	done
	! grep -q " $BATS_TEST_TMPDIR/mnt " /proc/self/mountinfo
}
