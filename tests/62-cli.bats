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

# A private mount namespace (propagation private), held by a sleep: NS_PID.
NS_PID=
ns_start() {
	requires root cmd:unshare cmd:nsenter
	unshare --mount --propagation private sleep "$SHMFS_TEST_BOUND" >/dev/null 2>&1 3>&- &
	NS_PID=$!
	ns_wait "$NS_PID"
}

# The filesystem type of the topmost mount at $1 in the namespace.
ns_fstype() {
	awk -v m="$1" '$5 == m { for (i = 7; $i != "-"; i++); t = $(i + 1) } END { print t }' \
		"/proc/$NS_PID/mountinfo"
}

# End every shmfs mount at $1 in the namespace (with its store), then the namespace.
ns_release() {
	local i
	[ -n "$NS_PID" ] || return 0
	for ((i = 0; i < 4; i++)); do
		[ "$(ns_fstype "$1")" = fuse.shmfs ] || break
		in_ns "$SHMFS" umount --discard "$1" >/dev/null 2>&1 || in_ns umount -l "$1"
	done
	in_ns "$SHMFS" discard "$1" >/dev/null 2>&1 || true
	kill "$NS_PID" 2>/dev/null || true
	wait "$NS_PID" 2>/dev/null || true
	NS_PID=
}

teardown() {
	[ -z "$NS_PID" ] || ns_release "$(realpath "$BATS_TEST_TMPDIR/under")"
	shmfs_teardown
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
			"shmfs create" "shmfs ls" "shmfs rm" "shmfs send" "shmfs recv" size= nr_inodes= mode= uid= gid= \
			store= huge= noswap mpol= passthrough= allow_other --version; do
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
	assert_output ""
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"'-x'"* ]]
	refute shmfs_is_mounted "$dir"
}

@test "bad option values are usage errors naming the option" {
	local dir opt
	dir=$(fresh_dir mnt)
	for opt in size=abc size=12q size=200% mode=99999 mode=rwx passthrough=maybe \
		uid=nosuchuser-shmfs gid=nosuchgroup-shmfs nr_inodes=lots store= \
		busy_poll=1001 busy_poll=-1 busy_poll=fast; do
		run --separate-stderr "$SHMFS" mount -o "$opt" "$dir"
		assert_failure 2
		assert_output ""
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "'$opt': $stderr"
		[[ $stderr == *"'$opt'"* ]] || fail "'$opt' not named in: $stderr"
		refute shmfs_is_mounted "$dir"
	done
}

@test "fstab-only words are accepted and dropped" {
	shmfs_mount -o auto,noauto,user,nouser,users,_netdev,nofail,defaults,size=16m
	run "$SHMFS" status "$MNT"
	assert_success
	assert_output --partial "of 16.0 MiB"
}

@test "x-* and comment= options, meant for other programs, are dropped" {
	shmfs_mount -o x-systemd.automount,x-systemd.requires=a.service,comment=x,x-gvfs-show
	run "$SHMFS" status "$MNT"
	assert_success
	assert_output --partial "mountpoint:"
}

@test "mount without a mountpoint is a usage error" {
	run --separate-stderr "$SHMFS" mount -o size=1m
	assert_failure 2
	assert_output ""
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"no mountpoint"* ]]
}

@test "a mountpoint that does not exist is a system error" {
	run --separate-stderr "$SHMFS" mount "$BATS_TEST_TMPDIR/nowhere"
	assert_failure 1
	assert_output ""
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"nowhere"*"does not exist"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/nowhere" ]
}

@test "a mountpoint that is a file is a system error" {
	printf 'keep' >"$BATS_TEST_TMPDIR/file"
	run --separate-stderr "$SHMFS" mount "$BATS_TEST_TMPDIR/file"
	assert_failure 1
	assert_output ""
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
	assert_output ""
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"already mounted"* ]]
	run cat "$MNT/seg"
	assert_success
	assert_output "first"
}

