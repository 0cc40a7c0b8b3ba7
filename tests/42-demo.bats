#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The two-application scenario: separate processes share segment
# "MemoryFile" through libshmfs (shmfs-demo-writer, shmfs-demo-reader), the
# Python and shell examples take part, and the Commands/Results pattern runs
# over mailboxes (shmfs-demo-server, shmfs-demo-client) and over flock plus
# inotify (commands-results.sh).
# modes: passthrough cached

load helpers

: "${SHMFS_BUILD_DIR:=$BATS_TEST_DIRNAME/../build}"
DEMO=$SHMFS_BUILD_DIR/contrib/demo
EXAMPLES=$BATS_TEST_DIRNAME/../contrib/examples

ONE_TO_26="1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26"
ELEVEN_TO_36="11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36"

setup() {
	shmfs_mount
	export SHMFS_DIR=$MNT
}

# background LOG CMD...: start CMD in the background, output to LOG, with a
# bounded life; BG_PID.
background() {
	local log=$1
	shift
	timeout "$SHMFS_TEST_BOUND" "$@" >"$log" 2>&1 3>&- &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

# wait_for_line LOG REGEX: wait (at most 10 s) until LOG has such a line.
wait_for_line() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		kill -0 "$BG_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$1" >&2
	fail "no line matching '$2' in $1"
}

# wait_for_inotify PID: wait (at most 10 s) until the command that PID (a
# timeout) runs has an inotify watch.
wait_for_inotify() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -qs '^inotify wd:' /proc/"$1"/fdinfo/* \
			$(sed 's|[0-9]*|/proc/&/fdinfo/*|g' /proc/"$1"/task/*/children 2>/dev/null) &&
			return 0
		sleep 0.05
	done
	fail "process $1 set up no inotify watch"
}

@test "reader before any writer: the segment does not exist yet" {
	run "$DEMO/shmfs-demo-reader"
	assert_failure 1
	assert_output "shmfs-demo-reader: segment 'MemoryFile' does not exist yet: run shmfs-demo-writer first"
}

@test "writer, then reader in another process: the bytes 1..26" {
	run "$DEMO/shmfs-demo-writer"
	assert_success
	assert_output "wrote 'MemoryFile': $ONE_TO_26"
	run "$DEMO/shmfs-demo-reader"
	assert_success
	assert_output "$ONE_TO_26"
	# Plain tools see the same 26 bytes through the mount.
	run stat -c %s "$MNT/MemoryFile"
	assert_output "26"
	run od -An -tu1 -w26 "$MNT/MemoryFile"
	assert_success
	assert_output " $(printf '%3d ' $(seq 1 26) | sed 's/ $//')"
}

@test "writer --add 10 adds 10 to each byte, as every reader then sees" {
	run "$DEMO/shmfs-demo-writer"
	assert_success
	run "$DEMO/shmfs-demo-writer" --add 10
	assert_success
	assert_output "updated 'MemoryFile': $ELEVEN_TO_36"
	run "$DEMO/shmfs-demo-reader"
	assert_success
	assert_output "$ELEVEN_TO_36"
	run "$DEMO/shmfs-demo-writer" --add -10
	assert_success
	run "$DEMO/shmfs-demo-reader"
	assert_success
	assert_output "$ONE_TO_26"
	run "$DEMO/shmfs-demo-writer" --add ten
	assert_failure 2
	assert_output --partial "--add wants a number"
}

@test "reader --wait blocks until a writer creates the segment" {
	background "$BATS_TEST_TMPDIR/reader.log" "$DEMO/shmfs-demo-reader" --wait 60
	reader=$BG_PID
	wait_for_inotify "$reader"
	# Still waiting: nothing has created the segment.
	kill -0 "$reader"
	[ ! -e "$MNT/MemoryFile" ]
	run "$DEMO/shmfs-demo-writer"
	assert_success
	status=0
	wait "$reader" || status=$?
	assert_equal "$status" 0
	run cat "$BATS_TEST_TMPDIR/reader.log"
	assert_output "$ONE_TO_26"
}

@test "reader --wait waits out a segment that exists but is not filled yet" {
	run "$SHMFS" create MemoryFile 10
	assert_success
	run "$DEMO/shmfs-demo-reader"
	assert_failure 1
	assert_output "shmfs-demo-reader: segment 'MemoryFile' is shorter than 26 bytes: its writer has not filled it yet"
	background "$BATS_TEST_TMPDIR/reader.log" "$DEMO/shmfs-demo-reader" --wait 60
	reader=$BG_PID
	wait_for_inotify "$reader"
	run "$DEMO/shmfs-demo-writer"
	assert_success
	status=0
	wait "$reader" || status=$?
	assert_equal "$status" 0
	run cat "$BATS_TEST_TMPDIR/reader.log"
	assert_output "$ONE_TO_26"
}

@test "reader --wait gives up when nothing comes" {
	run "$DEMO/shmfs-demo-reader" --wait 0.2
	assert_failure 1
	assert_output "shmfs-demo-reader: segment 'MemoryFile' did not appear within 0.2 seconds"
	run "$DEMO/shmfs-demo-reader" --wait soon
	assert_failure 2
	assert_output --partial "--wait wants seconds"
}

