#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The daemon is root over everyone's segments, so no user reaches past
# their own rights through it: a transient removal stays in the store
# whatever a user swaps under it; only who may remove a segment may mark
# it transient; POSIX ACLs are enforced or refused, never half-kept;
# xattr namespaces, and the mode bits given at creation, are as tmpfs has
# them; and finding who maps a segment cannot be made to block.
#
# Runs as root with three test users: A, B, and C, who is in A's group.
# Where tmpfs has the behaviour, the same steps run on a tmpfs mounted
# mode=1777 and must give the same transcript.
# modes: passthrough cached

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	export UA="sec$$a" UB="sec$$b" UC="sec$$c"
	local u
	for u in "$UA" "$UB" "$UC"; do
		useradd -M -U -s /usr/sbin/nologin "$u"
	done
	usermod -aG "$UA" "$UC"
}

teardown_file() {
	local u
	for u in "${UC:-}" "${UB:-}" "${UA:-}"; do
		[ -n "$u" ] || continue
		userdel "$u" 2>/dev/null || true
		groupdel "$u" 2>/dev/null || true
	done
}

setup() {
	let_users_in
	TMPFS=""
	STOPPED=""
	PATH=$SHMFS_TEST_BIN:$PATH	# t_io and t_swaprace, for the users too
}

teardown() {
	local rc=0
	[ -z "$STOPPED" ] || kill -CONT "$STOPPED" 2>/dev/null || true
	shmfs_teardown || rc=1
	tmpfs_umount || rc=1
	return $rc
}

