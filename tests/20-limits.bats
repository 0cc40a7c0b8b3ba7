#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Limits are real: size= and nr_inodes= hold on both data paths and on
# both kinds of store (the tmpfs that root's mount gets, where the kernel
# keeps them, and a directory store, where the daemon does), a write that
# only partly fits is cut short, nothing stored before is harmed, freeing
# space makes room again, and df and "shmfs status" tell the truth.
#
# Mappings past the limit (what each data path gives):
#  - passthrough: the mapping is the store's own tmpfs pages, so a store
#    into a page that cannot be allocated raises SIGBUS, as on tmpfs;
#  - cached: the mapping is the mount's page cache, whose write-back could
#    not tell anyone that a page did not fit; so the store reserves a
#    segment's pages when it grows, and the truncate that does not fit
#    fails instead (27-reserve.bats has more);
#  - directory store: the daemon charges a segment's whole length at its
#    truncate in the same way.
# In every case the daemon keeps serving.
# modes: passthrough cached

bats_require_minimum_version 1.5.0

load helpers

KIB=1024
MIB=$((1024 * KIB))

# mount_limited KIND [OPTS]: mount with the limit options OPTS on a store of
# KIND (tmpfs: the default, kernel-kept limits when root; dir: a directory
# store, daemon-kept limits, and a data path that must then be cached).
mount_limited() {
	local kind=$1 opts=$2
	STORE_KIND=$kind
	if [ "$kind" = tmpfs ]; then
		requires root
		shmfs_mount -o "$opts"
	else
		# passthrough=auto: size= on a directory store turns passthrough off.
		shmfs_mount -o "$opts,store=$BATS_TEST_TMPDIR/store,passthrough=auto"
	fi
}

# wait_status KEY VALUE: wait (at most 5 s) until status says KEY=VALUE
# (a release reaches the daemon just after close returns).
wait_status() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(status_of "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	fail "status: $1=$(status_of "$1"), expected $2"
}

teardown() {
	# Descriptors that a failed status test may have left open.
	exec 5<&- 6<&-
	shmfs_teardown
}

t_io() {
	"$SHMFS_TEST_BIN/t_io" "$@"
}

# The data path a mount of this kind must have.
expected_path() {
	if [ "$STORE_KIND" = dir ] || [ "$SHMFS_TEST_MODE" = cached ]; then
		echo cached
	else
		echo passthrough
	fi
}

# --- the checks, each run on both kinds of store ---------------------------

check_write_past_size() {
	mount_limited "$1" size=1m
	assert_equal "$(status_of data_path)" "$(expected_path)"
	head -c $((768 * KIB)) /dev/urandom >"$BATS_TEST_TMPDIR/ref"
	cp "$BATS_TEST_TMPDIR/ref" "$MNT/a"
	# 256 KiB are left: half of this write fits, and write() says so.
	run t_io open "$MNT/b" wronly,creat pwrite 0 $((512 * KIB)) \
		pwrite $((256 * KIB)) 4096 pwrite $((1 * MIB)) 1 pwrite 0 4096 size close
	assert_success
	assert_output "open: ok
pwrite 0 524288: 262144
pwrite 262144 4096: ENOSPC
pwrite 1048576 1: ENOSPC
pwrite 0 4096: 4096
size: 262144
close: ok"
	# A new segment takes no room until written, then gets none.
	run t_io open "$MNT/c" wronly,creat pwrite 0 1 close
	assert_success
	assert_output "open: ok
pwrite 0 1: ENOSPC
close: ok"
	run cmp "$BATS_TEST_TMPDIR/ref" "$MNT/a"
	assert_success
	assert_equal "$(sha256sum <"$MNT/a")" "$(sha256sum <"$BATS_TEST_TMPDIR/ref")"
	run t_io open "$MNT/b" rdonly check 0 $((256 * KIB)) close
	assert_success
	assert_output "open: ok
check 0 262144: ok
close: ok"
	# The bytes were not only cached by the kernel: the store holds them.
	shmfs_umount
	mount_limited "$1" size=1m
	assert_equal "$(sha256sum <"$MNT/a")" "$(sha256sum <"$BATS_TEST_TMPDIR/ref")"
	run t_io open "$MNT/b" rdonly check 0 $((256 * KIB)) size close
	assert_output "open: ok
check 0 262144: ok
size: 262144
close: ok"
}

