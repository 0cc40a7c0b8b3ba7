#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The tools never hang on a daemon that does not answer: status and
# umount give up on a stopped daemon after a few seconds, say so, and
# umount -l still detaches; umount --discard waits for the store's lock
# for as long as whoever holds it runs, and never for a stopped process.

bats_require_minimum_version 1.5.0

load helpers

teardown() {
	# A stopped daemon never exits: let it go before the unmount waits for it.
	local pid
	for pid in "${SHMFS_PIDS[@]}"; do
		[ -z "$pid" ] || kill -CONT "$pid" 2>/dev/null || true
	done
	shmfs_teardown
}

status_field() {
	"$SHMFS" status --raw "$MNT" | sed -n "s/^$1=//p"
}

# Stop the daemon and wait until every thread of it has stopped: a thread
# still running could take the next request before it stops.
stop_daemon() {
	local i t all
	kill -STOP "$SHMFS_PID"
	for ((i = 0; i < 600; i++)); do
		all=1
		for t in /proc/"$SHMFS_PID"/task/*/stat; do
			[ "$(sed 's/.*) \(.\).*/\1/' "$t")" = T ] || all=0
		done
		[ "$all" = 0 ] || return 0
		sleep 0.05
	done
	fail "the daemon did not stop"
}

NO_ANSWER="does not answer (no status within 5 s: is it stopped?)"

@test "status and status --raw on a stopped daemon give up in one line" {
	shmfs_mount
	stop_daemon
	local raw
	for raw in "" --raw; do
		run --separate-stderr timeout 60 "$SHMFS" status $raw "$MNT"
		assert_failure 1
		assert_output ""
		assert_equal "$stderr" "shmfs: the daemon of '$MNT' $NO_ANSWER"
	done
	kill -CONT "$SHMFS_PID"
	run status_field pid
	assert_output "$SHMFS_PID"
}

@test "umount and umount -l on a stopped daemon say so and unmount; it exits 0 when continued" {
	local lazy
	for lazy in "" -l; do
		shmfs_mount
		echo kept >"$MNT/seg"
		stop_daemon
		run --separate-stderr timeout 60 "$SHMFS" umount $lazy "$MNT"
		assert_success
		assert_equal "$stderr" "shmfs: the daemon of '$MNT' $NO_ANSWER; unmounting without it"
		run shmfs_is_mounted "$MNT"
		assert_failure
		kill -CONT "$SHMFS_PID"
		shmfs_umount
		shmfs_mount
		run cat "$MNT/seg"
		assert_output "kept"
		shmfs_umount
		SHMFS_MOUNTS=()
		SHMFS_PIDS=()
	done
	"$SHMFS" discard "$MNT"
}

@test "umount --discard on a stopped daemon unmounts, names the stopped holder and keeps the store" {
	shmfs_mount
	local store
	store=$(status_field store)
	echo kept >"$MNT/seg"
	stop_daemon
	run --separate-stderr timeout 60 "$SHMFS" umount --discard "$MNT"
	assert_failure 1
	assert_equal "${stderr_lines[0]}" "shmfs: the daemon of '$MNT' $NO_ANSWER; unmounting without it"
	assert_equal "${stderr_lines[1]}" "shmfs: store '$store' is held by process $SHMFS_PID, which is stopped; not waiting for it ('kill -CONT $SHMFS_PID' lets it finish)"
	[ "${#stderr_lines[@]}" -eq 2 ]
	run shmfs_is_mounted "$MNT"
	assert_failure
	run cat "$store/root/seg"
	assert_output "kept"
	kill -CONT "$SHMFS_PID"
	shmfs_umount
	run "$SHMFS" discard "$MNT"
	assert_success
	[ ! -e "$store" ] || fail "the store is still there"
}

@test "umount --discard waits for the store's lock for as long as its holder runs" {
	requires cmd:python3
	shmfs_mount
	local store fd holder umounter i
	store=$(status_field store)
	for fd in /proc/"$SHMFS_PID"/fd/*; do
		[ "$(readlink "$fd")" != "$store/lock" ] || break
	done
	[ "$(readlink "$fd")" = "$store/lock" ] || fail "no lock descriptor in the daemon"
	# Another process takes a copy of the daemon's lock descriptor (the
	# same open file, so the same flock) and keeps it until told to go:
	# the store stays locked after the daemon has exited.
	mkfifo "$BATS_TEST_TMPDIR/go"
	python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
pidfd = os.pidfd_open(int(sys.argv[1]))
if libc.syscall(438, pidfd, int(sys.argv[2]), 0) < 0:	# pidfd_getfd
    sys.exit("pidfd_getfd: " + os.strerror(ctypes.get_errno()))
print("holding", flush=True)
open(sys.argv[3]).read()' "$SHMFS_PID" "${fd##*/}" "$BATS_TEST_TMPDIR/go" \
		>"$BATS_TEST_TMPDIR/holder.out" 2>&1 &
	holder=$!
	BG_PIDS+=("$holder")
	for ((i = 0; i < 600; i++)); do
		[ ! -s "$BATS_TEST_TMPDIR/holder.out" ] || break
		sleep 0.05
	done
	run cat "$BATS_TEST_TMPDIR/holder.out"
	assert_output "holding"
	"$SHMFS" umount --discard "$MNT" >"$BATS_TEST_TMPDIR/umount.out" 2>&1 &
	umounter=$!
	for ((i = 0; i < 600; i++)); do
		grep -q "waiting for" "$BATS_TEST_TMPDIR/umount.out" && break
		kill -0 "$umounter" 2>/dev/null || break
		sleep 0.05
	done
	run cat "$BATS_TEST_TMPDIR/umount.out"
	assert_output "shmfs: waiting for process $holder to release store '$store'"
	kill -0 "$umounter" || fail "umount --discard gave up while the lock's holder ran"
	[ -e "$store/root" ] || fail "the store went while it was locked"
	echo go >"$BATS_TEST_TMPDIR/go"
	local rc=0
	wait "$umounter" || rc=$?
	assert_equal "$rc" 0
	[ ! -e "$store" ] || fail "the store is still there"
	SHMFS_MOUNTS=()
	shmfs_umount
}