@test "shmfs mounts over another filesystem, replaces a dead shmfs, refuses a live one" {
	local dir pid
	ns_start
	dir=$(fresh_dir under)
	run in_ns mount -t tmpfs -o size=1m shmfs-test-under "$dir"
	assert_success
	in_ns sh -c 'printf below >"$1/tmpfs-file"' sh "$dir"
	run --separate-stderr in_ns "$SHMFS" mount -o "$(shmfs_mode_option)" "$dir" 3>&-
	assert_success
	[ -z "$stderr" ] || fail "$stderr"
	[ "$(ns_fstype "$dir")" = fuse.shmfs ]
	# The segments are shmfs's: the tmpfs's file is hidden, a new one is a segment.
	run in_ns sh -c 'printf shmfs >"$1/seg" && ls -A "$1"' sh "$dir"
	assert_success
	assert_output "seg"
	run in_ns "$SHMFS" status "$dir"
	assert_success
	assert_output --partial "segments:      1"
	# A second daemon over the live one is refused, and the first keeps serving.
	run --separate-stderr in_ns "$SHMFS" mount -o "$(shmfs_mode_option)" "$dir" 3>&-
	assert_failure 1
	assert_output ""
	[ "${#stderr_lines[@]}" -eq 1 ] && [[ $stderr == *"already mounted by a live shmfs"* ]] ||
		fail "$stderr"
	run in_ns cat "$dir/seg"
	assert_success
	assert_output "shmfs"
	# Over a dead one (kill -9), a mount replaces it on the same store.
	pid=$(in_ns "$SHMFS" status --raw "$dir" | sed -n 's/^pid=//p')
	[ -n "$pid" ]
	kill -9 "$pid"
	wait_pid_gone "$pid" || fail "daemon $pid survived kill -9"
	run --separate-stderr in_ns "$SHMFS" mount -o "$(shmfs_mode_option)" "$dir" 3>&-
	assert_success
	[[ $stderr == *"detached the dead mount"* ]] || fail "$stderr"
	run in_ns cat "$dir/seg"
	assert_success
	assert_output "shmfs"
	# Unmounted, the tmpfs below is back as it was.
	run in_ns "$SHMFS" umount --discard "$dir"
	assert_success
	[ "$(ns_fstype "$dir")" = tmpfs ]
	run in_ns ls -A "$dir"
	assert_success
	assert_output "tmpfs-file"
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

# Bash completion (contrib/completion/shmfs.bash). complete_line LINE calls
# the completion function as bash would for LINE with the cursor at its
# end: COMP_WORDS split at blanks and at the word-break characters = and :,
# as bash does. It prints the candidates sorted, one a line.
complete_line() {
	local tok
	source "$BATS_TEST_DIRNAME/../contrib/completion/shmfs.bash"
	COMP_LINE=$1
	COMP_POINT=${#1}
	COMP_WORDS=()
	for tok in $1; do
		while [[ $tok =~ ^([^=:]*)([=:]+)(.*)$ ]]; do
			[ -z "${BASH_REMATCH[1]}" ] || COMP_WORDS+=("${BASH_REMATCH[1]}")
			COMP_WORDS+=("${BASH_REMATCH[2]}")
			tok=${BASH_REMATCH[3]}
		done
		[ -z "$tok" ] || COMP_WORDS+=("$tok")
	done
	[[ $1 != *[[:space:]] ]] || COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_shmfs shmfs "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

@test "completion: subcommands and global flags" {
	run complete_line "shmfs "
	assert_success
	assert_output "$(printf '%s\n' create discard exec ls mount recv rm send status umount)"
	run complete_line "shmfs u"
	assert_success
	assert_output umount
	run complete_line "shmfs --v"
	assert_success
	assert_output --version
}

@test "completion: mount flags and -o option names" {
	run complete_line "shmfs mount -"
	assert_success
	assert_output "$(printf '%s\n' --help -d -f -h -o | sort)"
	run complete_line "shmfs mount -o "
	assert_success
	assert_output "$(printf '%s\n' allow_other gid= mode= nr_inodes= passthrough= ro rw \
		size= store= huge= noswap mpol= uid= uring= busy_poll= xattr acl nosuid nodev noexec \
		noatime suid dev exec atime | sort)"
	run complete_line "shmfs mount -o pass"
	assert_success
	assert_output passthrough=
	# bash replaces only the text after the last "=": candidates start there.
	run complete_line "shmfs mount -o size=1g,nr"
	assert_success
	assert_output 1g,nr_inodes=
	run complete_line "shmfs status --r"
	assert_success
	assert_output --raw
}

@test "completion: passthrough=, huge=, mpol=, uid= and gid= values" {
	run complete_line "shmfs mount -o passthrough="
	assert_success
	assert_output "$(printf '%s\n' auto off on)"
	run complete_line "shmfs mount -o ro,passthrough=o"
	assert_success
	assert_output "$(printf '%s\n' off on)"
	run complete_line "shmfs mount -o huge=w"
	assert_success
	assert_output within_size
	run complete_line "shmfs mount -o size=1g,mpol=b"
	assert_success
	assert_output bind:
	run complete_line "shmfs mount -o uid=roo"
	assert_success
	assert_output root
	run complete_line "shmfs mount /tmp -o size=1m,gid=roo"
	assert_success
	assert_output root
}

@test "completion: umount, status and ls offer shmfs mountpoints" {
	shmfs_mount
	mkdir "$BATS_TEST_TMPDIR/plain"
	for cmd in umount status ls; do
		run complete_line "shmfs $cmd $BATS_TEST_TMPDIR/"
		assert_success
		assert_output "$MNT"
	done
	run complete_line "shmfs umount --d"
	assert_success
	assert_output --discard
	run complete_line "shmfs umount $MNT "
	assert_success
	assert_output ""
}

@test "completion: create and rm offer segment names below SHMFS_DIR" {
	export SHMFS_DIR=$BATS_TEST_TMPDIR/segs
	mkdir -p "$SHMFS_DIR/beta"
	touch "$SHMFS_DIR/alpha" "$SHMFS_DIR/beta/gamma"
	run complete_line "shmfs rm "
	assert_success
	assert_output "$(printf '%s\n' alpha beta/)"
	run complete_line "shmfs rm beta/"
	assert_success
	assert_output beta/gamma
	run complete_line "shmfs create --transient a"
	assert_success
	assert_output alpha
	run complete_line "shmfs create alpha "
	assert_success
	assert_output ""
}

@test "completion: works from COMP_WORDS and COMP_CWORD alone" {
	source "$BATS_TEST_DIRNAME/../contrib/completion/shmfs.bash"
	unset COMP_LINE COMP_POINT
	COMP_WORDS=(shmfs mount -o "size=1g,passthrough=of")
	COMP_CWORD=3
	_shmfs shmfs "${COMP_WORDS[3]}" -o
	[ "${#COMPREPLY[@]}" -eq 1 ]
	[ "${COMPREPLY[0]}" = "size=1g,passthrough=off" ]
	COMP_WORDS=(shmfs dis)
	COMP_CWORD=1
	_shmfs shmfs dis shmfs
	[ "${COMPREPLY[*]}" = discard ]
}

@test "completion: an interactive bash completes with TAB" {
	requires cmd:python3
	run python3 - "$BATS_TEST_DIRNAME/../contrib/completion/shmfs.bash" <<'PY'
import fcntl, os, pty, select, struct, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    # Whatever the caller's terminal: lines as wide as this never make
    # readline scroll them sideways (and mark them with a "<").
    os.environ["PS1"] = "$ "
    os.environ["TERM"] = "dumb"
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 1000, 0, 0))
    os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
def send(s):
    os.write(fd, s.encode())
send("source '%s'; shmfs() { printf '<%%s>' \"$@\"; echo; }\n" % sys.argv[1])
send("shmfs umount --disc\t /x\n")
send("shmfs mount -o size=1g,passthrough=au\t /y\n")
send("shmfs stat\t /z\n")
send("echo END-OF-TEST; exit\n")
out, deadline = b"", time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 1)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
os.waitpid(pid, 0)
for line in out.decode(errors="replace").splitlines():
    if line.startswith("<"):
        print(line.strip())
PY
	assert_success
	assert_output "$(printf '%s\n' '<umount><--discard></x>' \
		'<mount><-o><size=1g,passthrough=auto></y>' '<status></z>')"
}