check_truncate_past_size() {
	mount_limited "$1" size=1m
	run t_io open "$MNT/t" rdwr,creat ftruncate $((MIB + 1)) ftruncate $((4 * MIB)) \
		truncate "$MNT/t" $((MIB + 4096)) size ftruncate $MIB size close
	assert_success
	assert_output "open: ok
ftruncate 1048577: EFBIG
ftruncate 4194304: EFBIG
truncate 1052672: EFBIG
size: 0
ftruncate 1048576: ok
size: 1048576
close: ok"
	run truncate -s 2M "$MNT/u"
	assert_failure
	assert_output --partial "File too large"
	run stat -c %s "$MNT/u"
	assert_output 0
	# Fill what is left; then allocating more fails.
	run t_io truncate "$MNT/t" 0 open "$MNT/t" rdwr pwrite 0 $((1020 * KIB)) \
		fallocate 0 $((1024 * KIB)) fallocate $((1020 * KIB)) 8192 close
	assert_output "truncate 0: ok
open: ok
pwrite 0 1044480: 1044480
fallocate 0 1048576: ok
fallocate 1044480 8192: ENOSPC
close: ok"
	if [ "$STORE_KIND" = dir ]; then
		# The daemon charges a segment's whole length, holes included.
		run t_io open "$MNT/v" rdwr,creat ftruncate 4096 size close
		assert_output "open: ok
ftruncate 4096: ENOSPC
size: 0
close: ok"
	else
		run t_io open "$MNT/v" rdwr,creat fallocate 0 4096 size close
		assert_output "open: ok
fallocate 0 4096: ENOSPC
size: 0
close: ok"
	fi
}

check_nr_inodes() {
	mount_limited "$1" nr_inodes=3
	run t_io open "$MNT/a" wronly,creat close mkdir "$MNT/d" \
		open "$MNT/d/b" wronly,creat pwrite 0 10 close \
		open "$MNT/c" wronly,creat mkdir "$MNT/e" open "$MNT/d/c" wronly,creat,excl \
		open "$MNT/a" wronly,creat close
	assert_success
	assert_output "open: ok
close: ok
mkdir: ok
open: ok
pwrite 0 10: 10
close: ok
open: ENOSPC
mkdir: ENOSPC
open: ENOSPC
open: ok
close: ok"
	run ln -s a "$MNT/l"
	assert_failure
	assert_output --partial "No space left on device"
	run stat -f -c '%c %d' "$MNT"
	assert_output "3 0"
	run df --output=itotal,iused,iavail "$MNT"
	assert_line --index 1 --regexp '^ *3 +3 +0$'
	assert_equal "$(status_of inodes_used) $(status_of inodes_limit)" "3 3"
	# A removed name makes room for a new one; the old data is intact.
	rm "$MNT/a"
	printf 'new' >"$MNT/c"
	run cat "$MNT/c"
	assert_output "new"
	run t_io open "$MNT/d/b" rdonly check 0 10 close
	assert_output "open: ok
check 0 10: ok
close: ok"
	run t_io open "$MNT/f" wronly,creat
	assert_output "open: ENOSPC"
}

check_df() {
	mount_limited "$1" size=4m,nr_inodes=50
	head -c 300000 /dev/urandom >"$MNT/a"
	head -c 5000 /dev/urandom >"$MNT/b"
	mkdir "$MNT/d"
	local want=$(((300000 + 4095) / 4096 * 4096 + 8192))
	run df -B1 --output=size,used,avail "$MNT"
	assert_success
	local size used avail
	read -r size used avail <<<"${lines[1]}"
	assert_equal "$size" $((4 * MIB))
	# Within two pages of what was written (the store may keep a little more).
	((used >= want && used <= want + 8192)) || fail "df: used $used, written $want"
	assert_equal "$avail" $((size - used))
	run df --output=itotal,iused "$MNT"
	assert_line --index 1 --regexp '^ *50 +3$'
	assert_equal "$(status_of bytes_used)" "$used"
	assert_equal "$(status_of bytes_limit)" $((4 * MIB))
	rm "$MNT/a"
	run df -B1 --output=used "$MNT"
	((lines[1] >= 8192 && lines[1] <= 16384)) || fail "df after rm: used ${lines[1]}"
}

