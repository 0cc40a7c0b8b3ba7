#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The cached path never accepts a byte it cannot keep: when a segment
# grows (truncate, fallocate, a write past its end) its pages are
# allocated in the store at once, so the kernel's later write-back of
# mapped pages always finds room, and a growth that does not fit fails
# with ENOSPC and leaves the segment as it was. The passthrough path is
# tmpfs itself: a growth is a hole, and a store into a page the store
# cannot allocate raises SIGBUS, exactly as on a tmpfs of the same size
# (each passthrough check runs the same steps on one).
# modes: passthrough cached

bats_require_minimum_version 1.5.0

load helpers

KIB=1024
MIB=$((1024 * KIB))

teardown() {
	local d
	shmfs_teardown
	for d in "${SMALL_MOUNTS[@]}"; do
		umount "$d" 2>/dev/null || umount -l "$d"
	done
}

SMALL_MOUNTS=()

# small_tmpfs DIR SIZE: a tmpfs of SIZE at DIR, unmounted by teardown.
small_tmpfs() {
	requires root
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=1777" shmfs-test "$1"
	SMALL_MOUNTS+=("$1")
}

# mount_on_small SIZE: shmfs with its store on a tmpfs of SIZE ($SMALL),
# and a tmpfs of the same size to compare with ($REF).
mount_on_small() {
	SMALL=$BATS_TEST_TMPDIR/small
	REF=$BATS_TEST_TMPDIR/ref
	small_tmpfs "$SMALL" "$1"
	small_tmpfs "$REF" "$1"
	shmfs_mount -o "store=$SMALL/store"
}

# used DIR: bytes in use on the file system of DIR.
used() {
	df -B1 --output=used "$1" | tail -n 1 | tr -d ' '
}

# wait_used DIR BYTES: wait (at most 10 s) until DIR's file system uses BYTES.
wait_used() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(used "$1")" != "$2" ] || return 0
		sleep 0.05
	done
	fail "'$1' uses $(used "$1") bytes, not $2"
}

mapkeep() {
	"$SHMFS_TEST_BIN/t_mapkeep" "$@"
}

t_io() {
	"$SHMFS_TEST_BIN/t_io" "$@"
}

# t_io_both STEP...: t_io on the tmpfs to compare with, then on the mount
# ('@' in a step stands for either); $ref holds the first's lines,
# $output the second's.
t_io_both() {
	run t_io "${@//@/$REF}"
	assert_success
	ref=$output
	run t_io "${@//@/$MNT}"
	assert_success
}

cached() {
	[ "$SHMFS_TEST_MODE" = cached ]
}

@test "store=DIR on a 64 MiB tmpfs: a 100 MiB segment is refused at its truncate (cached), SIGBUS as on tmpfs (passthrough)" {
	mount_on_small 64m
	run mapkeep fill "$REF/seg" $((100 * MIB))
	assert_success
	ref=$output
	run mapkeep fill "$MNT/seg" $((100 * MIB))
	if cached; then
		assert_failure 1
		assert_output "ftruncate: ENOSPC"
		# Nothing of the refused growth is left behind.
		run stat -c %s "$MNT/seg"
		assert_output "0"
		assert_equal "$(used "$SMALL")" 0
	else
		assert_success
		assert_equal "$output" "$ref"
		assert_line "sigbus $((64 * MIB))"
	fi
	# The daemon serves on, and the store is whole. (A removed segment's
	# pages go back once the kernel has forgotten it, a moment after rm.)
	rm "$MNT/seg"
	wait_used "$SMALL" 0
	run mapkeep fill "$MNT/seg2" $((32 * MIB))
	assert_success
	assert_line "stored $((32 * MIB))"
	assert_line "reader: 8192 pages right, 0 wrong"
	assert_line "msync: ok"
}

@test "store=DIR on a 64 MiB tmpfs: a 60 MiB segment filled through a mapping while another process reads keeps every byte across a remount" {
	mount_on_small 64m
	run mapkeep fill "$MNT/seg" $((60 * MIB))
	assert_success
	assert_output "stored $((60 * MIB))
reader: 15360 pages right, 0 wrong
msync: ok"
	if cached; then
		# Reserved at the truncate: the store held it all before a byte was stored.
		assert_equal "$(used "$SMALL")" $((60 * MIB))
	fi
	shmfs_umount
	shmfs_mount -o "store=$SMALL/store"
	run mapkeep check "$MNT/seg" $((60 * MIB))
	assert_success
	assert_output "check: $((60 * MIB)) bytes intact"
}

