# SPDX-License-Identifier: MIT
# Shared helpers for the bats suites: mounting a private shmfs under
# BATS_TEST_TMPDIR, waiting for it, unmounting it whatever happened, and
# probing for features a test needs.
#
# Environment (set by ctest; defaults let a suite run by hand from the
# source tree after a build in ./build):
#   SHMFS           the shmfs binary
#   SHMFS_TEST_BIN  where the small C test programs were built
#   SHMFS_TEST_MODE passthrough | cached | none | poll (passthrough, with
#                   busy polling of /dev/fuse: SHMFS_TEST_POLL defaults to 50)
#   SHMFS_TEST_URING auto | on | off: adds -o uring=... to every mount
#                   (unset: the default, off)
#   SHMFS_TEST_POLL microseconds: adds -o busy_poll=... to every mount
#   SHMFS_TEST_BOUND seconds (120): the longest life of a background helper
#                   that a test starts (run it under `timeout
#                   "$SHMFS_TEST_BOUND"` and list it in BG_PIDS), and the
#                   longest a daemon may take to exit after its unmount, so
#                   that a suite never hangs; generous, for emulated kernels

bats_load_library bats-support
bats_load_library bats-assert

: "${SHMFS:=$BATS_TEST_DIRNAME/../build/src/shmfs}"
: "${SHMFS_TEST_BIN:=$BATS_TEST_DIRNAME/../build/tests}"
: "${SHMFS_TEST_MODE:=none}"
if [ "$SHMFS_TEST_MODE" = poll ]; then
	SHMFS_TEST_MODE=passthrough
	: "${SHMFS_TEST_POLL:=50}"
fi
: "${SHMFS_TEST_BOUND:=120}"
export SHMFS SHMFS_TEST_BIN SHMFS_TEST_MODE SHMFS_TEST_POLL SHMFS_TEST_BOUND

# The -o passthrough= value that the suite's mode asks for.
shmfs_mode_option() {
	case "$SHMFS_TEST_MODE" in
	passthrough) echo "passthrough=on" ;;
	cached) echo "passthrough=off" ;;
	*) echo "passthrough=auto" ;;
	esac
}

# requires FEATURE...: skip the test unless each feature is present.
requires() {
	local f
	for f in "$@"; do
		case "$f" in
		root)
			[ "$(id -u)" = 0 ] || skip "needs root" ;;
		passthrough)
			[ "$(id -u)" = 0 ] || skip "passthrough needs CAP_SYS_ADMIN"
			grep -q fuse_passthrough_open /proc/kallsyms 2>/dev/null ||
				skip "kernel without FUSE passthrough" ;;
		no-passthrough)
			! grep -q fuse_passthrough_open /proc/kallsyms 2>/dev/null ||
				skip "the kernel has FUSE passthrough" ;;
		no-uring)
			[ ! -e /sys/module/fuse/parameters/enable_uring ] ||
				skip "the kernel has FUSE over io_uring" ;;
		cmd:*)
			command -v "${f#cmd:}" >/dev/null || skip "needs ${f#cmd:}" ;;
		fs:*)
			# A filesystem type the running kernel knows (built in or loaded).
			grep -qw "${f#fs:}" /proc/filesystems ||
				skip "the kernel has no ${f#fs:} filesystem" ;;
		user-xattr)
			# On a segment of MNT, or of SHMFS_DIR before a mount.
			probe_xattr user.shmfs.probe ;;
		transient)
			probe_mark ;;
		*)
			fail "requires: unknown feature '$f'" ;;
		esac
	done
}

# probe_xattr NAME: skip the test if a new file in MNT (or SHMFS_DIR) cannot
# have the attribute NAME (EOPNOTSUPP). shmfs keeps user.* attributes, the
# transient mark among them, on the store's backing files, and tmpfs keeps
# user.* attributes only since Linux 6.6.
probe_xattr() {
	local f=${MNT:-$SHMFS_DIR}/.requires.$$ out rc=0
	: >"$f" || fail "requires: cannot create '$f'"
	out=$(setfattr -n "$1" -v 1 "$f" 2>&1) || rc=$?
	rm -f "$f"
	[ "$rc" -eq 0 ] && return 0
	[[ $out == *"Operation not supported"* ]] || fail "requires: setfattr $1: $out"
	skip "no $1 attribute here: $out"
}

