#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The libshmfs queue on a real mount, in both data paths: its contract,
# wake-ups across processes, a million messages from several producers,
# producers and consumers killed with SIGKILL at random moments, and
# hostile header contents.
# modes: passthrough cached

load helpers

setup() {
	shmfs_mount
	export SHMFS_DIR=$MNT
}

@test "queue contract: open, order across the ring's end, full and empty, timeouts, zero-copy both ways" {
	run "$SHMFS_TEST_BIN/lib_queue" basic
	assert_success
	assert_output --regexp '^lib_queue basic: all [0-9]+ checks passed$'
}

@test "a consumer blocked on empty and a producer blocked on full wake within 1 s" {
	run "$SHMFS_TEST_BIN/lib_queue" wake
	assert_success
	assert_output --regexp '^lib_queue wake: all [0-9]+ checks passed$'
}

@test "1000000 messages from 4 producer processes: each producer's in order, none lost or repeated" {
	run "$SHMFS_TEST_BIN/lib_queue" order 1000000 4
	assert_success
	assert_line "order: 1000000 messages from 4 producers, each in order, none lost or repeated"
	assert_line --regexp '^lib_queue order: all [0-9]+ checks passed$'
	run ls -A "$MNT"
	assert_success
	assert_output ""
}

@test "producers killed with SIGKILL at random moments: every committed message arrives, whole, in order" {
	run "$SHMFS_TEST_BIN/lib_queue" kill-producer 20
	assert_success
	assert_line "kill-producer: 20 producers killed; every committed message arrived whole and in order"
	assert_line --regexp '^lib_queue kill-producer: all [0-9]+ checks passed$'
}

@test "consumers killed with SIGKILL during zero-copy reads: nothing twice, each loss reported" {
	run "$SHMFS_TEST_BIN/lib_queue" kill-consumer 20 zero
	assert_success
	assert_line "kill-consumer (zero-copy): 20 consumers killed; no message twice, at most one missing per kill, each reported"
	assert_line --regexp '^lib_queue kill-consumer: all [0-9]+ checks passed$'
}

@test "consumers killed with SIGKILL during copying receives: nothing twice" {
	run "$SHMFS_TEST_BIN/lib_queue" kill-consumer 20 copy
	assert_success
	assert_line "kill-consumer (copy): 20 consumers killed; no message twice, at most one missing per kill"
	assert_line --regexp '^lib_queue kill-consumer: all [0-9]+ checks passed$'
}

@test "a corrupted header gives errors, never a crash or a hang; locks of dead owners are taken over" {
	run "$SHMFS_TEST_BIN/lib_queue" corrupt 2000
	assert_success
	assert_line "corrupt: 2000 rounds of random header words, only errors"
	assert_line --regexp '^lib_queue corrupt: all [0-9]+ checks passed$'
}
