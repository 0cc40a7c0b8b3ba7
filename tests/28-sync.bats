#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Sync means kept: msync(MS_SYNC), fsync and fdatasync succeed only when
# the bytes are in the store. In the cached path they reach the daemon,
# so once it is gone they fail (ENOTCONN or EIO) instead of the kernel
# answering 0 for stores that only its page cache holds. In the
# passthrough path the stores are in the store's own pages as they are
# made, so 0 is true even then.
# modes: passthrough cached

bats_require_minimum_version 1.5.0

load helpers

MIB=$((1024 * 1024))

# wait_line FILE LINE: wait (at most 20 s) until FILE has the line LINE.
wait_line() {
	local i
	for ((i = 0; i < 400; i++)); do
		! grep -qx "$2" "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	cat "$1" >&2
	fail "'$1' has no line '$2'"
}

# all_of FILE LEN CHAR: FILE holds LEN bytes, each of them CHAR.
all_of() {
	cmp -n "$2" "$1" <(head -c "$2" /dev/zero | tr '\0' "$3")
}

@test "kill -9: msync, fsync and fdatasync of stores into a still-mapped segment never say ok for bytes the store lacks" {
	local t=$BATS_TEST_TMPDIR pid store i line
	shmfs_mount
	store=$(status_of store)/root
	mkfifo "$t/go"
	"$SHMFS_TEST_BIN/t_sync" "$MNT/seg" $MIB <"$t/go" >"$t/out" 2>&1 3>&- &
	pid=$!
	BG_PIDS+=("$pid")
	exec 7>"$t/go"
	wait_line "$t/out" ready
	run cat "$t/out"
	assert_output "msync: ok
fsync: ok
fdatasync: ok
ready"
	# What they confirmed is in the store.
	run all_of "$store/seg" $MIB A
	assert_success
	shmfs_kill9
	echo go >&7
	exec 7>&-
	wait "$pid"
	run sed -n '5,7p' "$t/out"
	echo "$output"
	assert_equal "${#lines[@]}" 3
	for line in "${lines[@]}"; do
		if [ "${line#*: }" = ok ]; then
			# Only true if the new stores reached the store.
			run all_of "$store/seg" $MIB B
			assert_success
		elif [ "$SHMFS_TEST_MODE" = passthrough ]; then
			fail "passthrough: '$line', but the stores are in the store's pages"
		else
			[[ "$line" =~ ^[a-z]+:\ (ENOTCONN|EIO|ECONNABORTED)$ ]] || fail "unexpected '$line'"
		fi
	done
	if [ "$SHMFS_TEST_MODE" = cached ]; then
		for i in 0 1 2; do
			[[ "${lines[$i]}" != *": ok" ]] || fail "cached: '${lines[$i]}' with the daemon gone"
		done
	fi
}

@test "fsync after write() and mapped stores: a daemon killed while the mapping is held loses none of it" {
	local pid
	shmfs_mount
	head -c $((2 * MIB)) /dev/urandom >"$BATS_TEST_TMPDIR/src"
	python3 -c '
import mmap, os, sys, time
src = open(sys.argv[2], "rb").read()
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, src[: 1 << 20])
os.ftruncate(fd, 2 << 20)
m = mmap.mmap(fd, 2 << 20)
m[1 << 20 :] = src[1 << 20 :]
os.fsync(fd)
print("synced", flush=True)
time.sleep(60)' "$MNT/seg" "$BATS_TEST_TMPDIR/src" >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	pid=$!
	BG_PIDS+=("$pid")
	wait_line "$BATS_TEST_TMPDIR/out" synced
	shmfs_kill9
	kill "$pid"
	shmfs_mount
	run cmp "$MNT/seg" "$BATS_TEST_TMPDIR/src"
	assert_success
}
