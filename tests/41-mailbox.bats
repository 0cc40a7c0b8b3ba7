#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# libshmfs on a real mount, in both data paths: segments, views and locks
# between processes, and the mailbox under load (one publisher, many
# readers, every message whole, futex wake-ups across processes).
# modes: passthrough cached poll

load helpers

setup() {
	shmfs_mount
	export SHMFS_DIR=$MNT
}

@test "segments on a mount: open modes, growing, flock, robust mutexes" {
	run "$SHMFS_TEST_BIN/lib_segment" modes subdirs grow flock mutex
	assert_success
	assert_output --regexp '^lib_segment: all [0-9]+ checks passed$'
}

@test "segments on a mount: the transient mark" {
	requires transient
	run "$SHMFS_TEST_BIN/lib_segment" transient
	assert_success
	assert_output --regexp '^lib_segment: all [0-9]+ checks passed$'
}

@test "views on a mount: bounds, unaligned offsets, strings, two processes" {
	run "$SHMFS_TEST_BIN/lib_view"
	assert_success
	assert_output --regexp '^lib_view: all [0-9]+ checks passed$'
}

@test "mailbox contract on a mount" {
	run "$SHMFS_TEST_BIN/lib_mailbox" basic
	assert_success
	assert_output --regexp '^lib_mailbox basic: all [0-9]+ checks passed$'
}

@test "a reader blocked in shmfs_mailbox_wait wakes when another process publishes" {
	run "$SHMFS_TEST_BIN/lib_mailbox" wake
	assert_success
	assert_output --regexp '^lib_mailbox wake: all [0-9]+ checks passed$'
}

@test "stress: 100000 messages up to 500 KB, 4 reader processes, none torn, every wait woke within 1 s" {
	run "$SHMFS_TEST_BIN/lib_mailbox" stress 100000 4
	assert_success
	assert_line "stress: published 100000 messages (100 of about 500 KB) to 4 readers"
	assert_line --regexp '^reader 0 \(waiting\): [0-9]+ whole messages, last 100000, [0-9]+ waits \([0-9]+ blocked\), each woke within 1 s$'
	assert_line --regexp '^reader 1 \(spinning\): [0-9]+ whole messages, last 100000$'
	assert_line --regexp '^reader 2 \(waiting\): [0-9]+ whole messages, last 100000, [0-9]+ waits \([0-9]+ blocked\), each woke within 1 s$'
	assert_line --regexp '^reader 3 \(spinning\): [0-9]+ whole messages, last 100000$'
	assert_line --regexp '^lib_mailbox stress: all [0-9]+ checks passed$'
	# The segment is gone, and the mount still works.
	run ls -A "$MNT"
	assert_success
	assert_output ""
}
