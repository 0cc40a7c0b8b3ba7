#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Transient segments go when the last process has closed and unmapped them.
# modes: passthrough cached poll

load helpers

setup() {
	shmfs_mount
}

@test "a transient segment goes with its last close" {
	requires transient
	exec 5>"$MNT/t"
	run "$SHMFS_TEST_BIN/t_io" open "$MNT/t" rdonly mark close
	assert_output "open: ok
mark: ok
close: ok"
	echo data >&5
	run cat "$MNT/t"
	assert_output "data"
	exec 5>&-
	run wait_gone "$MNT/t"
	assert_success
	run ls -A "$MNT"
	assert_output ""
}

@test "a transient segment stays while a process maps it" {
	requires transient
	printf 'mapped!' >"$MNT/m"
	exec 5<"$MNT/m"		# so that marking it is not its last close
	run "$SHMFS_TEST_BIN/t_io" open "$MNT/m" rdonly mark close
	assert_output "open: ok
mark: ok
close: ok"
	[ -e "$MNT/m" ]
	timeout "$SHMFS_TEST_BOUND" python3 - "$MNT/m" "$BATS_TEST_TMPDIR/go" 3>&- <<-'EOF' &
	import mmap, os, sys, time
	fd = os.open(sys.argv[1], os.O_RDWR)
	m = mmap.mmap(fd, 7)
	os.close(fd)
	open(sys.argv[2] + ".mapped", "w").close()
	while not os.path.exists(sys.argv[2]):
	    time.sleep(0.02)
	m.close()
	EOF
	pid=$!
	BG_PIDS+=("$pid")
	wait_for "$BATS_TEST_TMPDIR/go.mapped" "$SHMFS_TEST_BOUND"
	exec 5<&-
	sleep 1.2	# longer than the daemon's re-check interval
	run cat "$MNT/m"
	assert_success
	assert_output "mapped!"
	touch "$BATS_TEST_TMPDIR/go"
	wait "$pid"
	run wait_gone "$MNT/m"
	assert_success
}

@test "persistent segments are the default" {
	printf 'stay' >"$MNT/p"
	cat "$MNT/p" >/dev/null
	sleep 1
	run cat "$MNT/p"
	assert_success
	assert_output "stay"
}
