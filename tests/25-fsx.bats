#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# fsx (tests/fsx.c): a seeded random mix of pwrite, pread, truncate and
# MAP_SHARED reads and writes through two descriptors of one segment,
# checked against a model after every operation.
#
# The runs here are short. To run fsx longer by hand, mount a file system
# and point fsx at a file in it, e.g.
#
#   build/src/shmfs mount -o passthrough=off /tmp/m   # or passthrough=on
#   build/tests/fsx -n 1000000 -N 1000 /tmp/m/fsx     # new seed each run
#   build/tests/fsx -s SEED -n OPS /tmp/m/fsx         # replay a failure
#   build/tests/fsx -l 8388608 -o 1048576 -c 100 -n 200000 /tmp/m/big
#   build/src/shmfs umount /tmp/m
#
# -l sets the largest file size, -o the largest read or write, -N reopens
# both descriptors every N ops, -c compares the whole file every N ops.
# fsx prints its seed first; "fsx -s SEED -n OPS" replays a run exactly.
# FSX_OPS and FSX_SEEDS scale the runs below.
# modes: passthrough cached poll

load helpers

: "${FSX_OPS:=20000}"
: "${FSX_SEEDS:=1 2 3}"

FSX=$SHMFS_TEST_BIN/fsx

@test "fsx: default sizes, several seeds, no difference from the model" {
	local seed
	shmfs_mount
	for seed in $FSX_SEEDS; do
		run "$FSX" -s "$seed" -n "$FSX_OPS" "$MNT/fsx"
		assert_success
		assert_line --index 0 "fsx: seed $seed"
		assert_line --index 1 --regexp "^fsx: $FSX_OPS ops OK, seed $seed, final size [0-9]+$"
	done
}

@test "fsx: small file, short ops, reopening every 50 ops: page edges and holes" {
	shmfs_mount
	run "$FSX" -s 7 -n "$FSX_OPS" -l 20000 -o 5000 -N 50 "$MNT/small"
	assert_success
	assert_line --index 1 --regexp "^fsx: $FSX_OPS ops OK, seed 7"
}

@test "fsx: large file and 1 MiB ops, whole-file checks every 20 ops" {
	shmfs_mount
	run "$FSX" -s 11 -n $((FSX_OPS / 4)) -l $((8 << 20)) -o $((1 << 20)) -c 20 "$MNT/big"
	assert_success
	assert_line --index 1 --regexp "^fsx: $((FSX_OPS / 4)) ops OK, seed 11"
}

@test "fsx: without -s the seed comes from the clock and is printed first" {
	shmfs_mount
	run "$FSX" -n 100 "$MNT/fsx"
	assert_success
	assert_line --index 0 --regexp '^fsx: seed [0-9]+ \(from the clock\)$'
	seed=$(echo "${lines[0]}" | awk '{print $3}')
	assert_line --index 1 --regexp "^fsx: 100 ops OK, seed $seed, "
}

@test "fsx: a byte changed behind the model's back is caught at once, with op, offset and bytes" {
	shmfs_mount
	run "$FSX" -s 3 -n 2000 -X 700 "$MNT/fsx"
	assert_failure 1
	assert_line --regexp '^fsx: injected a fault after op 700 at offset [0-9]+$'
	off=$(echo "$output" | sed -n 's/^fsx: injected a fault after op 700 at offset //p')
	assert_line "fsx: FAILED at op 700 (full check via fd0): bad data at offset $off"
	assert_line --regexp '^fsx: expected @[0-9]+:( [0-9a-f]{2})+$'
	assert_line --regexp '^fsx: got      @[0-9]+:( [0-9a-f]{2})+$'
	assert_line 'fsx: the last 32 operations:'
	assert_line --regexp '^  op 700: '
	assert_line 'fsx: replay with: fsx -s 3 -n 700 ...'
}

@test "fsx -V: the file as left passes a replay, and fails once the store is changed under it" {
	shmfs_mount
	run "$FSX" -s 5 -n 3000 -N 200 "$MNT/fsx"
	assert_success
	size=$(stat -c %s "$MNT/fsx")
	[ "$size" -gt 100 ]
	store=$("$SHMFS" status --raw "$MNT" | sed -n 's/^store=//p')
	[ -f "$store/root/fsx" ]
	# The replay compares through a fresh mount: the bytes come from the store.
	shmfs_umount
	SHMFS_MOUNTS=()
	SHMFS_PIDS=()
	shmfs_mount
	run "$FSX" -s 5 -n 3000 -N 200 -V "$MNT/fsx"
	assert_success
	assert_line "fsx: the file matches the model after 3000 ops"
	# A different op count is a different model: the replay must notice.
	run "$FSX" -s 5 -n 1500 -N 200 -V "$MNT/fsx"
	assert_failure 1
	shmfs_umount
	SHMFS_MOUNTS=()
	SHMFS_PIDS=()
	off=$((size / 2))
	byte=$(od -An -tu1 -j "$off" -N1 "$store/root/fsx" | tr -d ' ')
	printf "\\$(printf '%03o' $(((byte + 1) % 256)))" |
		dd of="$store/root/fsx" bs=1 seek="$off" conv=notrunc status=none
	shmfs_mount
	run "$FSX" -s 5 -n 3000 -N 200 -V "$MNT/fsx"
	assert_failure 1
	assert_line "fsx: FAILED at op 3000 (full check via fd0): bad data at offset $off"
}
