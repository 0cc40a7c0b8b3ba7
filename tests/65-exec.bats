#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# "shmfs exec -- COMMAND": COMMAND's /dev/shm is a fresh shmfs mount in a
# mount namespace of its own, which nothing leaks out of; the mount and its
# store end with COMMAND, whose exit status is passed on; signals reach
# COMMAND once; the end of the command, of the daemon or of the supervisor
# itself leaves nothing behind.
# modes: passthrough cached

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	[ "$(id -u)" != 0 ] || users_add U
}

teardown_file() {
	[ "$(id -u)" != 0 ] || users_del
}

# The lines of this namespace's mount table that concern /dev/shm or a
# store, without their mount ids (which change when nothing else does).
host_mounts() {
	awk '$5 ~ /^\/dev\/shm/ || $5 ~ /^\/run\/shmfs/ { $1 = $2 = ""; print }' /proc/self/mountinfo
}

# wait_file PATH: PATH's content once it has some (a pid written inside).
wait_file() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ ! -s "$1" ] || { cat "$1"; return 0; }
		sleep 0.05
	done
	fail "nothing in '$1'"
}

# Whether process $1 is gone (reaped or not: a zombie of ours counts).
gone() {
	! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1")" = Z ]
}

@test "the command's /dev/shm is a fresh, empty shmfs mount with the options given" {
	requires root
	requires_mode
	run timeout "$SHMFS_TEST_BOUND" "$SHMFS" exec -o "$(shmfs_mode_option)" -o size=16m -- bash -c '
		devshm_is_shmfs || exit
		echo "entries: $(ls -A /dev/shm | wc -l)"
		stat -f -c "fstype: %t" /dev/shm
		"$SHMFS" status /dev/shm | grep -E "^(data path|memory):"
		pid=$("$SHMFS" status --raw /dev/shm | sed -n "s/^pid=//p")
		echo "daemon: $(cat /proc/$pid/comm) $(tr "\0" " " </proc/$pid/cmdline)"'
	assert_success
	local path=passthrough
	[ "$SHMFS_TEST_MODE" = passthrough ] || path=cached
	assert_output "/dev/shm: shmfs
entries: 0
fstype: 65735546
data path:     $path
memory:        0 B of 16.0 MiB
daemon: shmfs shmfs mount -f -o $(shmfs_mode_option),size=16m /dev/shm "
}

@test "nothing leaks to the host: its /dev/shm, its mounts and its stores stay as they were" {
	local before inside=$BATS_TEST_TMPDIR/inside go=$BATS_TEST_TMPDIR/go
	requires root
	before=$(host_mounts)
	shmfs_exec bash -c '
		echo leak >/dev/shm/exec-leak-probe.$$ && echo $$ >"$1"
		while [ ! -e "$2" ]; do sleep 0.05; done' sh "$inside" "$go" 3>&- &
	BG_PIDS+=($!)
	local pid
	pid=$(wait_file "$inside")
	run host_mounts
	assert_success
	assert_output "$before"
	run ls "/dev/shm/exec-leak-probe.$pid"
	assert_failure
	run stat -f -c %T /dev/shm
	assert_success
	assert_output tmpfs
	touch "$go"
	wait "${BG_PIDS[0]}"
	BG_PIDS=()
	run host_mounts
	assert_success
	assert_output "$before"
}

@test "the command's exit status is passed on, and 128+N for a death by signal N" {
	run shmfs_exec true
	assert_success
	assert_output ""
	run shmfs_exec sh -c 'exit 7'
	assert_failure 7
	run shmfs_exec sh -c 'kill -9 $$'
	assert_failure 137
	run shmfs_exec sh -c 'kill -TERM $$'
	assert_failure 143
}

