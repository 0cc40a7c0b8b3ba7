#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# mount(8), /etc/fstab and the helpers mount.shmfs and mount.fuse.shmfs.
#
# mount(8) runs helpers from /sbin only, so the tests that go through it
# run in a private mount namespace whose /sbin holds only the build tree's
# helpers; the host's /sbin is never touched. Other tests call the helper
# directly with the arguments mount(8) passes (SOURCE MOUNTPOINT [-sfnv]
# [-N NS] [-o OPTS] [-t TYPE]).

load helpers

: "${SHMFS_BUILD_DIR:=$BATS_TEST_DIRNAME/../build}"
HELPER=$SHMFS_BUILD_DIR/mount/mount.shmfs
NS_PID=

setup() {
	[ -x "$HELPER" ] || fail "no helper at '$HELPER' (build first)"
	mkdir -p "$BATS_TEST_TMPDIR/mnt"
	MNT=$(realpath "$BATS_TEST_TMPDIR/mnt")
}

# Unmount what the helper daemonized, wait for the daemon, drop the store.
release_mount() {
	local run=("$@") i
	if "${run[@]}" awk -v m="$MNT" '$5 == m { f = 1 } END { exit !f }' \
		/proc/self/mountinfo; then
		"${run[@]}" "$SHMFS" umount "$MNT" >/dev/null 2>&1 ||
			"${run[@]}" umount -l "$MNT"
	fi
	for ((i = 0; i < 100; i++)); do
		"${run[@]}" "$SHMFS" discard "$MNT" 2>&1 | grep -q 'in use' || break
		sleep 0.1
	done
}

teardown() {
	if [ -n "$NS_PID" ]; then
		release_mount in_ns
		kill "$NS_PID"
		wait "$NS_PID" 2>/dev/null || true
	fi
	release_mount
	shmfs_teardown
}

# Start a private mount namespace whose /sbin has the build tree's helpers
# and nothing else.
ns_start() {
	requires root cmd:unshare cmd:nsenter
	local sbin target=$SHMFS_BUILD_DIR/mount
	sbin=$(readlink -f /sbin)
	unshare --mount --propagation private sh -c '
		mount -t tmpfs -o mode=0755 shmfs-test-sbin "$1" || exit 1
		ln -s "$2/mount.shmfs" "$1/mount.shmfs" || exit 1
		ln -s "$2/mount.fuse.shmfs" "$1/mount.fuse.shmfs" || exit 1
		touch "$1/.ready"
		exec sleep infinity' sh "$sbin" "$target" >/dev/null 2>&1 3>&- &
	NS_PID=$!
	ns_wait "$NS_PID" "/proc/$NS_PID/root/$sbin/.ready"
}

# The fstype at $MNT as the namespace (or, without one, the host) sees it.
fstype_at() {
	local info=/proc/self/mountinfo
	[ "$1" != ns ] || info=/proc/$NS_PID/mountinfo
	awk -v m="$MNT" '$5 == m { for (i = 7; $i != "-"; i++); t = $(i + 1) } END { print t }' "$info"
}

@test "the helper mounts with mount(8)'s arguments, dropping x-* and comment=" {
	run "$HELPER" shmfs "$MNT" -n -v \
		-o rw,size=64m,mode=1777,nofail,_netdev,x-systemd.automount,comment=hi -t fuse.shmfs
	assert_success
	assert_output --partial "mount -o rw,size=64m,mode=1777,nofail,_netdev -- shmfs $MNT"
	refute_output --partial "x-systemd"
	[ "$(fstype_at)" = fuse.shmfs ]
	run stat -c %a "$MNT"
	assert_success
	assert_output 1777
	run "$SHMFS" status "$MNT"
	assert_success
	assert_output --partial "of 64.0 MiB"
	printf 'segment' >"$MNT/seg"
	run cat "$MNT/seg"
	assert_success
	assert_output segment
	run umount "$MNT"
	assert_success
	assert_output ""
	[ -z "$(fstype_at)" ]
}

@test "mount.fuse.shmfs is the same helper" {
	run "$SHMFS_BUILD_DIR/mount/mount.fuse.shmfs" shmfs "$MNT" -o size=16m,ro
	assert_success
	assert_output ""
	[ "$(fstype_at)" = fuse.shmfs ]
	run touch "$MNT/seg"
	assert_failure
	assert_output --partial "Read-only file system"
}

