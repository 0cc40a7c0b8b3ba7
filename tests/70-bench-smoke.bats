#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# modes: passthrough cached
#
# The benchmark, at toy sizes: every shmfs-bench workload runs on a shmfs
# mount, prints its figures and checks the bytes it reads back; a wrong
# byte makes it fail; run-bench mounts, measures and cleans up after
# itself. No figure is asserted, only that each is printed.

load helpers

setup() {
	: "${SHMFS_BUILD_DIR:=$BATS_TEST_DIRNAME/../build}"
	BENCH="$SHMFS_BUILD_DIR/contrib/bench/shmfs-bench"
	[ -x "$BENCH" ] || fail "shmfs-bench not built at '$BENCH'"
	TINY=(--seq-size 4m --block 256k --mmap-size 4m --duration 0.02)
	NUM='[0-9]+\.[0-9]'
}

# run-bench unmounted everything it mounted under BATS_TEST_TMPDIR, and removed its directory.
assert_bench_left_nothing() {
	run grep -c "$BATS_TEST_TMPDIR/shmfs-bench" /proc/self/mountinfo
	assert_failure 1
	assert_output 0
	run find "$BATS_TEST_TMPDIR" -maxdepth 1 -name 'shmfs-bench.*'
	assert_success
	assert_output ""
}

@test "seq: write, read, re-read of 1 MiB-class blocks, every word checked" {
	shmfs_mount
	run "$BENCH" "${TINY[@]}" -w seq "$MNT"
	assert_success
	assert_line --regexp "^seq-write +$NUM MB/s +4 MiB in 256 KiB writes"
	assert_line --regexp "^seq-overwrite +$NUM MB/s +4 MiB in 256 KiB writes"
	assert_line --regexp "^seq-read +$NUM MB/s .*every word checked"
	assert_line --regexp "^seq-reread +$NUM MB/s .*every word checked"
	run ls -A "$MNT"
	assert_success
	assert_output ""
}

@test "small: 64-byte pwrite then pread on one descriptor, reads checked" {
	shmfs_mount
	run "$BENCH" "${TINY[@]}" --small-file 4k -w small "$MNT"
	assert_success
	assert_line --regexp "^pwrite64 +$NUM ops/s +[1-9][0-9]* writes over 64 offsets"
	assert_line --regexp "^pread64 +$NUM ops/s .*all checked"
}

@test "mmap: stores through MAP_SHARED are seen by a second process" {
	shmfs_mount
	run "$BENCH" "${TINY[@]}" -w mmap "$MNT"
	assert_success
	assert_line --regexp "^mmap-store +$NUM MB/s +4 MiB"
	assert_line --regexp "^mmap-read +$NUM MB/s +second process: .*: ok,"
}

@test "msg: the 26-byte open/write/close, open/read/close cycle" {
	shmfs_mount
	run "$BENCH" "${TINY[@]}" -w msg "$MNT"
	assert_success
	assert_line --regexp "^msg26 +$NUM cyc/s +[1-9][0-9]* cycles"
	run ls -A "$MNT"
	assert_success
	assert_output ""
}

@test "create: segments created, sized, closed and unlinked" {
	shmfs_mount
	run "$BENCH" "${TINY[@]}" -w create "$MNT"
	assert_success
	assert_line --regexp "^create-unlink +$NUM ops/s +[1-9][0-9]* segments of 4096 bytes"
	run ls -A "$MNT"
	assert_success
	assert_output ""
}

@test "rand: random 8-byte loads over a mapping, each checked, and its share of huge pages" {
	shmfs_mount
	run "$BENCH" "${TINY[@]}" --rand-size 4m -w rand "$MNT"
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp "^rand8 +$NUM loads/s +[1-9][0-9]* random 8-byte loads over 4 MiB, all checked"
	assert_line --index 1 --regexp "^rand-pmd +$NUM % +of the mapping in huge pages$"
	run ls -A "$MNT"
	assert_success
	assert_output ""
	run "$BENCH" --rand-size 3m -w rand "$MNT"
	assert_failure 2
	assert_output --partial "--rand-size of 2m"
}

@test "all workloads in one run print twelve figures" {
	shmfs_mount
	run "$BENCH" "${TINY[@]}" "$MNT"
	assert_success
	assert_equal "${#lines[@]}" 12
	run "$BENCH" --list
	assert_success
	assert_output $'seq\nsmall\nmmap\nmsg\ncreate\nwake\nrand'
}

@test "wake: a pipe round trip placed by the scheduler, then on one CPU" {
	run "$BENCH" -n 200 -w wake "$BATS_TEST_TMPDIR"
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 --regexp "^wake-rt +$NUM us +200 round trips, placed by the scheduler$"
	assert_line --index 1 --regexp "^wake-rt-1cpu +$NUM us +200 round trips, both on one CPU$"
}

@test "a corrupted byte fails each data workload with status 3" {
	shmfs_mount
	local w
	for w in seq small mmap msg rand; do
		run "$BENCH" "${TINY[@]}" --rand-size 4m --inject-fault -w "$w" "$MNT"
		assert_failure 3
		assert_output --partial "wrong data"
	done
}

