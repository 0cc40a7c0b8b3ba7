#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Faults: the daemon killed under load loses nothing that was confirmed,
# signals end it cleanly, and a busy mount is not pulled from under its users.
# modes: passthrough cached poll

load helpers

# The daemon started by shmfs_mount is reaped here; teardown must not wait again.
forget_daemon() {
	local i
	for i in "${!SHMFS_PIDS[@]}"; do
		[ "${SHMFS_PIDS[$i]}" != "$SHMFS_PID" ] || SHMFS_PIDS[$i]=""
	done
}

# reap_daemon: wait (at most 10 s) for the daemon of shmfs_mount to end;
# its exit status is left in rc.
reap_daemon() {
	local i
	for ((i = 0; i < 200; i++)); do
		kill -0 "$SHMFS_PID" 2>/dev/null || break
		sleep 0.05
	done
	! kill -0 "$SHMFS_PID" 2>/dev/null || fail "the daemon is still running"
	rc=0
	wait "$SHMFS_PID" || rc=$?
	forget_daemon
}

# wait_lines FILE N: wait (at most 20 s) until FILE has N lines.
wait_lines() {
	local i
	for ((i = 0; i < 400; i++)); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -lt "$2" ] || return 0
		sleep 0.05
	done
	fail "'$1' did not reach $2 lines"
}

# A copy of the shmfs command that starts with SIGINT at its default: a
# background job of a script starts with SIGINT ignored, and libfuse leaves
# an ignored signal alone.
sigint_wrapper() {
	printf '#!/bin/sh\nexec env --default-signal=INT "%s" "$@"\n' "$SHMFS" \
		>"$BATS_TEST_TMPDIR/shmfs-sigint"
	chmod +x "$BATS_TEST_TMPDIR/shmfs-sigint"
	echo "$BATS_TEST_TMPDIR/shmfs-sigint"
}

@test "kill -9 under load: no writer hangs, every confirmed record survives" {
	local n=6 i rc pids=() logs=$BATS_TEST_TMPDIR/logs secs=8
	# A writer's time counts from its start and must outlast the wait for
	# all six, however slow the machine. A cached writer stops at the kill,
	# so its time only ends one that wrongly goes on: give it long. A
	# passthrough writer goes on until its time is up: keep that short.
	[ "$SHMFS_TEST_MODE" = passthrough ] || secs=60
	shmfs_mount
	mkdir "$logs"
	for ((i = 1; i <= n; i++)); do
		timeout "$SHMFS_TEST_BOUND" "$SHMFS_TEST_BIN/t_writer" write "$MNT/w$i" \
			"$logs/w$i" "$i" "$secs" 2>"$logs/err$i" 3>&- &
		pids+=($!)
	done
	for ((i = 1; i <= n; i++)); do
		wait_lines "$logs/w$i" 200
	done
	shmfs_kill9
	for ((i = 1; i <= n; i++)); do
		rc=0
		wait "${pids[$((i - 1))]}" || rc=$?
		echo "writer $i: exit $rc: $(cat "$logs/err$i")"
		case "$rc" in
		# ECANCELED: a request in flight on an io_uring whose daemon died
		2) grep -Eq ': (ENOTCONN|ECONNABORTED|ECANCELED|EIO)$' "$logs/err$i" ||
			fail "writer $i failed with an unexpected error" ;;
		3) ;;	# a short write: that record is not confirmed
		4) # Passthrough writes go straight to the store's pages and
		   # do not need the daemon; cached ones must fail.
			[ "$SHMFS_TEST_MODE" = passthrough ] ||
				fail "writer $i kept writing through a dead cached mount" ;;
		124) fail "writer $i hung" ;;
		*) fail "writer $i: unexpected exit $rc" ;;
		esac
	done
	run cat "$MNT/w1"
	assert_failure
	# ECONNABORTED: with io_uring the kernel ends the connection a moment
	# after the daemon's death, and fails what was queued in between.
	assert_output --regexp "Transport endpoint is not connected|Software caused connection abort"
	shmfs_mount
	for ((i = 1; i <= n; i++)); do
		run "$SHMFS_TEST_BIN/t_writer" check "$MNT/w$i" "$logs/w$i" "$i"
		assert_success
		assert_output --regexp "^writer $i: [0-9]+ confirmed records intact$"
	done
}

@test "kill -9 after a mmap store and a truncate: the store keeps both" {
	shmfs_mount
	dd if=/dev/urandom of="$BATS_TEST_TMPDIR/src" bs=64k count=32 status=none
	cp "$BATS_TEST_TMPDIR/src" "$MNT/mapped"
	run python3 -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 2 << 20)