# probe_mark: skip the test if a new segment in MNT (or a file in SHMFS_DIR)
# cannot be marked transient: the mark (SHMFS_IOC_SET_TRANSIENT, or the
# attribute in a plain directory) is a user.* attribute in the store.
probe_mark() {
	local f=${MNT:-$SHMFS_DIR}/.requires.$$ out
	out=$("$SHMFS_TEST_BIN/t_io" open "$f" wronly,creat mark close 2>&1)
	rm -f "$f"	# or the mark removed it
	case $out in
	*"mark: ok"*) return 0 ;;
	*"mark: EOPNOTSUPP"*) skip "no transient mark here: $out" ;;
	*) fail "requires: t_io mark: $out" ;;
	esac
}

# Skip passthrough-mode runs where passthrough cannot work.
requires_mode() {
	[ "$SHMFS_TEST_MODE" != passthrough ] || requires passthrough
}

# shmfs_mount [MOUNTPOINT] [-o opts]...: mount in the foreground as a
# background job with its own log; return when the mount answers. Fails at
# once if the daemon died. MNT, SHMFS_PID and SHMFS_LOG describe the mount.
shmfs_mount() {
	local mnt="$BATS_TEST_TMPDIR/mnt"
	if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
		mnt=$1
		shift
	fi
	requires_mode
	# The mountpoint may hold a dead mount (its daemon was killed): do not stat it.
	mkdir -p "$mnt" 2>/dev/null || true
	MNT=$(cd "$(dirname "$mnt")" && pwd -P)/$(basename "$mnt")
	SHMFS_LOG="$BATS_TEST_TMPDIR/shmfs.$(basename "$MNT").log"
	local uring=()
	[ -z "${SHMFS_TEST_URING:-}" ] || uring=(-o "uring=$SHMFS_TEST_URING")
	[ -z "${SHMFS_TEST_POLL:-}" ] || uring+=(-o "busy_poll=$SHMFS_TEST_POLL")
	"$SHMFS" mount -f -o "$(shmfs_mode_option)" "${uring[@]}" "$@" "$MNT" \
		>"$SHMFS_LOG" 2>&1 3>&- &
	SHMFS_PID=$!
	SHMFS_MOUNTS+=("$MNT")
	SHMFS_PIDS+=("$SHMFS_PID")
	local i
	for ((i = 0; i < 200; i++)); do
		if ! kill -0 "$SHMFS_PID" 2>/dev/null; then
			wait "$SHMFS_PID" || true
			cat "$SHMFS_LOG" >&2
			fail "shmfs died before the mount was ready"
		fi
		# Ready when this daemon answers: a dead mount that is still
		# attached answers stat from cached attributes, and after the
		# new daemon detaches it, MNT is a plain directory for a moment.
		if shmfs_is_mounted "$MNT" &&
		   [ "$("$SHMFS" status --raw "$MNT" 2>/dev/null | sed -n 's/^pid=//p')" = "$SHMFS_PID" ]; then
			return 0
		fi
		sleep 0.05
	done
	cat "$SHMFS_LOG" >&2
	fail "shmfs did not answer at '$MNT' within 10 s"
}