check_free_makes_room() {
	mount_limited "$1" size=1m
	run t_io open "$MNT/a" wronly,creat pwrite 0 $((768 * KIB)) close \
		open "$MNT/b" wronly,creat pwrite 0 $((256 * KIB)) close \
		open "$MNT/c" wronly,creat pwrite 0 4096 close
	assert_output "open: ok
pwrite 0 786432: 786432
close: ok
open: ok
pwrite 0 262144: 262144
close: ok
open: ok
pwrite 0 4096: ENOSPC
close: ok"
	rm "$MNT/a"
	run t_io open "$MNT/c" wronly pwrite 0 $((768 * KIB)) pwrite $((768 * KIB)) 4096 close
	assert_output "open: ok
pwrite 0 786432: 786432
pwrite 786432 4096: ENOSPC
close: ok"
	run t_io truncate "$MNT/b" 4096 open "$MNT/c" rdwr pwrite $((768 * KIB)) $((252 * KIB)) \
		pwrite $((1020 * KIB)) 1 check 0 $((1020 * KIB)) close
	assert_output "truncate 4096: ok
open: ok
pwrite 786432 258048: 258048
pwrite 1044480 1: ENOSPC
check 0 1044480: ok
close: ok"
	run t_io open "$MNT/b" rdonly check 0 4096 size close
	assert_output "open: ok
check 0 4096: ok
size: 4096
close: ok"
}

check_mmap_past_size() {
	local out
	mount_limited "$1" size=1m
	run t_io open "$MNT/a" wronly,creat pwrite 0 $((768 * KIB)) close
	assert_output "open: ok
pwrite 0 786432: 786432
close: ok"
	run timeout 60 "$SHMFS_TEST_BIN/t_mapfill" "$MNT/b" $((768 * KIB))
	if [ "$(expected_path)" = cached ]; then
		assert_failure 2
		assert_output --partial "No space left on device"
		run timeout 60 "$SHMFS_TEST_BIN/t_mapfill" "$MNT/b" $((256 * KIB))
		assert_success
		assert_output "stored 262144
msync: ok"
	else
		assert_success
		assert_output "sigbus 262144
msync: ok"
	fi
	# The daemon is alive and serving; the mount is still full.
	kill -0 "$SHMFS_PID"
	assert_equal "$(status_of bytes_used)" $MIB
	run t_io open "$MNT/a" rdonly check 0 $((768 * KIB)) close
	assert_output "open: ok
check 0 786432: ok
close: ok"
	rm "$MNT/a" "$MNT/b"
	run timeout 60 "$SHMFS_TEST_BIN/t_mapfill" "$MNT/c" $((1 * MIB))
	assert_success
	assert_output "stored 1048576
msync: ok"
	run od -An -tu1 -j $((255 * 4096)) -N 1 "$MNT/c"
	assert_output --regexp '^ +0$'
	out=$(od -An -tu1 -j $((254 * 4096)) -N 1 "$MNT/c")
	assert_equal "${out// /}" 255
}

# --- tests ------------------------------------------------------------------

@test "size= on the tmpfs store: a write past the limit is cut short, then ENOSPC; data intact" {
	check_write_past_size tmpfs
}

@test "size= on a directory store: a write past the limit is cut short, then ENOSPC; data intact" {
	check_write_past_size dir
}

@test "size= on the tmpfs store: truncate past the limit is EFBIG, allocation past it ENOSPC" {
	check_truncate_past_size tmpfs
}

@test "size= on a directory store: truncate past the limit is EFBIG, past the free space ENOSPC" {
	check_truncate_past_size dir
}

@test "nr_inodes= on the tmpfs store: a name past the limit is ENOSPC; rm makes room" {
	check_nr_inodes tmpfs
}

@test "nr_inodes= on a directory store: a name past the limit is ENOSPC; rm makes room" {
	check_nr_inodes dir
}

@test "df on the tmpfs store shows the limits and the usage" {
	check_df tmpfs
}

@test "df on a directory store shows the limits and the usage" {
	check_df dir
}

@test "freeing space on the tmpfs store (rm, truncate down) makes room again" {
	check_free_makes_room tmpfs
}

@test "freeing space on a directory store (rm, truncate down) makes room again" {
	check_free_makes_room dir
}