@test "bad command lines are refused" {
	run "$BENCH"
	assert_failure 2
	assert_output --partial "usage: shmfs-bench"
	run "$BENCH" -w nosuch "$BATS_TEST_TMPDIR"
	assert_failure 2
	assert_output --partial "unknown workload 'nosuch'"
	run "$BENCH" --seq-size 3m --block 2m "$BATS_TEST_TMPDIR"
	assert_failure 2
	assert_output --partial "multiple of --block"
	run "$BENCH" "$BATS_TEST_TMPDIR/missing"
	assert_failure 1
	assert_output --partial "cannot open directory"
}

@test "run-bench: one quick round on tmpfs and shmfs, then nothing left" {
	# run-bench mounts both data paths itself: once per ctest run is enough.
	[ "$SHMFS_TEST_MODE" = cached ] || skip "run in the cached-mode pass only"
	SHMFS_BENCH=$BENCH TMPDIR=$BATS_TEST_TMPDIR run \
		"$BATS_TEST_DIRNAME/../contrib/bench/run-bench" --quick \
		--seq-size 8m --mmap-size 8m --duration 0.02 --markdown
	assert_success
	assert_line --regexp '^\| workload \| unit \| tmpfs \|.* shmfs cached \| ratio \|$'
	local m
	for m in seq-write seq-overwrite seq-read seq-reread pwrite64 pread64 mmap-store \
		mmap-read msg26 create-unlink; do
		assert_line --regexp "^\| $m \| [a-zA-Z/]+ \| [0-9,.]+ \|"
	done
	assert_line --regexp "^A pipe round trip between two processes takes $NUM us here \($NUM us with both on one CPU\)"
	refute_line --regexp "^\| wake"

	assert_bench_left_nothing
}

@test "run-bench -w rand: 4 KiB pages and huge=within_size, each against its own tmpfs, then nothing left" {
	[ "$SHMFS_TEST_MODE" = cached ] || skip "run in the cached-mode pass only"
	SHMFS_BENCH=$BENCH TMPDIR=$BATS_TEST_TMPDIR run \
		"$BATS_TEST_DIRNAME/../contrib/bench/run-bench" --quick -w rand --rand-size 8m \
		--duration 0.02 --markdown
	assert_success
	assert_line --regexp '^\| rand8 \| loads/s \| [0-9,.]+ \| .* \| - \| - \|$'
	assert_line --regexp '^\| rand-pmd \| % \| [0-9,.]+ \|'
	if [ "$(id -u)" = 0 ] && grep -qw within_size \
		/sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null; then
		assert_line --regexp '^\| rand8-huge \| loads/s \| [0-9,.]+ \| [0-9,.]+ \| [0-9.]+ \| - \| - \|$'
		assert_line --regexp '^\| rand-pmd-huge \| % \| [0-9,.]+ \|'
	fi
	assert_line --regexp '^rand8, rand-pmd: over 8m, '
	assert_bench_left_nothing
}

@test "msgbench: mailbox, queue and zero-copy queue against socketpair, pipe, mq and memcpy, every message checked" {
	shmfs_mount
	local mb="$SHMFS_BUILD_DIR/contrib/bench/shmfs-msgbench" t
	run "$mb" --rounds 1 --duration 0.02 --sizes 26,70000 "$MNT"
	assert_success
	for t in mailbox queue queue-zc; do
		assert_line --regexp "^26 B +$t +[0-9,]+ +[0-9.]+ +[0-9,.]+ +[0-9.]+ +[0-9.]+$"
		assert_line --regexp "^70 KB +$t +[0-9,]+ +[0-9.]+ +[0-9,.]+ +[0-9.]+ +[0-9.]+$"
	done
	assert_line --regexp "^70 KB +socketpair +[0-9,]+ +1.00 +[0-9,.]+ +1.00 +[0-9.]+$"
	assert_line --regexp "^70 KB +memcpy +- +- +[0-9,.]+ +[0-9.]+ +1.00$"
	assert_line --regexp "^POSIX mq: /proc/sys/fs/mqueue/msgsize_max is [0-9]+ here"
	run ls -A "$MNT"
	assert_success
	assert_output ""
}

@test "run-msgbench: mounts, measures, leaves nothing mounted" {
	[ "$SHMFS_TEST_MODE" = cached ] || skip "run in the cached-mode pass only"
	TMPDIR=$BATS_TEST_TMPDIR run "$SHMFS_BUILD_DIR/contrib/bench/run-msgbench" \
		--rounds 1 --duration 0.02 --sizes 4096 --markdown
	assert_success
	assert_line "| size | transport | round trips/s | ÷ socket | one-way MB/s | ÷ socket | ÷ memcpy |"
	assert_line --regexp '^\| 4 KiB \| queue \| [0-9,]+ \| [0-9.]+ \| [0-9,.]+ \| [0-9.]+ \| [0-9.]+ \|$'
	run grep -c "$BATS_TEST_TMPDIR/shmfs-msgbench" /proc/self/mountinfo
	assert_failure 1
	assert_output 0
	run find "$BATS_TEST_TMPDIR" -maxdepth 1 -name 'shmfs-msgbench.*'
	assert_success
	assert_output ""
}
