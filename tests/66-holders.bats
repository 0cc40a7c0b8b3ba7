#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# "shmfs ls --holders" and the holders line of "shmfs status": the
# processes that have a segment open or mapped, read from /proc without
# opening the segments; processes that may not be inspected are counted.
# modes: passthrough cached

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	[ "$(id -u)" != 0 ] || users_add U
}

teardown_file() {
	[ "$(id -u)" != 0 ] || users_del
}

setup() {
	shmfs_mount -o mode=1777
}

# hold_open FILE [USER]: a process (of USER) that has FILE open, and does
# not map it; its pid in HOLD_OPEN.
hold_open() {
	local pidfile=$BATS_TEST_TMPDIR/pids/open.$RANDOM
	mkdir -p -m 1777 "$BATS_TEST_TMPDIR/pids"
	timeout "$SHMFS_TEST_BOUND" setpriv --reuid="${2:-root}" --regid="${2:-root}" \
		--init-groups bash -c 'exec 4<"$1"; echo $$ >"$2"; exec sleep 300' \
		sh "$1" "$pidfile" 3>&- &
	BG_PIDS+=($!)
	wait_for "$pidfile"
	HOLD_OPEN=$(cat "$pidfile")
	wait_held "$HOLD_OPEN" "$1"
}

# hold_mapped FILE: a process that maps FILE and has closed its descriptor
# (Python's mmap keeps a copy of the descriptor: libc's mmap does not); its
# pid in HOLD_MAPPED.
hold_mapped() {
	local pidfile=$BATS_TEST_TMPDIR/mapped.$RANDOM
	timeout "$SHMFS_TEST_BOUND" python3 -c '
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
fd = os.open(sys.argv[1], os.O_RDWR)
p = libc.mmap(None, 4096, 3, 1, fd, 0)    # PROT_READ|PROT_WRITE, MAP_SHARED
assert p not in (None, ctypes.c_void_p(-1).value), ctypes.get_errno()
os.close(fd)
ctypes.c_char.from_address(p).value = b"m"
with open(sys.argv[2] + ".new", "w") as f:
    f.write(str(os.getpid()))
os.rename(sys.argv[2] + ".new", sys.argv[2])
time.sleep(300)' "$1" "$pidfile" 3>&- &
	BG_PIDS+=($!)
	wait_for "$pidfile"
	HOLD_MAPPED=$(cat "$pidfile")
}

# wait_held PID FILE: until process PID has FILE open.
wait_held() {
	local i fd
	for ((i = 0; i < 200; i++)); do
		for fd in /proc/"$1"/fd/*; do
			[ "$(readlink "$fd")" != "$2" ] || return 0
		done
		sleep 0.05
	done
	fail "process $1 did not open '$2'"
}

@test "ls --holders: a process with the segment open and another that maps it, each with its pid" {
	requires cmd:python3
	truncate -s 4096 "$MNT/seg"
	: >"$MNT/idle"
	hold_open "$MNT/seg"
	hold_mapped "$MNT/seg"
	# Standard error may count processes that even root may not inspect.
	run --separate-stderr "$SHMFS" ls --holders "$MNT"
	assert_success
	# idle, with no holder, then seg with its two.
	[ "${#lines[@]}" = 5 ]
	assert_line --index 1 --regexp "^idle +0 "
	assert_line --index 2 --regexp "^seg +4096 "
	assert_line "  held by pid $HOLD_OPEN (root, sleep): open"
	assert_line "  held by pid $HOLD_MAPPED (root, python3): mapped"
}

@test "ls --json --holders: valid JSON with each holder's pid, user, command and how" {
	requires cmd:python3
	truncate -s 4096 "$MNT/seg"
	: >"$MNT/idle"
	hold_open "$MNT/seg"
	hold_mapped "$MNT/seg"
	run bash -c '"$SHMFS" ls --json --holders "$1" | python3 -m json.tool' sh "$MNT"
	assert_success
	run python3 -c '
import json, sys
for e in json.loads(sys.stdin.read()):
    for h in e["holders"]:
        print(e["name"], h["pid"], h["user"], h["uid"], h["command"], h["open"], h["mapped"])
    print(e["name"], len(e["holders"]), "holders")' < <("$SHMFS" ls --json --holders "$MNT")
	assert_success
	assert_output "idle 0 holders
seg $HOLD_OPEN root 0 sleep True False
seg $HOLD_MAPPED root 0 python3 False True
seg 2 holders"
	run "$SHMFS" ls --json "$MNT"
	assert_success
	refute_output --partial holders
}

@test "status: the totals of the holders" {
	requires cmd:python3
	truncate -s 4096 "$MNT/a" "$MNT/b"
	: >"$MNT/idle"
	hold_open "$MNT/a"
	hold_mapped "$MNT/a"
	hold_mapped "$MNT/b"
	run "$SHMFS" status "$MNT"
	assert_success
	assert_line --regexp "^holders: +3 processes hold 2 segments"
}

@test "looking for holders opens no segment (inotify sees no open)" {
	requires cmd:inotifywait
	local events=$BATS_TEST_TMPDIR/events
	truncate -s 4096 "$MNT/seg"
	hold_open "$MNT/seg"
	timeout "$SHMFS_TEST_BOUND" inotifywait -m -e open -e close "$MNT/seg" >"$events" 2>&1 3>&- &
	BG_PIDS+=($!)
	wait_for_line "$events" "Watches established."
	run "$SHMFS" ls --holders "$MNT"
	assert_success
	assert_line "  held by pid $HOLD_OPEN (root, sleep): open"
	run "$SHMFS" status "$MNT"
	assert_success
	assert_line --regexp "^holders: +1 process holds 1 segment"
	# A control: an open of ours is seen.
	cat "$MNT/seg" >/dev/null
	wait_for_line "$events" "$MNT/seg OPEN"
	run cat "$events"
	assert_output "Setting up watches.
Watches established.
$MNT/seg OPEN 
$MNT/seg CLOSE_NOWRITE,CLOSE "
}

# wait_for_line FILE LINE: until FILE has LINE (as a prefix).
wait_for_line() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q "^$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no '$2' in '$1': $(cat "$1")"
}

@test "another user's view: root's holders are counted as not inspected, the user's own are listed" {
	requires root cmd:python3
	let_users_in
	truncate -s 4096 "$MNT/seg"
	chmod 666 "$MNT/seg"
	hold_open "$MNT/seg"
	local root_pid=$HOLD_OPEN
	hold_open "$MNT/seg" "$U"
	local mine=$HOLD_OPEN
	run --separate-stderr as "$U" "$SHMFS" ls --holders "$MNT"
	assert_success
	assert_line "  held by pid $mine ($U, sleep): open"
	refute_line --partial "pid $root_pid "
	[[ $stderr =~ ^shmfs:\ [0-9]+\ processes\ could\ not\ be\ inspected ]] ||
		fail "stderr: $stderr"
	run as "$U" "$SHMFS" status "$MNT"
	assert_success
	assert_line --regexp "^holders: +1 process holds 1 segment \([0-9]+ processes not inspected: permission denied\)$"
}