# mount_capped SOFT:HARD [CAPS] [MOUNT-ARGS...]: shmfs_mount with the
# daemon's descriptor limit SOFT:HARD, without CAP_SYS_RESOURCE (a root
# daemon that has it raises its limit to fs.nr_open, whatever the caller's
# ulimit) and without the capabilities in CAPS (setpriv's list:
# -dac_read_search,...). Needs root, setpriv and prlimit.
mount_capped() {
	local limit=$1 drop=-sys_resource real=$SHMFS wrap="$BATS_TEST_TMPDIR/shmfs-capped"
	shift
	requires root cmd:setpriv cmd:prlimit
	if [ $# -gt 0 ] && [ "${1#-o}" = "$1" ]; then
		drop+=",$1"
		shift
	fi
	{
		echo '#!/bin/sh'
		printf 'exec setpriv --inh-caps=%q --bounding-set=%q' "$drop" "$drop"
		printf ' %q' prlimit "--nofile=$limit" -- "$real"
		echo ' "$@"'
	} >"$wrap"
	chmod +x "$wrap"
	SHMFS=$wrap shmfs_mount "$@"
}

# assert_fd_limit SOFT HARD: the descriptor limit of the daemon SHMFS_PID now.
assert_fd_limit() {
	run grep '^Max open files' "/proc/$SHMFS_PID/limits"
	assert_success
	assert_output --regexp "^Max open files +$1 +$2 +files"
}

# The daemon's open descriptors.
daemon_fds() {
	ls "/proc/$SHMFS_PID/fd" | wc -l
}

# assert_fds_below N: the daemon holds fewer than N descriptors.
assert_fds_below() {
	local n
	n=$(daemon_fds)
	[ "$n" -lt "$1" ] || fail "the daemon holds $n descriptors, not fewer than $1"
}

# status_of KEY: the value of KEY in the raw status of MNT.
status_of() {
	"$SHMFS" status --raw "$MNT" | sed -n "s/^$1=//p"
}

# bats makes its directories 0700: let other users through to BATS_TEST_TMPDIR.
let_users_in() {
	local d=$BATS_TEST_TMPDIR
	while [ "$d" != / ] && [ "$d" != /tmp ]; do
		chmod o+x "$d"
		d=$(dirname "$d")
	done
}

# wait_for PATH [SECONDS]: wait up to SECONDS (10) for PATH to appear.
wait_for() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		[ ! -e "$1" ] || return 0
		sleep 0.05
	done
	fail "'$1' did not appear"
}

# wait_line FILE LINE: wait up to 10 s for FILE to have a line starting LINE.
wait_line() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q "^$2" "$1" && return 0
		sleep 0.05
	done
	return 1
}

# wait_pid_gone PID [SECONDS]: wait up to SECONDS (10) for process PID to end.
wait_pid_gone() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

# wait_gone PATH [SECONDS]: wait up to SECONDS (5) for PATH to disappear.
wait_gone() {
	local i
	for ((i = 0; i < ${2:-5} * 20; i++)); do
		[ -e "$1" ] || return 0
		sleep 0.05
	done
	return 1
}

# store_key MOUNTPOINT: the name of MOUNTPOINT's default store in its
# directory (/run/shmfs for root), as src/core/store_path.c makes it.
store_key() {
	python3 -c '
import sys
out = ""
for c in sys.argv[1].lstrip("/").encode():
    ch = chr(c)
    out += "-" if ch == "/" else ch if ch.isascii() and (ch.isalnum() or ch in "_.") else "\\x%02x" % c
print(out)' "$1"
}

shmfs_is_mounted() {
	awk -v m="$1" '$5 == m && $0 ~ / - fuse\.shmfs / { found = 1 } END { exit !found }' \
		/proc/self/mountinfo
}

# Unmount one mount started by shmfs_mount and require its daemon to exit 0.
shmfs_umount() {
	local mnt=${1:-$MNT} i pid=""
	for i in "${!SHMFS_MOUNTS[@]}"; do
		[ "${SHMFS_MOUNTS[$i]}" = "$mnt" ] && pid=${SHMFS_PIDS[$i]}
	done
	if shmfs_is_mounted "$mnt"; then
		fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" 2>/dev/null ||
			umount -l "$mnt"
	fi
	[ -n "$pid" ] || return 0
	local status=0
	if ! wait_pid_gone "$pid" "$SHMFS_TEST_BOUND"; then
		echo "daemon $pid still running $SHMFS_TEST_BOUND s after unmounting '$mnt'" >&2
		kill -9 "$pid" 2>/dev/null
		status=1
	fi
	wait "$pid" || status=$?
	[ "$status" -eq 0 ] || { cat "$SHMFS_LOG" >&2; return 1; }
}