# The per-mount options of the kernel mount at $MNT (mountinfo field 6).
mount_flags_at() {
	awk -v m="$MNT" '$5 == m { o = $6 } END { print o }' /proc/self/mountinfo
}

@test "noexec, nosuid, nodev and noatime reach the kernel mount" {
	# fstab's "user" makes mount(8) pass noexec,nosuid,nodev: they must hold.
	run "$HELPER" shmfs "$MNT" -o rw,noexec,nosuid,nodev,noatime,user,size=16m
	assert_success
	assert_output ""
	[ "$(fstype_at)" = fuse.shmfs ]
	run mount_flags_at
	assert_success
	for flag in noexec nosuid nodev noatime; do
		[[ ,$output, == *,$flag,* ]] || fail "no '$flag' in '$output'"
	done
}

@test "the helper's -f is mount(8)'s fake: nothing is mounted" {
	run "$HELPER" shmfs "$MNT" -f -o size=16m
	assert_success
	assert_output ""
	[ -z "$(fstype_at)" ]
	run "$HELPER" shmfs "$MNT" -sfv -o size=16m
	assert_success
	assert_output --partial "(fake)"
	[ -z "$(fstype_at)" ]
}

@test "the helper accepts -s, -n and -v together" {
	run "$HELPER" shmfs "$MNT" -snv -o size=16m
	assert_success
	assert_output --partial "shmfs mount -o size=16m -- shmfs $MNT"
	[ "$(fstype_at)" = fuse.shmfs ]
}

@test "a bad option through the helper is exit status 1, naming it" {
	run "$HELPER" shmfs "$MNT" -o rw,size=abc
	assert_failure 1
	assert_output --partial "'size=abc'"
	[ "${#lines[@]}" -eq 1 ]
	run "$HELPER" shmfs "$MNT" -o bogus
	assert_failure 1
	assert_output --partial "'bogus'"
	[ -z "$(fstype_at)" ]
}

@test "a failed mount through the helper is exit status 32" {
	run "$HELPER" shmfs "$BATS_TEST_TMPDIR/nowhere" -o size=16m
	assert_failure 32
	assert_output --partial "does not exist"
	printf 'x' >"$BATS_TEST_TMPDIR/file"
	run "$HELPER" shmfs "$BATS_TEST_TMPDIR/file"
	assert_failure 32
	assert_output --partial "not a directory"
}

@test "the helper needs a source and a mountpoint, and knows its flags" {
	run "$HELPER" "$MNT"
	assert_failure 1
	assert_output --partial "need a source and a mountpoint"
	run "$HELPER" shmfs "$MNT" -q
	assert_failure 1
	assert_output --partial "unknown flag '-q'"
	run "$HELPER" shmfs "$MNT" -o
	assert_failure 1
	assert_output --partial "needs a value"
	[ -z "$(fstype_at)" ]
}

@test "the helper mounts in the namespace that -N names" {
	ns_start
	run "$HELPER" shmfs "$MNT" -N "$NS_PID" -o size=16m
	assert_success
	assert_output ""
	[ "$(fstype_at ns)" = fuse.shmfs ]
	[ -z "$(fstype_at)" ]
	run in_ns "$SHMFS" umount "$MNT"
	assert_success
	assert_output ""
	[ -z "$(fstype_at ns)" ]
}

@test "mount -t shmfs finds mount.shmfs in /sbin; umount ends it" {
	ns_start
	run in_ns mount -t shmfs shmfs "$MNT" \
		-o size=64m,mode=1777,nofail,_netdev,x-systemd.automount
	assert_success
	assert_output ""
	[ "$(fstype_at ns)" = fuse.shmfs ]
	run in_ns stat -c %a "$MNT"
	assert_success
	assert_output 1777
	run in_ns sh -c 'printf one >"$1/seg" && cat "$1/seg"' sh "$MNT"
	assert_success
	assert_output one
	run in_ns findmnt -n -o SOURCE,FSTYPE "$MNT"
	assert_success
	assert_output "shmfs  fuse.shmfs"
	run in_ns umount "$MNT"
	assert_success
	assert_output ""
	[ -z "$(fstype_at ns)" ]
}