# all_stopped PID: wait up to 5 s for every thread of PID to be stopped.
all_stopped() {
	local i
	for ((i = 0; i < 100; i++)); do
		! grep -qv '^State:.T' <(grep -h '^State:' /proc/"$1"/task/*/status) && return 0
		sleep 0.05
	done
	return 1
}

# Root's mount, shared by every user.
mount_shared() {
	shmfs_mount -o allow_other "$@"
}

remount_shared() {
	shmfs_umount
	mount_shared "$@"
}

# Names, inode numbers, modes, owners, sizes and times below a directory.
listing() {
	find "$1" -printf '%P %i %m %u %g %s %T@ %C@\n' | sort
}

# race ROOT OUTSIDE: as B, race transient removals in ROOT/d against swaps
# of ROOT/d with ROOT/l, a symlink to OUTSIDE: 3000 segments a round, ten
# rounds, or fewer if OUTSIDE/seg is gone.
race() {
	local round
	as "$UB" mkdir "$1/d" || return
	as "$UB" ln -s "$2" "$1/l" || return
	for ((round = 0; round < 10; round++)); do
		as "$UB" t_swaprace "$1/d" "$1/l" seg 3000 || return
		[ -e "$2/seg" ] || return 0
	done
}

@test "a transient segment's removal never leaves the store, however B swaps its directory" {
	local out=$BATS_TEST_TMPDIR/outside root before
	mkdir -m 0700 "$out"
	printf victim >"$out/seg"
	before=$(listing "$out")
	tmpfs_mount
	mount_shared
	requires transient
	for root in "$TMPFS" "$MNT"; do
		run race "$root" "$out"
		assert_success
		assert_line --regexp '^t_swaprace: [1-9][0-9]* of 3000 segments marked and closed, [1-9][0-9]* exchanges$'
		run cat "$out/seg"
		assert_success
		assert_output victim
		run listing "$out"
		assert_output "$before"
	done
}

@test "in the sticky root, B may not mark A's segment transient; A may mark her own" {
	tmpfs_mount
	as "$UA" sh -c 'umask 0 && printf data >"$1/seg"' sh "$TMPFS"
	run as "$UB" rm -f "$TMPFS/seg"
	assert_failure
	assert_output --partial "Operation not permitted"
	mount_shared
	requires transient
	as "$UA" sh -c 'umask 0 && printf data >"$1/seg"' sh "$MNT"
	run as "$UB" t_io open "$MNT/seg" rdonly mark close
	assert_output "open: ok
mark: EPERM
close: ok"
	run as "$UB" cat "$MNT/seg"
	assert_success
	assert_output data
	run wait_gone "$MNT/seg" 1
	assert_failure
	run as "$UA" t_io open "$MNT/own" wronly,creat mark write 4
	assert_success
	assert_output "open: ok
mark: ok
write 4: 4"
	run wait_gone "$MNT/own" 10
	assert_success
}

@test "marking transient follows the directory's rules: B may in A's 0777 directory, A may not in B's 0755 one" {
	local root
	tmpfs_mount
	mount_shared
	requires transient
	for root in "$TMPFS" "$MNT"; do
		as "$UA" sh -c 'umask 0 && mkdir -m 0777 "$1/open" && printf a >"$1/open/seg"' sh "$root"
		as "$UB" sh -c 'umask 022 && mkdir -m 0777 "$1/closed"' sh "$root"
		as "$UA" sh -c 'umask 022 && printf a >"$1/closed/seg"' sh "$root"
		as "$UB" chmod 0755 "$root/closed"
	done
	run as "$UB" rm -f "$TMPFS/open/seg"
	assert_success
	run as "$UA" rm -f "$TMPFS/closed/seg"
	assert_failure
	assert_output --partial "Permission denied"
	run as "$UB" t_io open "$MNT/open/seg" rdonly mark pread 0 1 close
	assert_output "open: ok
mark: ok
pread 0 1: 1
close: ok"
	run wait_gone "$MNT/open/seg" 10
	assert_success
	run as "$UA" t_io open "$MNT/closed/seg" rdonly mark close
	assert_output "open: ok
mark: EPERM
close: ok"
	run as "$UA" cat "$MNT/closed/seg"
	assert_success
	assert_output a
	run wait_gone "$MNT/closed/seg" 1
	assert_failure
}

@test "without -o acl, a POSIX ACL is refused and nothing of it is kept" {
	requires cmd:setfacl
	mount_shared
	as "$UA" sh -c 'umask 077 && printf secret >"$1/seg"' sh "$MNT"
	run as "$UA" setfacl -m "u:$UB:rw" "$MNT/seg"
	assert_failure
	assert_output --partial "Operation not supported"
	run stat -c %a "$MNT/seg"
	assert_output 600
	remount_shared
	run as "$UA" getfacl --omit-header --absolute-names "$MNT/seg"
	assert_success
	assert_output "user::rw-
group::---
other::---"
	run stat -c %a "$MNT/seg"
	assert_output 600
	run as "$UB" cat "$MNT/seg"
	assert_failure
	assert_output --partial "Permission denied"
}

acl_access_steps() {
	say "$UA" sh -c 'umask 077 && printf secret >seg'
	say "$UA" setfacl -m "u:$UB:rw" seg
	say "$UB" t_io open seg rdwr pwrite 0 2 pread 0 6
	say "$UC" t_io open seg rdonly open seg wronly
	say root stat -c %a seg
	say root getfacl --omit-header seg
}

@test "with -o acl, an access ACL is enforced as on tmpfs: B may, A's group may not" {
	requires cmd:setfacl
	tmpfs_mount
	mount_shared -o acl
	same_as_tmpfs acl_access_steps
	assert_line "$UA setfacl -m u:$UB:rw seg -> 0"
	assert_line "pread 0 6: 6"
	assert_line "open: EACCES"
	assert_line "user:$UB:rw-"
}

acl_default_steps() {
	say "$UA" sh -c 'umask 022 && mkdir dir'
	say "$UA" setfacl -d -m "u:$UB:rw" dir
	say "$UA" sh -c 'umask 022 && printf x >dir/seg'
	acl_default_view
}

acl_default_view() {
	say root getfacl --omit-header dir dir/seg
	say root stat -c '%n %a' dir dir/seg
	say "$UB" t_io open dir/seg wronly
}

@test "with -o acl, a directory's default ACL passes to its new segments, and stays after a remount" {
	requires cmd:setfacl
	tmpfs_mount
	mount_shared -o acl
	same_as_tmpfs acl_default_steps
	assert_line "default:user:$UB:rw-"
	assert_line "user:$UB:rw-"
	local view
	run in_dir "$TMPFS" acl_default_view
	assert_success
	view=$output
	remount_shared -o acl
	run in_dir "$MNT" acl_default_view
	assert_success
	assert_equal "$output" "$view"
}

xattr_steps() {
	say "$UA" sh -c 'umask 022 && printf x >seg'
	say "$UA" setfattr -n user.a -v 1 seg
	say root setfattr -n trusted.x -v secret seg
	say root setfattr -n security.x -v label seg
	say "$UA" getfattr -d -m - seg
	say "$UB" getfattr -d -m - seg
	say "$UA" getfattr -n trusted.x seg
	say "$UA" setfattr -n trusted.y -v 1 seg
	say "$UA" getfattr -n security.x seg
	say "$UA" setfattr -n security.y -v 1 seg
	say "$UB" setfattr -n user.b -v 1 seg
	say root getfattr -d -m - seg
}

@test "xattr namespaces are as on tmpfs: users neither see nor set trusted.*" {
	tmpfs_mount
	mount_shared -o xattr
	requires user-xattr
	same_as_tmpfs xattr_steps
	assert_output --partial "# file: seg
security.x=\"label\"
user.a=\"1\"
$UA getfattr -d -m - seg -> 0"
	assert_line 'trusted.x="secret"'
	assert_line "$UA setfattr -n trusted.y -v 1 seg -> 1"
}

mode_steps() {
	say root mkdir ga gb
	say root chgrp "$UA" ga
	say root chgrp "$UB" gb
	say root chmod 2777 ga gb
	say "$UA" t_io umask 0 create suid 04755 mkfifo fifo 04666 \
		create gb/sgid 02755 create gb/sgid-nox 02745 mkdir-mode gb/dir 0755
	say "$UC" t_io umask 0 create ga/sgid 02755
	say root t_io umask 0 create gb/root-sgid 02755 \
		create gb/root-suid 06755 mkfifo gb/root-fifo 06666
	say root stat -c '%n %a %U %G' suid fifo gb/sgid gb/sgid-nox gb/dir ga/sgid \
		gb/root-sgid gb/root-suid gb/root-fifo
}

@test "creation keeps the mode bits tmpfs keeps, setuid and setgid included" {
	tmpfs_mount
	mount_shared
	same_as_tmpfs mode_steps
	assert_line "suid 4755 $UA $UA"
	assert_line "fifo 4666 $UA $UA"
	assert_line "gb/dir 2755 $UA $UB"
	assert_line "ga/sgid 2755 $UC $UA"
}

@test "a process that maps a file of a hung mount does not keep a transient segment from going" {
	local m2 m2_pid held=$BATS_TEST_TMPDIR/held i
	shmfs_mount "$BATS_TEST_TMPDIR/m2" -o passthrough=off
	m2=$MNT
	m2_pid=$SHMFS_PID
	mount_shared
	requires transient
	timeout "$SHMFS_TEST_BOUND" python3 - "$m2/held" "$held" 3>&- <<-'EOF' &
	import mmap, os, sys, time
	fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
	os.write(fd, b"x" * 4096)
	m = mmap.mmap(fd, 4096)
	os.write(fd, b"y")
	open(sys.argv[2], "w").close()
	time.sleep(3600)	# until teardown, or the timeout
	EOF
	BG_PIDS+=($!)
	for ((i = 0; i < 200; i++)); do
		[ ! -e "$held" ] || break
		sleep 0.05
	done
	[ -e "$held" ] || fail "the mapper did not start"
	STOPPED=$m2_pid
	kill -STOP "$m2_pid"
	run timeout 3 stat "$m2/held"
	assert_failure 124
	run as "$UA" t_io open "$MNT/t" rdwr,creat ftruncate 4096 mark map 4096 close
	assert_success
	assert_output "open: ok
ftruncate 4096: ok
mark: ok
map 4096: ok
close: ok"
	run wait_gone "$MNT/t" 10
	assert_success
	run timeout 5 "$SHMFS" status --raw "$MNT"
	assert_success
	assert_line "pid=$SHMFS_PID"
}

@test "a process stuck in exec over a hung mount stalls neither transient removals nor the unmount" {
	local m2 m2_pid pid i
	shmfs_mount "$BATS_TEST_TMPDIR/m2" -o passthrough=off
	m2=$MNT
	m2_pid=$SHMFS_PID
	head -c 65536 /dev/zero >"$m2/f"
	mount_shared
	requires transient
	mkfifo "$BATS_TEST_TMPDIR/go"
	# Its open is answered; its O_DIRECT read, once m2 stops, is not, and
	# its exec then waits for that read holding its exec lock, which every
	# open of its /proc/PID/maps waits for.
	timeout -s KILL "$SHMFS_TEST_BOUND" t_execstall "$m2/f" sleep 3600 \
		<"$BATS_TEST_TMPDIR/go" >"$BATS_TEST_TMPDIR/pid" 3>&- &
	BG_PIDS+=($!)
	exec 8>"$BATS_TEST_TMPDIR/go"
	for ((i = 0; i < 200; i++)); do
		pid=$(head -n 1 "$BATS_TEST_TMPDIR/pid")
		[ -z "$pid" ] || break
		sleep 0.05
	done
	[ -n "$pid" ] || fail "t_execstall did not start"
	STOPPED=$m2_pid
	kill -STOP "$m2_pid"
	run all_stopped "$m2_pid"
	assert_success
	echo go >&8
	exec 8>&-
	for ((i = 0; i < 10; i++)); do
		run timeout 1 cat "/proc/$pid/maps"
		[ "$status" != 124 ] || break
	done
	assert_failure 124
	run as "$UA" t_io open "$MNT/t" rdwr,creat ftruncate 4096 mark map 4096 close
	assert_success
	run wait_gone "$MNT/t" 10
	assert_success
	run timeout 5 "$SHMFS" status --raw "$MNT"
	assert_success
	assert_line "pid=$SHMFS_PID"
	run timeout 15 "$SHMFS" umount "$MNT"
	assert_success
	run wait_pid_gone "$SHMFS_PID" 10
	assert_success
}

@test "a segment still mapped after its last close stays until the mapping goes" {
	local out=$BATS_TEST_TMPDIR/holder.out go=$BATS_TEST_TMPDIR/go
	mount_shared
	requires transient
	as "$UA" t_io open "$MNT/held" rdwr,creat ftruncate 4096 mark hold 4096 close \
		wait "$go" unmap >"$out" 2>&1 3>&- &
	BG_PIDS+=($!)
	wait_line "$out" 'close: ok'
	run cat "$out"
	assert_output "open: ok
ftruncate 4096: ok
mark: ok
hold 4096: ok
close: ok"
	# The reaper looks twice a second: a few of its passes must keep it.
	run wait_gone "$MNT/held" 2
	assert_failure
	touch "$go"
	run wait_gone "$MNT/held" 10
	assert_success
}

@test "a segment with a second link cannot be marked, and one linked after marking is kept" {
	mount_shared
	requires transient
	as "$UA" sh -c 'umask 0 && printf mine >"$1/seg"' sh "$MNT"
	as "$UB" mkdir "$MNT/bdir"
	run as "$UB" ln "$MNT/seg" "$MNT/bdir/link"
	assert_success
	run as "$UB" t_io open "$MNT/bdir/link" rdonly mark close
	assert_output "open: ok
mark: EPERM
close: ok"
	run as "$UA" t_io open "$MNT/seg" rdonly mark close
	assert_output "open: ok
mark: EPERM
close: ok"
	# Marked alone, then linked by B before its last close: neither name goes.
	local out=$BATS_TEST_TMPDIR/holder.out go=$BATS_TEST_TMPDIR/go
	as "$UA" t_io umask 0 create "$MNT/own" 0666 open "$MNT/own" rdwr mark \
		wait "$go" close >"$out" 2>&1 3>&- &
	BG_PIDS+=($!)
	wait_line "$out" 'mark: ok'
	run as "$UB" ln "$MNT/own" "$MNT/bdir/own"
	assert_success
	touch "$go"
	wait_line "$out" 'close: ok'
	run cat "$out"
	assert_output "umask: ok
create: ok
open: ok
mark: ok
wait: ok
close: ok"
	run wait_gone "$MNT/own" 1
	assert_failure
	run as "$UB" cat "$MNT/bdir/own"
	assert_success
}

@test "root of a user namespace of its own sees no trusted.* names" {
	unshare -Ur true 2>/dev/null || skip "no unprivileged user namespaces"
	mount_shared -o xattr
	as "$UA" sh -c 'umask 0 && printf a >"$1/seg"' sh "$MNT"
	setfattr -n trusted.x -v secret "$MNT/seg"
	run as "$UB" unshare -Ur getfattr --absolute-names -d -m - "$MNT/seg"
	refute_output --partial trusted
	run getfattr --absolute-names -d -m - "$MNT/seg"
	assert_output --partial 'trusted.x="secret"'
}