# Close the descriptors that the test's own shell holds on MOUNTPOINT (a
# test that failed between `exec 5<...` and `exec 5<&-`): the daemon of a
# lazily unmounted mount lives until they are closed.
shmfs_close_fds() {
	local fd target
	for fd in /proc/$BASHPID/fd/*; do
		target=$(readlink "$fd" 2>/dev/null) || continue
		case $target in
		"$1"/*) eval "exec ${fd##*/}<&-" ;;
		esac
	done
}

# Teardown: unmount everything this test mounted, then destroy its stores.
# Always succeeds in detaching; reports a daemon that exited badly.
shmfs_teardown() {
	local mnt pid rc=0
	# Background processes a test started (listed in BG_PIDS) go first:
	# they may hold the mount busy.
	for pid in "${BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait_pid_gone "$pid" || kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	BG_PIDS=()
	for mnt in "${SHMFS_MOUNTS[@]}"; do
		shmfs_close_fds "$mnt"
		shmfs_umount "$mnt" || rc=1
		"$SHMFS" discard "$mnt" >/dev/null 2>&1 || true
	done
	SHMFS_MOUNTS=()
	SHMFS_PIDS=()
	shmfs_sweep || rc=1
	return $rc
}

# Detach every shmfs mount still attached below this test's directory (a
# mount that a command under test made when it should have failed, say),
# naming each; fails if there was one.
shmfs_sweep() {
	local top mnt rc=0
	top=$(realpath "$BATS_TEST_TMPDIR" 2>/dev/null) || return 0
	while IFS= read -r mnt; do
		mnt=$(printf '%b' "$mnt")	# mountinfo escapes blanks as \040
		echo "left mounted: $mnt" >&2
		fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
		"$SHMFS" discard "$mnt" >/dev/null 2>&1 || true
		rc=1
	done < <(awk -v top="$top/" '$0 ~ / - fuse\.shmfs / && index($5, top) == 1 { print $5 }' \
		/proc/self/mountinfo)
	return $rc
}

# shmfs_exec COMMAND [ARG]...: "shmfs exec" in the suite's data path (and
# its io_uring and busy polling settings), bounded by SHMFS_TEST_BOUND.
# COMMAND's /dev/shm is then a shmfs mount of its own; devshm_is_shmfs,
# exported to bash, checks that from inside.
shmfs_exec() {
	local opts=(-o "$(shmfs_mode_option)")
	requires root
	requires_mode
	[ -z "${SHMFS_TEST_URING:-}" ] || opts+=(-o "uring=$SHMFS_TEST_URING")
	[ -z "${SHMFS_TEST_POLL:-}" ] || opts+=(-o "busy_poll=$SHMFS_TEST_POLL")
	timeout "$SHMFS_TEST_BOUND" "$SHMFS" exec "${opts[@]}" -- "$@"
}

# Whether the top mount on /dev/shm is shmfs; says so either way.
devshm_is_shmfs() {
	if awk '$5 == "/dev/shm" { top = $0 } END { exit !(top ~ / - fuse\.shmfs /) }' \
		/proc/self/mountinfo; then
		echo "/dev/shm: shmfs"
	else
		echo "/dev/shm: not shmfs"
		return 1
	fi
}
export -f devshm_is_shmfs

# Kill the daemon without unmounting (simulated crash).
shmfs_kill9() {
	local i
	kill -9 "$SHMFS_PID"
	wait "$SHMFS_PID" 2>/dev/null || true
	for i in "${!SHMFS_PIDS[@]}"; do
		[ "${SHMFS_PIDS[$i]}" != "$SHMFS_PID" ] || SHMFS_PIDS[$i]=""
	done
}

