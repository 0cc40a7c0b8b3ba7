#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Sharing between processes: a mapping in one process and read(), write()
# or a mapping in another see each other's stores at once; a reader that
# holds the segment open sees a later writer's change.
# modes: passthrough cached poll

load helpers

: "${SHMFS_BUILD_DIR:=$BATS_TEST_DIRNAME/../build}"
DEMO=$SHMFS_BUILD_DIR/contrib/demo

setup() {
	shmfs_mount
	export SHMFS_DIR=$MNT
}

@test "mmap in one process, pread/pwrite and a second mapping in another: every store seen at once" {
	run "$SHMFS_TEST_BIN/t_mmap" "$MNT/shared" 20000
	assert_success
	assert_output --regexp '^t_mmap: [0-9]+ stores seen by both processes$'
	[ "$(stat -c %s "$MNT/shared")" -eq 20000 ]
}

@test "mmap sharing on a segment of many pages, one not page aligned in size" {
	run "$SHMFS_TEST_BIN/t_mmap" "$MNT/big" $((256 * 4096 + 123))
	assert_success
	assert_output --regexp '^t_mmap: [0-9]+ stores seen by both processes$'
}

@test "MemoryFile: a reader that keeps its mapping sees a second writer add 10" {
	local go=$BATS_TEST_TMPDIR/go out=$BATS_TEST_TMPDIR/reader.out
	run "$DEMO/shmfs-demo-writer"
	assert_success
	# The first reader: maps the segment, reads it, and holds the mapping
	# and its descriptor until told to read again.
	timeout "$SHMFS_TEST_BOUND" python3 - "$MNT/MemoryFile" "$go" >"$out" 2>&1 3>&- <<-'EOF' &
	import mmap, os, sys, time
	fd = os.open(sys.argv[1], os.O_RDONLY)
	m = mmap.mmap(fd, 26, prot=mmap.PROT_READ)
	print(*m[:26])
	sys.stdout.flush()
	open(sys.argv[2] + ".ready", "w").close()
	while not os.path.exists(sys.argv[2]):
	    time.sleep(0.02)
	print(*m[:26])
	print(*os.pread(fd, 26, 0))
	EOF
	BG_PIDS+=($!)
	wait_for "$go.ready"
	# A second writer, another process, adds 10 to each byte.
	run "$DEMO/shmfs-demo-writer" --add 10
	assert_success
	touch "$go"
	wait "${BG_PIDS[0]}"
	run cat "$out"
	assert_output "$(seq -s ' ' 1 26)
$(seq -s ' ' 11 36)
$(seq -s ' ' 11 36)"
}

@test "a process that wrote 1..26 and still maps it sees another process add 10" {
	local go=$BATS_TEST_TMPDIR/go out=$BATS_TEST_TMPDIR/writer.out
	timeout "$SHMFS_TEST_BOUND" python3 - "$MNT/MemoryFile" "$go" >"$out" 2>&1 3>&- <<-'EOF' &
	import mmap, os, sys, time
	fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
	os.ftruncate(fd, 26)
	m = mmap.mmap(fd, 26)
	m[:26] = bytes(range(1, 27))
	open(sys.argv[2] + ".ready", "w").close()
	while not os.path.exists(sys.argv[2]):
	    time.sleep(0.02)
	print(*m[:26])
	EOF
	BG_PIDS+=($!)
	wait_for "$go.ready"
	run "$DEMO/shmfs-demo-reader"
	assert_success
	assert_output "$(seq -s ' ' 1 26)"
	run "$DEMO/shmfs-demo-writer" --add 10
	assert_success
	touch "$go"
	wait "${BG_PIDS[0]}"
	run cat "$out"
	assert_output "$(seq -s ' ' 11 36)"
}
