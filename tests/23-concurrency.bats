#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Concurrency: many processes write self-checking records to shared
# segments at once, by pwrite and through MAP_SHARED mappings, while others
# read them with read(); afterwards every record the writers logged is
# there, whole, and the flock-protected counter is the sum of its
# increments. The workers are tests/t_hammer.c; their logs live outside
# the mount. Each run lasts HAMMER_SECONDS (default 3), and longer on a
# machine too slow for each writer to do enough in that time to prove
# anything (t_hammer's MIN_RECORDS and MIN_INCREMENTS).
# modes: passthrough cached poll

load helpers

: "${HAMMER_SECONDS:=3}"

H=$SHMFS_TEST_BIN/t_hammer
REGION=24576		# REGION_BYTES in t_hammer.c
CREC=56			# CREC_SIZE
CAPACITY=400000		# records the counter file holds

setup() {
	LOGS=$BATS_TEST_TMPDIR/logs
	mkdir -p "$LOGS"
}

# wait_all NAME...: wait for the jobs whose pids are in PIDS, with their
# names; print the output of each and fail if any failed or hung.
wait_all() {
	local i rc bad=0
	for i in "${!PIDS[@]}"; do
		rc=0
		wait "${PIDS[$i]}" || rc=$?
		echo "${NAMES[$i]}: exit $rc: $(cat "$LOGS/${NAMES[$i]}.out")"
		[ "$rc" -ne 124 ] || echo "${NAMES[$i]} hung"
		[ "$rc" -eq 0 ] || bad=1
	done
	PIDS=()
	NAMES=()
	[ "$bad" -eq 0 ] || fail "a worker failed"
}

# spawn NAME CMD...: run CMD in the background, bounded, output to a file.
spawn() {
	local name=$1
	shift
	timeout 60 "$@" >"$LOGS/$name.out" 2>&1 3>&- &
	PIDS+=($!)
	NAMES+=("$name")
}

PIDS=()
NAMES=()

# start_regions: 8 writers, four in each of two segments, and a reader of each.
start_regions() {
	local seg i
	for seg in A B; do
		truncate -s $((4 * REGION)) "$MNT/seg$seg"
		for ((i = 0; i < 4; i++)); do
			spawn "region$seg$i" "$H" region "$MNT/seg$seg" "$i" "$HAMMER_SECONDS" \
				"$LOGS/region$seg$i.log"
		done
		spawn "scan$seg" "$H" scan "$MNT/seg$seg" 4 "$HAMMER_SECONDS"
	done
}

check_regions() {
	local seg i
	for seg in A B; do
		for ((i = 0; i < 4; i++)); do
			run "$H" region-check "$MNT/seg$seg" "$i" "$LOGS/region$seg$i.log"
			assert_success
			assert_output --regexp "^region $i: [0-9]+ logged records, every slot holds its last one$"
			# Far more records than slots: every slot was overwritten.
			[ "$(wc -l <"$LOGS/region$seg$i.log")" -gt 256 ] ||
				fail "writer $seg$i wrote too little to prove anything"
		done
	done
}

# start_counter: 8 writers of the flock-protected counter and one reader.
start_counter() {
	local i
	truncate -s $((64 + CAPACITY * CREC)) "$MNT/counter"
	for ((i = 1; i <= 8; i++)); do
		spawn "counter$i" "$H" counter "$MNT/counter" "$i" "$HAMMER_SECONDS" \
			"$LOGS/counter$i.log"
	done
	spawn counterscan "$H" counter-scan "$MNT/counter" "$HAMMER_SECONDS"
}

check_counter() {
	local i logs=()
	for ((i = 1; i <= 8; i++)); do
		logs+=("$LOGS/counter$i.log")
		[ "$(wc -l <"$LOGS/counter$i.log")" -gt 16 ] ||
			fail "counter writer $i made too few increments to prove anything"
	done
	run "$H" counter-check "$MNT/counter" "${logs[@]}"
	assert_success
	assert_output --regexp "^counter-check: [0-9]+ records from 8 writers, counter [0-9]+ is their sum$"
	# The records are the logs' lines, no more and no fewer.
	[ "${output#counter-check: }" != "$output" ]
	[ "$(cat "${logs[@]}" | wc -l)" -eq "$(echo "$output" | awk '{print $2}')" ]
}