@test "the Python example and the C demo share the same bytes" {
	run python3 "$EXAMPLES/memoryfile.py" read
	assert_failure 1
	assert_output --partial "segment 'MemoryFile' does not exist yet"
	run "$DEMO/shmfs-demo-writer"
	assert_success
	run python3 "$EXAMPLES/memoryfile.py" read
	assert_success
	assert_output "$ONE_TO_26"
	run python3 "$EXAMPLES/memoryfile.py" write --add 10
	assert_success
	assert_output "updated 'MemoryFile': $ELEVEN_TO_36"
	run "$DEMO/shmfs-demo-reader"
	assert_success
	assert_output "$ELEVEN_TO_36"
}

@test "Commands/Results over mailboxes: shmfs-demo-server and shmfs-demo-client" {
	run "$DEMO/shmfs-demo-client" upper hello
	assert_failure 1
	assert_output "shmfs-demo-client: mailbox demo/Commands does not exist: start shmfs-demo-server first"
	background "$BATS_TEST_TMPDIR/server.log" "$DEMO/shmfs-demo-server"
	server=$BG_PID
	wait_for_line "$BATS_TEST_TMPDIR/server.log" '^serving demo/Commands$'
	run "$DEMO/shmfs-demo-client" upper hello world
	assert_success
	assert_output "HELLO WORLD"
	run "$DEMO/shmfs-demo-client" sum 1 2 39
	assert_success
	assert_output "42"
	# The mailbox format is plain data: Python reads the last answer.
	run python3 "$EXAMPLES/mailbox.py" demo/Results
	assert_success
	assert_output --regexp '^2: [0-9.]+ 42$'
	run "$DEMO/shmfs-demo-client" stop
	assert_success
	assert_output "stopping"
	status=0
	wait "$server" || status=$?
	assert_equal "$status" 0
	run cat "$BATS_TEST_TMPDIR/server.log"
	assert_output "serving demo/Commands
upper hello world -> HELLO WORLD
sum 1 2 39 -> 42
stop -> stopping"
}

@test "Commands/Results in shell over queues: shmfs send and shmfs recv" {
	export PATH="$(dirname "$SHMFS"):$PATH"
	background "$BATS_TEST_TMPDIR/server.log" "$EXAMPLES/commands-results.sh" server
	server=$BG_PID
	wait_for_line "$BATS_TEST_TMPDIR/server.log" '^serving Commands$'
	run "$EXAMPLES/commands-results.sh" client upper hello
	assert_success
	assert_output "HELLO"
	run "$EXAMPLES/commands-results.sh" client sum 1 2 3
	assert_success
	assert_output "6"
	# Eight clients at once: each gets its own answer, exactly once.
	local i pids=()
	for i in 1 2 3 4 5 6 7 8; do
		"$EXAMPLES/commands-results.sh" client sum "$i" 100 \
			>"$BATS_TEST_TMPDIR/client.$i" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}"
	done
	for i in 1 2 3 4 5 6 7 8; do
		run cat "$BATS_TEST_TMPDIR/client.$i"
		assert_output "$((i + 100))"
	done
	run "$EXAMPLES/commands-results.sh" client stop
	assert_success
	assert_output "stopping"
	status=0
	wait "$server" || status=$?
	assert_equal "$status" 0
	run grep -c '^sum [1-8] 100$' "$BATS_TEST_TMPDIR/server.log"
	assert_success
	assert_output 8
	# The reply queues are gone; Commands stays, empty.
	run ls "$MNT"
	assert_success
	assert_output "Commands"
	run "$SHMFS" recv --timeout 0 Commands
	assert_failure 1
	assert_output "shmfs: no message on queue 'Commands'"
}

@test "shmfs send and recv: bytes as they are, timeouts, errors" {
	printf 'two\0bytes' | "$SHMFS" send q
	run bash -c '"$SHMFS" recv q | od -An -c'
	assert_success
	assert_output "   t   w   o  \\0   b   y   t   e   s"
	run "$SHMFS" recv --timeout 0.1 q
	assert_failure 1
	assert_output "shmfs: no message on queue 'q'"
	# recv blocks until a message comes.
	(sleep 0.3; echo late | "$SHMFS" send q) &
	run "$SHMFS" recv q
	assert_success
	assert_output "late"
	run bash -c 'head -c 70000 /dev/zero | "$SHMFS" send --capacity 65536 small'
	assert_failure 1
	assert_output "shmfs: the message is larger than queue 'small' takes (65528 bytes)"
	echo x | "$SHMFS" send small
	run "$SHMFS" send --timeout 0.1 small </dev/null
	assert_success
	head -c 8192 /dev/urandom >"$MNT/plain"
	run "$SHMFS" recv plain
	assert_failure 1
	assert_output "shmfs: 'plain' is not a queue"
	run "$SHMFS" recv --timeout x q
	assert_failure 2
	assert_output "shmfs: invalid timeout 'x' (seconds)"
	run "$SHMFS" recv
	assert_failure 2
	assert_output "shmfs: usage: shmfs recv [--timeout S] QUEUE"
	run "$SHMFS" recv ../escape
	assert_failure 2
}