# users_add VAR...: for a suite run as root (in setup_file), make one test
# user per VAR, named for this run, and export VAR (the name), VAR_ID
# (the uid) and VAR_GID (the id of the user's own group, which need not
# be the uid: useradd takes the first free one of each). /dev/fuse is opened to all users, as Debian's udev rule makes
# it (0666), for their own mounts. users_del (in teardown_file) removes the
# users and their default stores, and puts /dev/fuse back.
users_add() {
	local var name
	FUSE_DEV_MODE=$(stat -c %a /dev/fuse)
	export FUSE_DEV_MODE
	chmod 0666 /dev/fuse
	for var in "$@"; do
		name="shx$$${var,,}"
		useradd -M -U -s /usr/sbin/nologin "$name"
		export "$var=$name" "${var}_ID=$(id -u "$name")" "${var}_GID=$(id -g "$name")"
		TEST_USERS="${TEST_USERS:-} $name"
	done
	export TEST_USERS
}

users_del() {
	local name
	[ -z "${FUSE_DEV_MODE:-}" ] || chmod "$FUSE_DEV_MODE" /dev/fuse
	for name in ${TEST_USERS:-}; do
		rm -rf "/dev/shm/shmfs-$(id -u "$name")"
		userdel "$name" 2>/dev/null || true
	done
}

# as USER COMMAND...: run COMMAND as USER (and the user's groups) in the
# current directory; "root" runs it as it is.
as() {
	local user=$1
	shift
	[ "$user" != root ] || { "$@"; return; }
	setpriv --reuid="$user" --regid="$user" --init-groups env HOME=/ "$@"
}

# ns_wait PID [FILE]: wait until process PID (unshare --mount ...) has a mount
# namespace of its own, and FILE, if named, exists; fails if PID died.
# in_ns COMMAND... then runs COMMAND in that namespace, NS_PID.
ns_wait() {
	local i
	for ((i = 0; i < 100; i++)); do
		if [ -z "${2:-}" ] || [ -e "$2" ]; then
			[ "$(readlink "/proc/$1/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] &&
				return 0
		fi
		kill -0 "$1" 2>/dev/null || fail "could not set up a mount namespace"
		sleep 0.05
	done
	fail "the mount namespace did not come up"
}

in_ns() {
	nsenter -t "$NS_PID" -m -- "$@"
}

# The reference for behaviour: a tmpfs mounted mode=1777 (and OPTS, if
# given) at TMPFS, which the suite's teardown unmounts with tmpfs_umount.
tmpfs_mount() {
	TMPFS=$BATS_TEST_TMPDIR/tmpfs
	mkdir "$TMPFS"
	mount -t tmpfs -o "mode=1777${1:+,$1}" tmpfs "$TMPFS"
}

tmpfs_umount() {
	[ -z "${TMPFS:-}" ] || umount "$TMPFS" || umount -l "$TMPFS"
}

# say USER COMMAND...: run COMMAND as USER and print what it printed, then
# "USER COMMAND -> STATUS". Steps use names relative to the current
# directory, so a transcript made in tmpfs and one made in the mount
# compare as they are.
say() {
	local user=$1 out rc=0
	shift
	out=$(as "$user" "$@" 2>&1) || rc=$?
	[ -z "$out" ] || printf '%s\n' "$out"
	printf '%s %s -> %d\n' "$user" "$*" "$rc"
}

# in_dir DIR COMMAND...: run COMMAND (a function of say steps) in DIR.
in_dir() {
	cd "$1" && shift && "$@"
}

# same_as_tmpfs STEPS...: run the steps in tmpfs, then in the mount; the
# transcripts must be equal. Leaves tmpfs's in output, for the caller to
# check that it shows the behaviour at all.
same_as_tmpfs() {
	local expected
	run in_dir "$TMPFS" "$@"
	assert_success
	expected=$output
	run in_dir "$MNT" "$@"
	assert_success
	assert_equal "$output" "$expected"
	output=$expected
}

SHMFS_MOUNTS=()
SHMFS_PIDS=()
BG_PIDS=()

# A teardown for suites that need nothing else.
teardown() {
	shmfs_teardown
}
