#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Which data path and transport a mount uses, proof that passthrough is
# real, and what a kernel without passthrough or io_uring gives.

load helpers

status_field() {
	"$SHMFS" status --raw "$MNT" | sed -n "s/^$1=//p"
}

@test "passthrough=on: reads, writes and mmap never reach the daemon" {
	SHMFS_TEST_MODE=passthrough shmfs_mount
	run "$SHMFS" status "$MNT"
	assert_success
	assert_line --regexp '^data path: +passthrough$'
	dd if=/dev/urandom of="$MNT/seg" bs=64k count=64 status=none
	cat "$MNT/seg" >/dev/null
	python3 -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 4096)
m[0:4] = b"ABCD"
assert os.pread(fd, 4, 0) == b"ABCD"' "$MNT/seg"
	run status_field read_requests
	assert_output "0"
	run status_field write_requests
	assert_output "0"
}

@test "passthrough=on: bytes written to the backing file show through the mount at once" {
	SHMFS_TEST_MODE=passthrough shmfs_mount
	printf 'before' >"$MNT/seg"
	store=$(status_field store)
	exec 5<"$MNT/seg"
	printf 'AFTER!' | dd of="$store/root/seg" conv=notrunc status=none
	run head -c 6 /dev/fd/5
	exec 5<&-
	assert_output "AFTER!"
	run cat "$MNT/seg"
	assert_output "AFTER!"
}

@test "passthrough=off: the cached path serves data through the daemon" {
	SHMFS_TEST_MODE=cached shmfs_mount
	run "$SHMFS" status "$MNT"
	assert_line --regexp '^data path: +cached$'
	printf 'cached bytes' >"$MNT/seg"
	run cat "$MNT/seg"
	assert_output "cached bytes"
	run status_field write_requests
	[ "$output" -ge 1 ]
}

@test "passthrough=auto picks passthrough where the kernel and privileges allow" {
	requires passthrough
	SHMFS_TEST_MODE=none shmfs_mount
	run status_field data_path
	assert_output "passthrough"
}

@test "-d says which data path the mount uses" {
	requires passthrough
	SHMFS_TEST_MODE=none shmfs_mount -d
	run cat "$SHMFS_LOG"
	assert_output --regexp "ready, data path: passthrough"
}

@test "passthrough=on without CAP_SYS_ADMIN fails with a clear message" {
	requires root cmd:setpriv
	mkdir -p "$BATS_TEST_TMPDIR/mnt"
	run setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin \
		"$SHMFS" mount -o passthrough=on "$BATS_TEST_TMPDIR/mnt"
	assert_failure 1
	assert_output "shmfs: passthrough=on, but the daemon lacks CAP_SYS_ADMIN"
	run grep -c " $BATS_TEST_TMPDIR/mnt " /proc/mounts
	assert_output "0"
	# Refused before anything was created.
	run "$SHMFS" discard "$BATS_TEST_TMPDIR/mnt"
	assert_failure 1
	assert_output --partial "there is no store"
}

@test "root of a user namespace: the cached path, as passthrough needs the initial namespace's CAP_SYS_ADMIN" {
	requires root cmd:unshare
	unshare -Urm true 2>/dev/null || skip "no user namespaces"
	mkdir "$BATS_TEST_TMPDIR/mnt"
	run --separate-stderr timeout "$SHMFS_TEST_BOUND" unshare -Urm --propagation private \
		bash -c 'm=$1 shmfs=$2
		trap "\"$shmfs\" umount --discard \"$m\" >/dev/null 2>&1" EXIT
		"$shmfs" mount "$m" || exit 10
		"$shmfs" status --raw "$m" | grep "^data_path="
		printf "made here" >"$m/seg" || exit 11
		cat "$m/seg"; echo
		ls -A "$m"
		"$shmfs" umount --discard "$m" || exit 12
		"$shmfs" mount -o passthrough=on "$m"; echo "exit $?"' \
		_ "$BATS_TEST_TMPDIR/mnt" "$SHMFS"
	assert_success
	assert_equal "$output" "$(printf 'data_path=cached\nmade here\nseg\nexit 1')"
	assert_equal "$stderr" "shmfs: passthrough=on, but the daemon's CAP_SYS_ADMIN is in a user namespace, and passthrough needs it in the initial one"
}

@test "a kernel without FUSE passthrough: passthrough=auto takes the cached path and says why" {
	requires root no-passthrough
	SHMFS_TEST_MODE=none shmfs_mount -d
	run status_field data_path
	assert_output "cached"
	run grep -c "ready, data path: cached (the kernel does not offer FUSE passthrough)" "$SHMFS_LOG"
	assert_output "1"
	printf 'cached bytes' >"$MNT/seg"
	run cat "$MNT/seg"
	assert_output "cached bytes"
}

@test "a kernel without FUSE passthrough: passthrough=on fails the mount in one line" {
	requires root no-passthrough
	mkdir -p "$BATS_TEST_TMPDIR/mnt"
	run "$SHMFS" mount -o passthrough=on "$BATS_TEST_TMPDIR/mnt"
	assert_failure 1
	assert_output "shmfs: passthrough=on, but the kernel does not offer FUSE passthrough"
	run shmfs_is_mounted "$BATS_TEST_TMPDIR/mnt"
	assert_failure
}

@test "a kernel without FUSE over io_uring: uring=on fails the mount in one line" {
	requires root no-uring
	mkdir -p "$BATS_TEST_TMPDIR/mnt"
	run "$SHMFS" mount -o uring=on "$BATS_TEST_TMPDIR/mnt"
	assert_failure 1
	assert_output "shmfs: uring=on, but this kernel has no FUSE over io_uring (Linux 6.14 or later, built with CONFIG_FUSE_IO_URING)"
	run shmfs_is_mounted "$BATS_TEST_TMPDIR/mnt"
	assert_failure
}