# A store with one segment in it, made through a real mount and then
# unmounted: STORE names it, $STORE_SUM is the md5sum of its segment.
make_store() {
	STORE=$BATS_TEST_TMPDIR/store
	shmfs_mount "$BATS_TEST_TMPDIR/first" -o "store=$STORE"
	head -c 100k /dev/urandom >"$BATS_TEST_TMPDIR/first/kept"
	STORE_SUM=$(md5sum <"$BATS_TEST_TMPDIR/first/kept")
	shmfs_umount "$BATS_TEST_TMPDIR/first"
}

# The store made by make_store, mounted again, still holds its segment.
assert_store_intact() {
	shmfs_mount "$BATS_TEST_TMPDIR/again" -o "store=$STORE"
	run md5sum <"$BATS_TEST_TMPDIR/again/kept"
	assert_success
	assert_output "$STORE_SUM"
	run ls -A "$BATS_TEST_TMPDIR/again"
	assert_output "kept"
}

# fails_cleanly STATUS WORD MOUNT-ARGS...: shmfs mount fails with STATUS,
# one line on stderr that contains WORD, nothing on stdout, nothing mounted.
fails_cleanly() {
	local want=$1 word=$2 last
	shift 2
	run --separate-stderr "$SHMFS" mount "$@"
	assert_failure "$want"
	assert_output ""
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "not one line: $stderr"
	[[ $stderr == "shmfs: "*"$word"* ]] || fail "'$word' not in: $stderr"
	last=${*: -1}
	refute shmfs_is_mounted "$last"
}

