#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The core's unit tests (tests/unit/): each program links the core alone,
# with no mount and no libfuse, works in a scratch directory of its own
# and ends with a tally of its checks. One test each, and the store and
# the transient rules once more as an unprivileged user, whose stores
# and scratch files are checked by the same rules from the other side.
# resources: dev_fuse

bats_require_minimum_version 1.5.0

load helpers

teardown() {
	users_del
}

# unit NAME [USER]: run tests/unit/unit_NAME in a scratch directory and
# check that all its checks passed.
unit() {
	local scratch=$BATS_TEST_TMPDIR/scratch
	mkdir "$scratch"
	if [ -n "${2:-}" ]; then
		let_users_in
		chown "$2:" "$scratch"
	fi
	run as "${2:-root}" timeout "$SHMFS_TEST_BOUND" "$SHMFS_TEST_BIN/unit/unit_$1" "$scratch"
	assert_success
	[[ ${lines[-1]} =~ ^$1:\ all\ [0-9]+\ checks\ passed$ ]]
	refute_output --partial FAIL
}

@test "unit: quota: costs, what a tree holds, charges, refunds, statfs, racing writers" {
	unit quota
}

@test "unit: segment: growths under size=, short writes, reserved holes, EFBIG" {
	unit segment
}

@test "unit: inode table: lookups counted, the root kept, colliding keys, descriptors, data descriptors bounded" {
	unit inode
}

@test "unit: pins: per-user shares and a total, thousands of users coming and going" {
	unit pins
}

@test "unit: store: open, locked, counted, discarded; planted links and open directories refused" {
	unit store
	[ "$(id -u)" != 0 ] || refute_output --partial "not root"
}

@test "unit: tmpfs options: huge= and mpol= as tmpfs reads them, the kernel's verdict, read back" {
	unit tmpfs_options
	[ "$(id -u)" != 0 ] || refute_output --partial "not root"
}

@test "unit: walk: links not followed, deeper than PATH_MAX, removals and moves under the walk" {
	unit walk
}

@test "unit: transient: the unlink rule, the mark, who may mark, the removal" {
	unit transient
}

@test "unit: usage: a dear walk is made seldom and never waited for; the mapping scan" {
	unit usage
}

@test "unit: store and transient rules as an unprivileged user" {
	requires root
	users_add UA
	unit store "$UA"
	assert_line "store: not root, another user's objects left out"
	rm -rf "$BATS_TEST_TMPDIR/scratch"
	unit transient "$UA"
}
