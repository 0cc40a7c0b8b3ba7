#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# FUSE over io_uring (-o uring=): requests are served by one pinned thread
# per CPU through an io_uring, and nothing hangs when the mount goes away.
# Needs root: the suite turns the fuse module's enable_uring on for its
# duration and puts back what it found.
# modes: passthrough cached
# resources: enable_uring

load helpers

PARAM=/sys/module/fuse/parameters/enable_uring

setup_file() {
	if [ "$(id -u)" = 0 ] && [ -w "$PARAM" ]; then
		cat "$PARAM" >"$BATS_FILE_TMPDIR/enable_uring.saved"
		echo Y >"$PARAM"
	fi
}

teardown_file() {
	if [ -f "$BATS_FILE_TMPDIR/enable_uring.saved" ]; then
		cat "$BATS_FILE_TMPDIR/enable_uring.saved" >"$PARAM"
	fi
}

setup() {
	requires root
	[ -e "$PARAM" ] || skip "kernel without FUSE over io_uring (needs 6.14+, CONFIG_FUSE_IO_URING)"
	[ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" != 2 ] ||
		skip "io_uring disabled by sysctl kernel.io_uring_disabled"
}

possible_cpus() {
	python3 - <<-'EOF'
	n = 0
	for part in open("/sys/devices/system/cpu/possible").read().strip().split(","):
	    a, _, b = part.partition("-")
	    n += int(b or a) - int(a) + 1
	print(n)
	EOF
}

@test "uring=on: status reports the ring, one queue per possible CPU" {
	shmfs_mount -o uring=on
	assert_equal "$(status_of uring)" on
	assert_equal "$(status_of uring_queues)" "$(possible_cpus)"
	run grep -F "requests: io_uring, $(possible_cpus) queues" "$SHMFS_LOG"
	assert_success
}

@test "uring=on: opens are served through the ring, by the opener's CPU's queue" {
	shmfs_mount -o uring=on
	local before after cpu i n
	before=$(status_of uring_requests)
	for ((i = 0; i < 50; i++)); do
		echo "$i" >"$MNT/f$i"
		run cat "$MNT/f$i"
		assert_output "$i"
	done
	after=$(status_of uring_requests)
	[ "$((after - before))" -ge 100 ] || fail "only $((after - before)) requests by io_uring"
	# Each CPU's opens land on that CPU's queue.
	n=$(possible_cpus)
	for ((cpu = 0; cpu < n; cpu++)); do
		taskset -c "$cpu" true 2>/dev/null || continue
		before=$(status_of uring_queue_requests | cut -d, -f$((cpu + 1)))
		taskset -c "$cpu" sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do cat "$1" >/dev/null; done' \
			sh "$MNT/f1"
		after=$(status_of uring_queue_requests | cut -d, -f$((cpu + 1)))
		[ "$((after - before))" -ge 10 ] ||
			fail "queue $cpu served $((after - before)) requests for 10 opens on CPU $cpu"
	done
}

uring_ops() {
	mkdir -p "$MNT/d/e"
	head -c 3000000 /dev/urandom >"$BATS_TEST_TMPDIR/src"
	cp "$BATS_TEST_TMPDIR/src" "$MNT/d/e/big"
	run cmp "$BATS_TEST_TMPDIR/src" "$MNT/d/e/big"
	assert_success
	printf 'abc' >"$MNT/d/s"
	truncate -s 10 "$MNT/d/s"
	assert_equal "$(stat -c %s "$MNT/d/s")" 10
	chmod 600 "$MNT/d/s"
	assert_equal "$(stat -c %a "$MNT/d/s")" 600
	mv "$MNT/d/s" "$MNT/d/t"
	ln -s t "$MNT/d/l"
	assert_equal "$(readlink "$MNT/d/l")" t
	ln "$MNT/d/t" "$MNT/d/h"
	# Refused without -o xattr: the answer travels the ring too.
	run setfattr -n user.k -v v "$MNT/d/t"
	assert_failure
	assert_output --partial "Operation not supported"
	run ls "$MNT/d"
	assert_output $'e\nh\nl\nt'
	rm -r "$MNT/d"
	run ls -A "$MNT"
	assert_output ""
	df "$MNT" >/dev/null
	[ "$(status_of uring_requests)" -gt 0 ]
}

@test "uring=on: data and metadata operations" {
	shmfs_mount -o uring=on
	uring_ops
}

@test "uring=on with busy_poll: data and metadata operations" {
	shmfs_mount -o uring=on,busy_poll=50
	assert_equal "$(status_of busy_poll_us)" 50
	uring_ops
}

@test "uring=on: a busy mount from many processes on every CPU" {
	shmfs_mount -o uring=on
	local i
	for ((i = 0; i < 8; i++)); do
		(for ((j = 0; j < 200; j++)); do
			echo "$i.$j" >"$MNT/p$i" && [ "$(cat "$MNT/p$i")" = "$i.$j" ] || exit 1
		done) &
	done
	for ((i = 0; i < 8; i++)); do
		wait -n || fail "a writer saw wrong data or an error"
	done
}

@test "uring=auto: the ring with passthrough, /dev/fuse in the cached path" {
	shmfs_mount -o uring=auto
	echo x >"$MNT/f"
	if [ "$(status_of data_path)" = passthrough ]; then
		assert_equal "$(status_of uring)" on
	else
		assert_equal "$(status_of uring)" off
		run grep -F "requests: /dev/fuse (the cached data path is faster" "$SHMFS_LOG"
		assert_success
	fi
}

@test "uring=off: requests come by /dev/fuse" {
	shmfs_mount -o uring=off
	echo x >"$MNT/f"
	assert_equal "$(status_of uring)" off
	assert_equal "$(status_of uring_requests)" 0
	run grep -F "requests: /dev/fuse (disabled by uring=off)" "$SHMFS_LOG"
	assert_success
}

@test "uring=on fails clearly when the kernel does not offer it; auto falls back" {
	[ -f "$BATS_FILE_TMPDIR/enable_uring.saved" ] || skip "cannot change $PARAM"
	echo N >"$PARAM"
	mkdir -p "$BATS_TEST_TMPDIR/m"
	run "$SHMFS" mount -o uring=on "$BATS_TEST_TMPDIR/m"
	echo Y >"$PARAM"
	assert_failure 1
	assert_output --partial "uring=on, but the kernel's FUSE over io_uring is disabled"
	shmfs_is_mounted "$BATS_TEST_TMPDIR/m" && fail "mounted anyway"
	echo N >"$PARAM"
	shmfs_mount -o uring=auto
	echo Y >"$PARAM"
	echo x >"$MNT/f"
	assert_equal "$(status_of uring)" off
}

@test "uring=on: umount ends the daemon at once, with status 0" {
	shmfs_mount -o uring=on
	echo x >"$MNT/f"
	timeout 10 umount "$MNT"
	run wait_pid_gone "$SHMFS_PID"
	assert_success
	shmfs_umount
}

@test "uring=on: shmfs umount and SIGTERM do not hang" {
	shmfs_mount -o uring=on
	echo x >"$MNT/f"
	run timeout 10 "$SHMFS" umount "$MNT"
	assert_success
	run wait_pid_gone "$SHMFS_PID"
	assert_success
	shmfs_umount
	shmfs_mount -o uring=on
	exec 7<"$MNT/f"		# busy: the unmount is lazy, the connection stays
	kill -TERM "$SHMFS_PID"
	run wait_pid_gone "$SHMFS_PID"
	exec 7<&-
	assert_success
	shmfs_umount
}

@test "uring=on: kill -9 of the daemon under load leaves a dead mount, no hang" {
	shmfs_mount -o uring=on
	local i pids=()
	for ((i = 0; i < 4; i++)); do
		(while echo x >"$MNT/k$i" && cat "$MNT/k$i" >/dev/null; do :; done) 2>/dev/null 3>&- &
		pids+=($!)
		BG_PIDS+=($!)
	done
	sleep 0.5
	shmfs_kill9
	for i in "${pids[@]}"; do	# the loops end with ENOTCONN
		wait_pid_gone "$i" || fail "a client hung after the daemon died"
	done
	run timeout 10 stat "$MNT/k0"
	[ "$status" -ne 124 ] || fail "stat hung on the dead mount"
	run timeout 10 "$SHMFS" mount -o uring=on "$MNT"
	assert_success
	assert_output --partial "detached the dead mount"
	SHMFS_PID=""
	run timeout 10 "$SHMFS" umount "$MNT"
	assert_success
}