@test "mmap past size= on the tmpfs store: SIGBUS (passthrough) or a refused truncate (cached), never a hang; the daemon lives" {
	check_mmap_past_size tmpfs
}

@test "mmap on a directory store cannot reach past size=; the daemon lives" {
	check_mmap_past_size dir
}

@test "passthrough=on with size= on a directory store fails with a clear message" {
	requires passthrough
	mkdir -p "$BATS_TEST_TMPDIR/m"
	run --separate-stderr "$SHMFS" mount -o passthrough=on,size=1m,store="$BATS_TEST_TMPDIR/store" \
		"$BATS_TEST_TMPDIR/m"
	assert_failure 1
	assert_equal "$stderr" "shmfs: passthrough=on cannot enforce size= on a directory store; use the default store or passthrough=off"
	run shmfs_is_mounted "$BATS_TEST_TMPDIR/m"
	assert_failure
	# nr_inodes= alone is kept by the daemon on any data path.
	shmfs_mount -o nr_inodes=2,store="$BATS_TEST_TMPDIR/store"
	assert_equal "$(status_of data_path)" "$(expected_path)"
	run t_io open "$MNT/a" wronly,creat close open "$MNT/b" wronly,creat close \
		open "$MNT/c" wronly,creat
	assert_output "open: ok
close: ok
open: ok
close: ok
open: ENOSPC"
}

@test "shmfs status: data path, store, segments, bytes, limit and open handles follow the mount" {
	mount_limited tmpfs size=2m
	local key
	key=$(store_key "$MNT")
	run "$SHMFS" status --raw "$MNT"
	assert_success
	assert_line "pid=$SHMFS_PID"
	assert_line "mountpoint=$MNT"
	assert_line "data_path=$(expected_path)"
	assert_line "store=/run/shmfs/$key"
	assert_line "store_kind=tmpfs"
	assert_line "segments=0"
	assert_line "bytes_used=0"
	assert_line "bytes_limit=$((2 * MIB))"
	assert_line "open_handles=0"
	head -c 300000 /dev/urandom >"$MNT/a"
	mkdir "$MNT/d"
	head -c 5000 /dev/urandom >"$MNT/d/b"
	assert_equal "$(status_of segments)" 2
	assert_equal "$(status_of bytes_used)" $((74 * 4096 + 2 * 4096))
	exec 5<"$MNT/a" 6<>"$MNT/d/b"
	wait_status open_handles 2
	run "$SHMFS" status "$MNT"
	assert_success
	assert_line "mountpoint:    $MNT"
	assert_line "data path:     $(expected_path)"
	assert_line "store:         /run/shmfs/$key (tmpfs)"
	assert_line "segments:      2"
	assert_line "memory:        304.0 KiB of 2.0 MiB"
	assert_line "open handles:  2"
	exec 5<&- 6<&-
	wait_status open_handles 0
	truncate -s 4096 "$MNT/a"
	assert_equal "$(status_of bytes_used)" $((4096 + 2 * 4096))
	rm "$MNT/a" "$MNT/d/b"
	assert_equal "$(status_of segments)" 0
	assert_equal "$(status_of bytes_used)" 0
}

@test "shmfs status on a directory store: the daemon's own count of bytes and names" {
	mount_limited dir size=1m,nr_inodes=10
	run "$SHMFS" status --raw "$MNT"
	assert_line "data_path=cached"
	assert_line "store=$BATS_TEST_TMPDIR/store"
	assert_line "store_kind=directory"
	assert_line "bytes_used=0"
	assert_line "bytes_limit=$MIB"
	assert_line "inodes_used=0"
	assert_line "inodes_limit=10"
	head -c 10000 /dev/urandom >"$MNT/a"
	truncate -s 100000 "$MNT/b"
	assert_equal "$(status_of segments)" 2
	assert_equal "$(status_of inodes_used)" 2
	# Holes are charged: b costs its whole length.
	assert_equal "$(status_of bytes_used)" $((3 * 4096 + 25 * 4096))
	exec 5<"$MNT/a"
	wait_status open_handles 1
	exec 5<&-
	wait_status open_handles 0
	rm "$MNT/b"
	assert_equal "$(status_of bytes_used)" $((3 * 4096))
	assert_equal "$(status_of inodes_used)" 1
	assert_equal "$(status_of segments)" 1
}