m[4096:4101] = b"HELLO"
m.flush()
os.ftruncate(fd, 1 << 20)
print("done")' "$MNT/mapped"
	assert_success
	assert_output "done"
	shmfs_kill9
	shmfs_mount
	run stat -c %s "$MNT/mapped"
	assert_success
	assert_output "1048576"
	run dd if="$MNT/mapped" bs=1 skip=4096 count=5 status=none
	assert_success
	assert_output "HELLO"
	run cmp -n 4096 "$BATS_TEST_TMPDIR/src" "$MNT/mapped"
	assert_success
}

@test "SIGTERM to the daemon unmounts cleanly and it exits 0" {
	shmfs_mount
	printf 'kept' >"$MNT/seg"
	kill -TERM "$SHMFS_PID"
	reap_daemon
	[ "$rc" -eq 0 ] || { cat "$SHMFS_LOG"; fail "daemon exited $rc after SIGTERM"; }
	run shmfs_is_mounted "$MNT"
	assert_failure
	shmfs_mount
	run cat "$MNT/seg"
	assert_success
	assert_output "kept"
}

@test "SIGINT to the daemon unmounts cleanly and it exits 0" {
	SHMFS=$(sigint_wrapper) shmfs_mount
	run grep '^SigIgn:' "/proc/$SHMFS_PID/status"
	assert_success
	(((0x${output##*[[:space:]]} & 2) == 0)) || fail "SIGINT is still ignored"
	kill -INT "$SHMFS_PID"
	reap_daemon
	[ "$rc" -eq 0 ] || { cat "$SHMFS_LOG"; fail "daemon exited $rc after SIGINT"; }
	run shmfs_is_mounted "$MNT"
	assert_failure
}

@test "SIGTERM to a background daemon (no -f) unmounts cleanly" {
	local bg=$BATS_TEST_TMPDIR/bg pid i
	mkdir -p "$bg"
	run "$SHMFS" mount -o "$(shmfs_mode_option)" "$bg"
	assert_success
	assert_output ""
	SHMFS_MOUNTS+=("$bg")
	SHMFS_PIDS+=("")
	pid=$("$SHMFS" status --raw "$bg" | sed -n 's/^pid=//p')
	[ -n "$pid" ] && kill -0 "$pid"
	kill -TERM "$pid"
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	run kill -0 "$pid"
	assert_failure
	run shmfs_is_mounted "$bg"
	assert_failure
}

@test "umount with a process inside exits 1, says busy and names -l; -l then works" {
	local holder i
	shmfs_mount
	mkdir "$MNT/dir"
	(cd "$MNT/dir" && exec sleep 60) 3>&- &
	holder=$!
	for ((i = 0; i < 100; i++)); do
		[ "$(readlink "/proc/$holder/cwd" 2>/dev/null)" != "$MNT/dir" ] || break
		sleep 0.05
	done
	run "$SHMFS" umount "$MNT"
	assert_failure 1
	assert_output --partial "busy"
	assert_output --partial "umount -l"
	run shmfs_is_mounted "$MNT"
	assert_success
	run stat -c %F "$MNT/dir"
	assert_success
	assert_output "directory"
	run "$SHMFS" umount -l "$MNT"
	assert_success
	assert_output ""
	run shmfs_is_mounted "$MNT"
	assert_failure
	kill "$holder"
	wait "$holder" || true
	# The daemon ends once the last user is gone; teardown requires exit 0.
	reap_daemon
	[ "$rc" -eq 0 ] || { cat "$SHMFS_LOG"; fail "daemon exited $rc after umount -l"; }
}

@test "umount with an open file exits 1; umount -l then works and the file still reads" {
	shmfs_mount
	printf 'open' >"$MNT/held"
	exec 5<"$MNT/held"
	run "$SHMFS" umount "$MNT"
	assert_failure 1
	assert_output --partial "busy"
	assert_output --partial "umount -l"
	run cat "$MNT/held"
	assert_success
	assert_output "open"
	run "$SHMFS" umount -l "$MNT"
	assert_success
	assert_output ""
	run shmfs_is_mounted "$MNT"
	assert_failure
	run cat <&5
	assert_success
	assert_output "open"
	exec 5<&-
	reap_daemon
	[ "$rc" -eq 0 ] || { cat "$SHMFS_LOG"; fail "daemon exited $rc after umount -l"; }
}