@test "8 writers in their own regions of 2 segments, pwrite and mmap under record locks; read() readers never see a torn record" {
	shmfs_mount
	start_regions
	wait_all
	# Both ways of writing were used by every writer.
	for f in "$LOGS"/region??.out; do
		grep -Eq ': [1-9][0-9]* records written, [1-9][0-9]* through the mapping$' "$f" ||
			fail "$(basename "$f" .out) did not write both by pwrite and by mmap"
	done
	check_regions
}

@test "8 writers of one flock-protected counter and record log, pwrite and mmap: none lost, none torn, the counter is the sum" {
	shmfs_mount
	start_counter
	wait_all
	for f in "$LOGS"/counter?.out; do
		grep -Eq ': [1-9][0-9]* increments, [1-9][0-9]* through the mapping' "$f" ||
			fail "$(basename "$f" .out) did not write both by pwrite and by mmap"
	done
	check_counter
}

@test "regions and counter at once, then again after a remount: every record still checks out" {
	shmfs_mount
	start_regions
	start_counter
	wait_all
	check_regions
	check_counter
	# A fresh mount reads the store, not the old page cache.
	shmfs_umount
	SHMFS_MOUNTS=()
	SHMFS_PIDS=()
	shmfs_mount
	check_regions
	check_counter
}

@test "the checks fail when a record is damaged or missing" {
	shmfs_mount
	truncate -s $((4 * REGION)) "$MNT/seg"
	run "$H" region "$MNT/seg" 1 0.2 "$LOGS/r1.log"
	assert_success
	run "$H" region-check "$MNT/seg" 1 "$LOGS/r1.log"
	assert_success
	# One byte of slot 5 of region 1 changed through the mount (to another
	# value: the record may already hold any byte there).
	local at=$((REGION + 5 * 328 + 100)) byte
	byte=$(dd if="$MNT/seg" bs=1 skip=$at count=1 status=none | od -An -tu1)
	printf "\\$(printf %o $(((byte + 1) % 256)))" |
		dd of="$MNT/seg" bs=1 seek=$at conv=notrunc status=none
	[ "$(dd if="$MNT/seg" bs=1 skip=$at count=1 status=none | od -An -tu1)" != "$byte" ]
	run "$H" region-check "$MNT/seg" 1 "$LOGS/r1.log"
	assert_failure 1
	assert_output --partial "region 1 slot 5 (offset $((REGION + 5 * 328))) does not hold"
	# A scan sees the same damage.
	run "$H" scan "$MNT/seg" 4 0.2
	assert_failure 1
	assert_output --partial "torn or foreign record in region 1 slot 5"

	truncate -s $((64 + 1000 * CREC)) "$MNT/counter"
	run "$H" counter "$MNT/counter" 1 0.2 "$LOGS/c1.log"
	assert_success
	run "$H" counter-check "$MNT/counter" "$LOGS/c1.log"
	assert_success
	# A logged increment that the file does not hold is lost.
	cp "$LOGS/c1.log" "$LOGS/c1+.log"
	echo "999999 1 1" >>"$LOGS/c1+.log"
	run "$H" counter-check "$MNT/counter" "$LOGS/c1+.log"
	assert_failure 1
	assert_output --partial "writer 1 logged increment 999999, which is not in the file"
	# A damaged record in the middle.
	printf 'X' | dd of="$MNT/counter" bs=1 seek=$((64 + 3 * CREC + 30)) conv=notrunc status=none
	run "$H" counter-check "$MNT/counter" "$LOGS/c1.log"
	assert_failure 1
	assert_output --partial "record 3 (offset $((64 + 3 * CREC))) is damaged"
}