@test "the default store with size=: segments that together outgrow it are refused at their truncate (cached)" {
	requires root
	REF=$BATS_TEST_TMPDIR/ref
	small_tmpfs "$REF" 8m
	shmfs_mount -o size=8m
	run mapkeep fill "$REF/a" $((5 * MIB))
	assert_success
	run mapkeep fill "$MNT/a" $((5 * MIB))
	assert_success
	assert_line "stored $((5 * MIB))"
	assert_line "msync: ok"
	run truncate -s $((5 * MIB)) "$MNT/b"
	if cached; then
		assert_failure
		assert_output --partial "No space left on device"
		run stat -c %s "$MNT/b"
		assert_output "0"
		assert_equal "$(status_of bytes_used)" $((5 * MIB))
		run mapkeep fill "$MNT/c" $((3 * MIB))
		assert_success
		assert_line "stored $((3 * MIB))"
		assert_line "msync: ok"
		run mapkeep fill "$MNT/d" 4096
		assert_failure 1
		assert_output "ftruncate: ENOSPC"
	else
		assert_success
		assert_output ""
		run mapkeep fill "$REF/b" $((5 * MIB))
		ref=$output
		run mapkeep fill "$MNT/b" $((5 * MIB))
		assert_success
		assert_equal "$output" "$ref"
		assert_line "sigbus $((3 * MIB))"
	fi
	# The segment that was admitted keeps every byte stored into it.
	shmfs_umount
	shmfs_mount -o size=8m
	run mapkeep check "$MNT/a" $((5 * MIB))
	assert_output "check: $((5 * MIB)) bytes intact"
}

@test "a write past the end reserves the hole below it (cached); one that does not fit leaves the segment as it was" {
	mount_on_small 8m
	t_io_both open @/w rdwr,creat pwrite $((16 * MIB)) 10 size pwrite $((4 * MIB)) 10 size \
		check $((4 * MIB)) 10 close
	if cached; then
		assert_output "open: ok
pwrite 16777216 10: ENOSPC
size: 0
pwrite 4194304 10: 10
size: 4194314
check 4194304 10: ok
close: ok"
		# Every page below the end is the segment's.
		assert_equal "$(used "$SMALL")" $((4 * MIB + 4096))
		assert_equal "$(stat -c %b "$SMALL/store/root/w")" $(((4 * MIB + 4096) / 512))
	else
		assert_equal "$output" "$ref"
		assert_equal "$(used "$SMALL")" "$(used "$REF")"
	fi
}

@test "a truncate or fallocate that does not fit fails with ENOSPC and leaves the segment as it was" {
	mount_on_small 8m
	t_io_both open @/f rdwr,creat pwrite 0 $((2 * MIB)) ftruncate $((16 * MIB)) size \
		fallocate 0 $((16 * MIB)) size fallocate $((MIB)) $((8 * MIB)) size \
		check 0 $((2 * MIB)) close
	if cached; then
		assert_output "open: ok
pwrite 0 2097152: 2097152
ftruncate 16777216: ENOSPC
size: 2097152
fallocate 0 16777216: ENOSPC
size: 2097152
fallocate 1048576 8388608: ENOSPC
size: 2097152
check 0 2097152: ok
close: ok"
		# No page of a refused growth stays allocated.
		assert_equal "$(used "$SMALL")" $((2 * MIB))
	else
		assert_equal "$output" "$ref"
		assert_equal "$(used "$SMALL")" "$(used "$REF")"
	fi
}

@test "the reservation counts in status and df (cached); passthrough leaves holes as tmpfs does" {
	requires root
	shmfs_mount -o size=64m
	truncate -s $((10 * MIB)) "$MNT/a"
	head -c 100 /dev/zero | dd of="$MNT/b" bs=1 seek=$((3 * MIB)) status=none
	# Passthrough: a's hole takes nothing, b's one page.
	local want=4096
	! cached || want=$((13 * MIB + 4096))
	assert_equal "$(status_of bytes_used)" "$want"
	run df -B1 --output=used "$MNT"
	assert_line --index 1 --regexp "^ *$want\$"
	run "$SHMFS" status "$MNT"
	assert_success
	if cached; then
		assert_line "memory:        13.0 MiB of 64.0 MiB"
	fi
	rm "$MNT/a" "$MNT/b"
	assert_equal "$(status_of bytes_used)" 0
}

@test "a punched hole reads as zeros and keeps its pages (cached): stores into it later are kept" {
	mount_on_small 8m
	head -c $((4 * MIB)) /dev/urandom >"$BATS_TEST_TMPDIR/src"
	cp "$BATS_TEST_TMPDIR/src" "$MNT/a"
	run t_io open "$MNT/a" rdwr punch 0 $((2 * MIB)) size close
	assert_output "open: ok
punch 0 2097152: ok
size: 4194304
close: ok"
	run cmp -n $((2 * MIB)) "$MNT/a" /dev/zero
	assert_success
	run cmp -i $((2 * MIB)) "$MNT/a" "$BATS_TEST_TMPDIR/src"
	assert_success
	if ! cached; then
		# As on tmpfs, the hole's pages go back to the store.
		assert_equal "$(used "$SMALL")" $((2 * MIB))
		return 0
	fi
	assert_equal "$(used "$SMALL")" $((4 * MIB))
	# Another segment takes all the rest...
	run t_io open "$MNT/b" wronly,creat pwrite 0 $((8 * MIB)) close
	assert_output "open: ok
pwrite 0 8388608: 4194304
close: ok"
	# ...and stores into the hole still find their pages.
	run python3 -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 4 << 20)
m[0:2 << 20] = open(sys.argv[2], "rb").read(2 << 20)
m.flush()
print("stored")' "$MNT/a" "$BATS_TEST_TMPDIR/src"
	assert_success
	assert_output "stored"
	shmfs_umount
	shmfs_mount -o "store=$SMALL/store"
	run cmp "$MNT/a" "$BATS_TEST_TMPDIR/src"
	assert_success
}