@test "a command that cannot be run: 127 when missing, 126 when not executable, 125 for usage" {
	requires root
	run -127 "$SHMFS" exec -- /nonexistent/command
	assert_failure 127
	assert_output "shmfs: exec: cannot run '/nonexistent/command': No such file or directory"
	run -126 "$SHMFS" exec -- /etc/passwd
	assert_failure 126
	assert_output "shmfs: exec: cannot run '/etc/passwd': Permission denied"
	run "$SHMFS" exec
	assert_failure 125
	assert_output --partial "no command given"
	run "$SHMFS" exec -o nosuchoption -- true
	assert_failure 125
	assert_output "shmfs: unknown option 'nosuchoption'"
}

@test "SIGTERM to shmfs exec reaches the command once, and its status is passed on" {
	local ready=$BATS_TEST_TMPDIR/ready out=$BATS_TEST_TMPDIR/out
	shmfs_exec bash -c '
		n=0
		trap "n=\$((n + 1))" TERM
		echo $PPID >"$1"	# shmfs exec
		while [ "$n" = 0 ]; do sleep 0.05; done
		sleep 0.5	# a second delivery would arrive meanwhile
		echo "TERM received $n time(s)"
		echo x >/dev/shm/after && echo "/dev/shm still served"
		exit 3' sh "$ready" >"$out" 2>&1 3>&- &
	local job=$! status=0
	BG_PIDS+=("$job")
	kill -TERM "$(wait_file "$ready")"
	wait "$job" || status=$?
	BG_PIDS=()
	[ "$status" = 3 ] || fail "status $status, not 3"
	run cat "$out"
	assert_output "TERM received 1 time(s)
/dev/shm still served"
}

@test "^C on a terminal reaches the command once, and the daemon keeps serving" {
	requires root cmd:python3
	cat >"$BATS_TEST_TMPDIR/exec_pty.py" <<-'EOF'
	import os, pty, sys, time
	pid, fd = pty.fork()
	if pid == 0:
	    os.execvp(sys.argv[1], sys.argv[1:])
	out = b""
	sent = False
	end = time.time() + 60
	while time.time() < end:
	    try:
	        chunk = os.read(fd, 4096)
	    except OSError:
	        break
	    if not chunk:
	        break
	    out += chunk
	    if not sent and b"ready" in out:
	        os.write(fd, b"\x03")
	        sent = True
	_, status = os.waitpid(pid, 0)
	sys.stdout.write(out.decode().replace("\r", ""))
	print("status", os.waitstatus_to_exitcode(status))
	EOF
	run timeout "$SHMFS_TEST_BOUND" python3 "$BATS_TEST_TMPDIR/exec_pty.py" \
		"$SHMFS" exec -o "$(shmfs_mode_option)" -- python3 -c '
import signal, time
n = 0
def count(*_):
    global n
    n += 1
signal.signal(signal.SIGINT, count)
print("ready", flush=True)
while n == 0:
    time.sleep(0.05)
time.sleep(0.5)
open("/dev/shm/after", "w").write("x")
print("SIGINT", n, "served", open("/dev/shm/after").read())'
	assert_success
	assert_output --partial "SIGINT 1 served x"
	assert_line "status 0"
}

@test "a command killed from outside: its status is 137, the daemon and the mount end" {
	local info=$BATS_TEST_TMPDIR/info
	shmfs_exec bash -c '"$SHMFS" status --raw /dev/shm | sed -n "s/^pid=//p" >"$1.d"
		echo $$ >"$1"; exec sleep 300' sh "$info" 3>&- &
	local job=$! status=0
	BG_PIDS+=("$job")
	local cmd daemon
	cmd=$(wait_file "$info")
	daemon=$(wait_file "$info.d")
	kill -9 "$cmd"
	wait "$job" || status=$?
	BG_PIDS=()
	[ "$status" = 137 ] || fail "status $status, not 137"
	run wait_pid_gone "$daemon"
	assert_success
}

