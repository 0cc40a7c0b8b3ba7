#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The command line's errors and answers: every mistake is one line on
# stderr and the documented exit status (2 usage, 1 system), --help and
# --version say what they should, and a failed mount never harms a store.

bats_require_minimum_version 1.5.0

load helpers

# The version CMake was configured with.
project_version() {
	sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$SHMFS_BUILD_DIR/CMakeCache.txt"
}

# A mountpoint that nothing is mounted on.
fresh_dir() {
	mkdir -p "$BATS_TEST_TMPDIR/$1"
	realpath "$BATS_TEST_TMPDIR/$1"
}

@test "an unknown command is a usage error naming it" {
	run --separate-stderr "$SHMFS" frobnicate
	assert_failure 2
	assert_output ""
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"unknown command 'frobnicate'"* ]]
}

@test "no command at all prints the usage on stderr" {
	run --separate-stderr "$SHMFS"
	assert_failure 2
	assert_output ""
	[[ ${stderr_lines[0]} == "Usage: shmfs COMMAND"* ]]
}

@test "--help lists every command and option on stdout" {
	local word
	for flag in --help -h; do
		run --separate-stderr "$SHMFS" "$flag"
		assert_success
		[ -z "$stderr" ]
		for word in "shmfs mount" "shmfs umount" "shmfs status" "shmfs discard" \
			"shmfs create" "shmfs ls" "shmfs rm" size= nr_inodes= mode= uid= gid= \
			store= passthrough= allow_other --version; do
			assert_output --partial "$word"
		done
	done
}

@test "--version prints the configured version" {
	local version
	version=$(project_version)
	[ -n "$version" ]
	for flag in --version -V; do
		run --separate-stderr "$SHMFS" "$flag"
		assert_success
		assert_output "shmfs $version"
		[ -z "$stderr" ]
	done
}

@test "an unknown -o option is a usage error naming it, and mounts nothing" {
	local dir
	dir=$(fresh_dir mnt)
	run --separate-stderr "$SHMFS" mount -o size=64m,bogus "$dir"
	assert_failure 2
	assert_output ""
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"'bogus'"* ]]
	refute shmfs_is_mounted "$dir"
}

@test "an unknown flag is a usage error naming it" {
	local dir
	dir=$(fresh_dir mnt)
	run --separate-stderr "$SHMFS" mount -x "$dir"
	assert_failure 2
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"'-x'"* ]]
	refute shmfs_is_mounted "$dir"
}

@test "bad option values are usage errors naming the option" {
	local dir opt
	dir=$(fresh_dir mnt)
	for opt in size=abc size=12q size=200% mode=99999 mode=rwx passthrough=maybe \
		uid=nosuchuser-shmfs gid=nosuchgroup-shmfs nr_inodes=lots store=; do
		run --separate-stderr "$SHMFS" mount -o "$opt" "$dir"
		assert_failure 2
		assert_output ""
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "'$opt': $stderr"
		[[ $stderr == *"'$opt'"* ]] || fail "'$opt' not named in: $stderr"
		refute shmfs_is_mounted "$dir"
	done
}

@test "mount without a mountpoint is a usage error" {
	run --separate-stderr "$SHMFS" mount -o size=1m
	assert_failure 2
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"no mountpoint"* ]]
}

@test "a mountpoint that does not exist is a system error" {
	run --separate-stderr "$SHMFS" mount "$BATS_TEST_TMPDIR/nowhere"
	assert_failure 1
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"nowhere"*"does not exist"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/nowhere" ]
}

@test "a mountpoint that is a file is a system error" {
	printf 'keep' >"$BATS_TEST_TMPDIR/file"
	run --separate-stderr "$SHMFS" mount "$BATS_TEST_TMPDIR/file"
	assert_failure 1
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"file"*"not a directory"* ]]
	run cat "$BATS_TEST_TMPDIR/file"
	assert_success
	assert_output "keep"
}

@test "mounting an already mounted mountpoint is a system error" {
	shmfs_mount
	printf 'first' >"$MNT/seg"
	run --separate-stderr "$SHMFS" mount "$MNT"
	assert_failure 1
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"already mounted"* ]]
	run cat "$MNT/seg"
	assert_success
	assert_output "first"
}

@test "umount, status and discard report their usage and system errors" {
	local dir
	dir=$(fresh_dir plain)
	run --separate-stderr "$SHMFS" umount
	assert_failure 2
	[[ $stderr == *"no mountpoint"* ]]
	run --separate-stderr "$SHMFS" umount --bogus "$dir"
	assert_failure 2
	[[ $stderr == *"'--bogus'"* ]]
	run --separate-stderr "$SHMFS" umount -l --discard "$dir"
	assert_failure 2
	[[ $stderr == *"cannot be lazy"* ]]
	run --separate-stderr "$SHMFS" umount "$dir"
	assert_failure 1
	[[ $stderr == *"is not a shmfs mount"* ]]
	run --separate-stderr "$SHMFS" status "$dir"
	assert_failure 1
	[[ $stderr == *"is not a shmfs mount"* ]]
	run --separate-stderr "$SHMFS" status
	assert_failure 2
	[[ $stderr == *"usage"* ]]
	run --separate-stderr "$SHMFS" discard
	assert_failure 2
	[[ $stderr == *"usage"* ]]
	run --separate-stderr "$SHMFS" discard "$dir"
	assert_failure 1
	[[ $stderr == *"there is no store"* ]]
}

@test "a failed mount attempt leaves the store intact" {
	local sum opt
	shmfs_mount -o size=64m
	head -c 1M /dev/urandom >"$BATS_TEST_TMPDIR/data"
	cp "$BATS_TEST_TMPDIR/data" "$MNT/segment"
	mkdir "$MNT/dir"
	printf 'small' >"$MNT/dir/other"
	sum=$(cat "$MNT/segment" "$MNT/dir/other" | md5sum)
	run "$SHMFS" mount "$MNT"
	assert_failure 1
	assert_output --partial "already mounted"
	shmfs_umount
	refute shmfs_is_mounted "$MNT"

	for opt in size=abc passthrough=maybe bogus uid=nosuchuser-shmfs; do
		run "$SHMFS" mount -o "$opt" "$MNT"
		assert_failure 2
		assert_output --partial "'$opt'"
		refute shmfs_is_mounted "$MNT"
	done
	run "$SHMFS" mount -o size=64m "$MNT" extra-argument
	assert_failure
	refute_output ""
	refute shmfs_is_mounted "$MNT"

	shmfs_mount "$MNT" -o size=64m
	run cmp "$BATS_TEST_TMPDIR/data" "$MNT/segment"
	assert_success
	assert_output ""
	run cat "$MNT/dir/other"
	assert_success
	assert_output "small"
	[ "$(cat "$MNT/segment" "$MNT/dir/other" | md5sum)" = "$sum" ]
}