@test "a failed mount with a store= of segments touches none of them" {
	local busy
	make_store
	mkdir -p "$BATS_TEST_TMPDIR/mnt"
	printf 'file' >"$BATS_TEST_TMPDIR/plain-file"
	fails_cleanly 1 "does not exist" -o "store=$STORE" "$BATS_TEST_TMPDIR/nowhere"
	fails_cleanly 1 "not a directory" -o "store=$STORE" "$BATS_TEST_TMPDIR/plain-file"
	fails_cleanly 2 "'size=abc'" -o "store=$STORE,size=abc" "$BATS_TEST_TMPDIR/mnt"
	fails_cleanly 2 "'mode=99'" -o "store=$STORE,mode=99" "$BATS_TEST_TMPDIR/mnt"
	fails_cleanly 2 "'nosuchoption'" -o "store=$STORE,nosuchoption" "$BATS_TEST_TMPDIR/mnt"
	shmfs_mount "$BATS_TEST_TMPDIR/busy"
	busy=$MNT
	run --separate-stderr "$SHMFS" mount -o "store=$STORE" "$busy"
	assert_failure 1
	[ "${#stderr_lines[@]}" -eq 1 ] && [[ $stderr == *"already mounted"* ]] ||
		fail "$stderr"
	shmfs_umount "$busy"
	run cat "$BATS_TEST_TMPDIR/plain-file"
	assert_output "file"
	[ ! -e "$BATS_TEST_TMPDIR/nowhere" ]
	assert_store_intact
}

@test "mode= takes octal up to 07777 only" {
	local dir opt
	dir=$(fresh_dir mnt)
	for opt in mode=99 mode=8 mode=-1 mode=017777 mode=0x1ff mode=; do
		run --separate-stderr "$SHMFS" mount -o "$opt" "$dir"
		assert_failure 2
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "'$opt': $stderr"
		[[ $stderr == *"'$opt'"* ]] || fail "'$opt' not named in: $stderr"
		refute shmfs_is_mounted "$dir"
	done
	shmfs_mount "$dir" -o mode=0750
	run stat -c %a "$dir"
	assert_output "750"
}

@test "store= on a file is a system error and leaves the file alone" {
	local dir
	dir=$(fresh_dir mnt)
	printf 'not a store' >"$BATS_TEST_TMPDIR/store-file"
	fails_cleanly 1 "store-file" -o "store=$BATS_TEST_TMPDIR/store-file" "$dir"
	run cat "$BATS_TEST_TMPDIR/store-file"
	assert_output "not a store"
}

@test "a store that cannot be written is a system error; its segments stay" {
	requires root
	local dir
	make_store
	dir=$(fresh_dir mnt)
	mount --bind "$STORE" "$STORE"
	mount -o remount,bind,ro "$STORE"
	run --separate-stderr "$SHMFS" mount -o "store=$STORE" "$dir"
	umount "$STORE"
	assert_failure 1
	assert_output ""
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "not one line: $stderr"
	[[ $stderr == *"$STORE"*"Read-only file system"* ]] || fail "$stderr"
	refute shmfs_is_mounted "$dir"
	assert_store_intact
}

@test "completion: send and recv offer queue names and their options" {
	export SHMFS_DIR=$BATS_TEST_TMPDIR/segs
	mkdir -p "$SHMFS_DIR"
	touch "$SHMFS_DIR/Commands"
	run complete_line "shmfs recv --timeout 5 C"
	assert_success
	assert_output Commands
	run complete_line "shmfs send --"
	assert_success
	assert_output "$(printf '%s\n' --capacity --help --timeout)"
	run complete_line "shmfs recv --"
	assert_success
	assert_output "$(printf '%s\n' --help --timeout)"
	run complete_line "shmfs send Commands "
	assert_success
	assert_output ""
}

@test "completion: ls --holders" {
	run complete_line "shmfs ls --h"
	assert_success
	assert_output "$(printf '%s\n' --help --holders)"
}

@test "completion: exec takes -o options, then a command, then its files" {
	run complete_line "shmfs exec -"
	assert_success
	assert_output "$(printf '%s\n' -- --help -o | sort)"
	run complete_line "shmfs exec -o passthrough=of"
	assert_success
	assert_output off
	run complete_line "shmfs exec -o size=1g -- bas"
	assert_success
	assert_line bash
	run complete_line "shmfs exec -- bash $BATS_TEST_DIRNAME/62-cl"
	assert_success
	assert_output "$BATS_TEST_DIRNAME/62-cli.bats"
}