@test "the daemon dies: the command is told, its /dev/shm fails, and its status is passed on" {
	local info=$BATS_TEST_TMPDIR/info
	run shmfs_exec bash -c '
		"$SHMFS" status --raw /dev/shm | sed -n "s/^pid=//p" >"$1"
		kill -9 "$(cat "$1")"
		sleep 0.5
		echo x 2>/dev/null >/dev/shm/after || echo "write failed"
		exit 4' sh "$info"
	assert_failure 4
	assert_line "shmfs: exec: the daemon of '/dev/shm' died (Killed); the command's /dev/shm no longer answers"
	assert_line "write failed"
}

@test "shmfs exec killed outright: the command and the daemon end with it" {
	local info=$BATS_TEST_TMPDIR/info
	requires root
	requires_mode
	"$SHMFS" exec -o "$(shmfs_mode_option)" -- bash -c '
		"$SHMFS" status --raw /dev/shm | sed -n "s/^pid=//p" >"$1.d"
		echo $$ >"$1"; exec sleep 300' sh "$info" 3>&- &
	local exec_pid=$!
	BG_PIDS+=("$exec_pid")
	local cmd daemon
	cmd=$(wait_file "$info")
	daemon=$(wait_file "$info.d")
	kill -9 "$exec_pid"
	wait "$exec_pid" || true
	BG_PIDS=()
	run wait_pid_gone "$cmd"
	assert_success
	run wait_pid_gone "$daemon"
	assert_success
}

@test "a process the command left behind does not keep the mount: it ends with the command" {
	local info=$BATS_TEST_TMPDIR/info
	run shmfs_exec bash -c '
		"$SHMFS" status --raw /dev/shm | sed -n "s/^pid=//p" >"$1.d"
		(exec 3>/dev/shm/held; exec sleep 300) </dev/null >/dev/null 2>&1 &
		echo $! >"$1"
		while [ ! -e /dev/shm/held ]; do sleep 0.05; done
		exit 5' sh "$info"
	local left daemon
	left=$(cat "$info")
	daemon=$(cat "$info.d")
	BG_PIDS+=("$left")
	assert_failure 5
	assert_output "shmfs: exec: processes that the command left behind still use '/dev/shm'; it ends now all the same"
	run wait_pid_gone "$daemon"
	assert_success
	run cat "/proc/$left/fd/3"
	assert_failure
	assert_output --partial "Transport endpoint is not connected"
}

@test "over a /dev/shm that shmfs already serves, exec mounts a fresh one with a store of its own" {
	requires root
	requires_mode
	run timeout "$SHMFS_TEST_BOUND" unshare -m --propagation private bash -c '
		while umount /dev/shm 2>/dev/null; do :; done
		"$SHMFS" mount -o "$1" /dev/shm || exit
		trap "\"$SHMFS\" umount --discard /dev/shm" EXIT
		echo outer >/dev/shm/outer-segment
		outer=$("$SHMFS" status --raw /dev/shm | sed -n "s/^pid=//p")
		"$SHMFS" exec -o "$1" -- bash -c "
			devshm_is_shmfs
			ls -A /dev/shm | wc -l
			\"\$SHMFS\" status --raw /dev/shm | grep -E \"^(pid|store)=\" |
				sed \"s/^pid=$outer\$/pid=outer/\""
		cat /dev/shm/outer-segment' sh "$(shmfs_mode_option)" 3>&-
	assert_success
	assert_line "/dev/shm: shmfs"
	assert_line 0
	refute_line "pid=outer"
	assert_line --regexp "^pid=[0-9]+$"
	assert_line "store=/run/shmfs/dev-shm"
	assert_line outer
}

@test "without CAP_SYS_ADMIN: one line, status 125, and nothing mounted" {
	requires root cmd:setpriv
	run setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin "$SHMFS" exec -- true
	assert_failure 125
	assert_output "shmfs: exec needs CAP_SYS_ADMIN (run it as root): it mounts /dev/shm in a mount namespace of its own"
	run as "$U" "$SHMFS" exec -- true
	assert_failure 125
	assert_output "shmfs: exec needs CAP_SYS_ADMIN (run it as root): it mounts /dev/shm in a mount namespace of its own"
}