@test "mount -t fuse.shmfs finds mount.fuse.shmfs; segments outlive umount" {
	ns_start
	run in_ns mount -t fuse.shmfs shmfs "$MNT" -o size=64m,nofail,_netdev
	assert_success
	assert_output ""
	run in_ns sh -c 'printf kept >"$1/seg"' sh "$MNT"
	assert_success
	assert_output ""
	run in_ns umount "$MNT"
	assert_success
	assert_output ""
	[ -z "$(fstype_at ns)" ]
	# The daemon exits just after the unmount, releasing the store.
	for ((i = 0; i < 100; i++)); do
		run in_ns mount -t fuse.shmfs shmfs "$MNT" -o size=64m
		[[ $status -ne 0 && $output == *"in use by another"* ]] || break
		sleep 0.1
	done
	assert_success
	assert_output ""
	run in_ns cat "$MNT/seg"
	assert_success
	assert_output kept
}

@test "mount -f (fake) through mount(8) mounts nothing and returns" {
	ns_start
	run in_ns mount -f -t shmfs shmfs "$MNT" -o size=16m
	assert_success
	assert_output ""
	[ -z "$(fstype_at ns)" ]
}

@test "a bad option through mount(8) fails and mounts nothing" {
	ns_start
	run in_ns mount -t fuse.shmfs shmfs "$MNT" -o size=16m,passthrough=maybe
	assert_failure
	assert_output --partial "'passthrough=maybe'"
	[ -z "$(fstype_at ns)" ]
}

@test "an fstab line mounts with mount -T" {
	ns_start
	printf '# test fstab\nshmfs %s fuse.shmfs %s 0 0\n' "$MNT" \
		size=32m,mode=1777,noauto,nofail,x-systemd.requires=nothing.service,comment=test \
		>"$BATS_TEST_TMPDIR/fstab"
	run in_ns mount -T "$BATS_TEST_TMPDIR/fstab" "$MNT"
	assert_success
	assert_output ""
	[ "$(fstype_at ns)" = fuse.shmfs ]
	run in_ns stat -c %a "$MNT"
	assert_success
	assert_output 1777
	run in_ns "$SHMFS" status "$MNT"
	assert_success
	assert_output --partial "of 32.0 MiB"
	run in_ns umount "$MNT"
	assert_success
	assert_output ""
	[ -z "$(fstype_at ns)" ]
}

@test "x-systemd.automount: shmfs mounts over the autofs trigger" {
	# systemd mounts the filesystem on top of its own autofs mount at the
	# mountpoint; make such a trigger (nobody serves it, so nothing may
	# touch what is behind it: every step is under a timeout).
	requires fs:autofs
	ns_start
	mkfifo "$BATS_TEST_TMPDIR/autofs.pipe"
	run in_ns sh -c 'mount -t autofs -o "fd=7,pgrp=$2,minproto=5,maxproto=5,direct" \
		shmfs-automount "$1" 7<>"$3"' sh "$MNT" "$NS_PID" "$BATS_TEST_TMPDIR/autofs.pipe"
	assert_success
	assert_output ""
	[ "$(fstype_at ns)" = autofs ]
	run in_ns timeout 20 mount -t fuse.shmfs shmfs "$MNT" -o size=16m,x-systemd.automount
	assert_success
	assert_output ""
	[ "$(fstype_at ns)" = fuse.shmfs ]
	run in_ns timeout 20 sh -c 'printf auto >"$1/seg" && cat "$1/seg"' sh "$MNT"
	assert_success
	assert_output auto
	run in_ns timeout 20 umount "$MNT"
	assert_success
	assert_output ""
	[ "$(fstype_at ns)" = autofs ]
}

@test "the installed helper serves mount -t shmfs on this host" {
	requires root
	[ -x /sbin/mount.shmfs ] ||
		skip "mount.shmfs is not installed in /sbin (tested in a namespace above)"
	run mount -t shmfs shmfs "$MNT" -o size=16m,nofail
	assert_success
	assert_output ""
	[ "$(fstype_at)" = fuse.shmfs ]
	run umount "$MNT"
	assert_success
	assert_output ""
	[ -z "$(fstype_at)" ]
}
