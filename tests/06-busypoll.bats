#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Busy polling of /dev/fuse (-o busy_poll=USEC): shown by status, idle
# when nothing asks, and a long request never holds up the short ones
# (the suites with the "poll" mode run the data path with it).

load helpers

cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

@test "busy_poll: status shows it; without it there is no polling" {
	shmfs_mount -o busy_poll=50
	run "$SHMFS" status --raw "$MNT"
	assert_line "busy_poll_us=50"
	run "$SHMFS" status "$MNT"
	assert_line --regexp "^busy polling: +50 us$"
	shmfs_umount
	SHMFS_TEST_POLL= shmfs_mount
	run "$SHMFS" status --raw "$MNT"
	assert_line "busy_poll_us=0"
	run "$SHMFS" status "$MNT"
	refute_line --partial "busy polling"
}

@test "busy_poll: the daemon polls only while requests come" {
	local i before after
	shmfs_mount -o busy_poll=1000
	for ((i = 0; i < 300; i++)); do
		printf '%d' "$i" >"$MNT/seg" || fail "write $i"
	done
	[ "$(cat "$MNT/seg")" = 299 ] || fail "wrong data"
	sleep 0.2
	before=$(cpu_ticks "$SHMFS_PID")
	sleep 2
	after=$(cpu_ticks "$SHMFS_PID")
	# A daemon polling all along would use about 200 ticks (2 s).
	[ $((after - before)) -lt 20 ] ||
		fail "the idle daemon used $((after - before)) ticks in 2 s"
}

@test "busy_poll, cached: a 64 MiB copy in and out while another process opens a segment 2000 times" {
	local i sum
	SHMFS_TEST_MODE=cached shmfs_mount -o busy_poll=50
	head -c $((64 << 20)) /dev/urandom >"$BATS_TEST_TMPDIR/big"
	sum=$(sha256sum <"$BATS_TEST_TMPDIR/big")
	echo small >"$MNT/small"
	(
		for ((i = 0; i < 2000; i++)); do
			[ "$(cat "$MNT/small")" = small ] || exit 1
		done
	) &
	BG_PIDS+=($!)
	cp "$BATS_TEST_TMPDIR/big" "$MNT/big"
	echo 3 >/proc/sys/vm/drop_caches
	[ "$(sha256sum <"$MNT/big")" = "$sum" ] || fail "the copy differs"
	wait "${BG_PIDS[-1]}" || fail "the opens failed"
	BG_PIDS=()
}

@test "busy_poll: an open that waits behind a long fallocate holds up no other segment" {
	local falloc reader i
	SHMFS_TEST_MODE=cached shmfs_mount -o busy_poll=50
	echo small >"$MNT/small"
	: >"$MNT/big"
	[ "$(df -B1 --output=avail "$MNT" | tail -n 1)" -ge $((8 << 30)) ] ||
		skip "the store has no room for 8 GiB"
	# Allocating 8 GiB takes the big segment's lock for a second or more
	# (measured first: a machine where it is much quicker cannot tell);
	# an open of it then waits for that lock.
	local t0=$EPOCHREALTIME
	fallocate -l 8G "$MNT/big"
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a >= 1.0) }' ||
		skip "allocating 8 GiB takes under a second here"
	truncate -s 0 "$MNT/big"
	fallocate -l 8G "$MNT/big" &
	falloc=$!
	BG_PIDS+=("$falloc")
	sleep 0.2
	cat "$MNT/big" >/dev/null &
	reader=$!
	BG_PIDS+=("$reader")
	sleep 0.2
	for ((i = 0; i < 20; i++)); do
		[ "$(cat "$MNT/small")" = small ] || fail "open $i of another segment failed"
	done
	kill -0 "$falloc" 2>/dev/null || fail "the opens waited for the fallocate"
	wait "$falloc" || fail "fallocate failed"
	wait "$reader" || fail "the read of the big segment failed"
	BG_PIDS=()
	rm "$MNT/big"
}
