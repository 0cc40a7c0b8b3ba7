#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# What a file on tmpfs has, a segment has too: holes that lseek finds
# (SEEK_DATA, SEEK_HOLE), and extended attributes that are either kept or
# refused, never silently dropped.
#
# Runs as root with two test users, A and B. Where tmpfs has the
# behaviour, the same steps run on a tmpfs mounted mode=1777 and must give
# the same transcript.
# modes: passthrough cached
# resources: dev_fuse

bats_require_minimum_version 1.5.0

load helpers

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	users_add UA UB
}

teardown_file() {
	users_del
}

setup() {
	let_users_in
	TMPFS=""
	PATH=$SHMFS_TEST_BIN:$PATH	# t_io, for the users too
}

teardown() {
	local rc=0
	shmfs_teardown || rc=1
	tmpfs_umount || rc=1
	return $rc
}

# Root's mount, shared by every user, beside the tmpfs it is compared with.
mount_both() {
	tmpfs_mount
	shmfs_mount -o allow_other "$@"
}

# ---------------------------------------------------------------- holes

seek_steps() {
	say "$UA" t_io open s rdwr,creat ftruncate 1048576 pwrite 0 4 pwrite 524288 4 \
		seek data 0 seek hole 0 seek data 4096 seek hole 4096 seek data 524288 \
		seek hole 524288 seek data 528384 seek hole 1048575 seek data 1048576 \
		seek hole 1048576 seek data 2000000 close
	say "$UB" t_io open s rdonly seek data 8192 seek hole 520000 close
}

@test "SEEK_DATA and SEEK_HOLE find a sparse segment's holes where tmpfs does, ENXIO past the end" {
	mount_both
	same_as_tmpfs seek_steps
	assert_line "seek data 4096: 524288"
	assert_line "seek hole 524288: 528384"
	assert_line "seek data 528384: ENXIO"
	assert_line "seek hole 1048576: ENXIO"
	assert_line "seek data 8192: 524288"
}

# The archive of a sparse file s made in DIR: its checksum, then its length.
sparse_archive() {
	truncate -s 1m "$1/s"
	printf abcd | dd of="$1/s" bs=1 seek=0 conv=notrunc status=none
	printf efgh | dd of="$1/s" bs=1 seek=524288 conv=notrunc status=none
	tar -C "$1" -S --format=gnu --mtime=@0 --owner=0 --group=0 --numeric-owner \
		--mode=0644 -cf "$BATS_TEST_TMPDIR/a.tar" s
	md5sum <"$BATS_TEST_TMPDIR/a.tar"
	stat -c %s "$BATS_TEST_TMPDIR/a.tar"
}

@test "tar -S archives a sparse segment byte for byte as it archives the same file on tmpfs" {
	# tar looks for holes only in a file with fewer blocks than bytes.
	[ "$SHMFS_TEST_MODE" != cached ] ||
		skip "the cached path reserves every page below a segment's length"
	mount_both
	run sparse_archive "$TMPFS"
	assert_success
	local expected=$output
	assert_line 10240	# holes left out: headers, the map and two blocks
	run sparse_archive "$MNT"
	assert_success
	assert_equal "$output" "$expected"
	assert_equal "$(du -k "$MNT/s" | cut -f1)" "$(du -k "$TMPFS/s" | cut -f1)"
}

# ---------------------------------------------------------------- attributes

@test "without -o xattr, setting or removing an attribute fails with EOPNOTSUPP, getfattr agrees, nothing is kept" {
	shmfs_mount -o allow_other
	as "$UA" sh -c 'printf x >"$1"' sh "$MNT/f"
	for user in root "$UA"; do
		run as "$user" setfattr -n user.a -v 1 "$MNT/f"
		assert_failure
		assert_output --partial "Operation not supported"
		run as "$user" setfattr -x user.a "$MNT/f"
		assert_failure
		assert_output --partial "Operation not supported"
		run as "$user" getfattr --absolute-names -n user.a "$MNT/f"
		assert_failure
		assert_output --partial "Operation not supported"
		run as "$user" getfattr --absolute-names -d "$MNT/f"
		assert_success
		assert_output ""
	done
	shmfs_umount
	shmfs_mount -o xattr
	run getfattr --absolute-names -d -m - "$MNT/f"
	assert_success
	assert_output ""
}

user_xattr_steps() {
	say "$UA" sh -c 'umask 022 && printf x >seg'
	say "$UA" setfattr -n user.a -v 1 seg
	say "$UA" setfattr -n user.b -v two seg
	say "$UA" getfattr -d seg
	say "$UB" getfattr -d seg
	say "$UB" setfattr -n user.c -v 3 seg
	say "$UA" setfattr -x user.a seg
	say "$UA" setfattr -x user.a seg
	say "$UA" getfattr -d seg
}

@test "with -o xattr, user.* attributes round-trip as on tmpfs" {
	mount_both -o xattr
	requires user-xattr
	same_as_tmpfs user_xattr_steps
	assert_line 'user.b="two"'
	assert_line "$UB setfattr -n user.c -v 3 seg -> 1"
}

@test "without -o xattr, cp --preserve=xattr and tar --xattrs report the attributes they could not copy" {
	shmfs_mount
	tmpfs_mount
	printf x >"$TMPFS/src"
	setfattr -n user.a -v 1 "$TMPFS/src" || skip "tmpfs keeps no user.* attributes here"
	run cp --preserve=xattr "$TMPFS/src" "$MNT/cp"
	assert_failure
	assert_output --partial "Operation not supported"
	tar -C "$TMPFS" --xattrs -cf "$BATS_TEST_TMPDIR/x.tar" src
	run tar -C "$MNT" --xattrs -xf "$BATS_TEST_TMPDIR/x.tar"
	assert_output --partial "Cannot set 'user.a' extended attribute"
	assert_output --partial "Operation not supported"
	# cp -a drops what a file system cannot keep without a word, by design;
	# the copy then says it has no attributes, not that it has them.
	run cp -a "$TMPFS/src" "$MNT/cpa"
	assert_success
	run getfattr --absolute-names -n user.a "$MNT/cpa"
	assert_failure
	assert_output --partial "Operation not supported"
	shmfs_umount
	shmfs_mount -o xattr
	run cp --preserve=xattr "$TMPFS/src" "$MNT/cp"
	assert_success
	run getfattr --absolute-names --only-values -n user.a "$MNT/cp"
	assert_output "1"
}

@test "the transient mark: by ioctl without -o xattr, where its attribute is refused; by either with it" {
	shmfs_mount
	requires transient
	printf x >"$MNT/a"
	run setfattr -n user.shmfs.transient -v 1 "$MNT/a"
	assert_failure
	assert_output --partial "Operation not supported"
	# Marked and unmarked while held: the last close keeps it.
	exec 5<"$MNT/a"
	run t_io open "$MNT/a" rdonly mark unmark close
	assert_output "open: ok
mark: ok
unmark: ok
close: ok"
	exec 5<&-
	run wait_gone "$MNT/a" 2
	assert_failure
	run t_io open "$MNT/a" rdonly mark close
	assert_output "open: ok
mark: ok
close: ok"
	run wait_gone "$MNT/a" 10
	assert_success
	shmfs_umount
	shmfs_mount -o xattr
	printf x >"$MNT/b"
	run setfattr -n user.shmfs.transient -v 1 "$MNT/b"
	assert_success
	cat "$MNT/b" >/dev/null
	run wait_gone "$MNT/b" 10
	assert_success
	printf x >"$MNT/c"
	exec 5<"$MNT/c"
	run t_io open "$MNT/c" rdonly mark close
	run getfattr --absolute-names --only-values -n user.shmfs.transient "$MNT/c"
	assert_output "1"
	exec 5<&-
	run wait_gone "$MNT/c" 10
	assert_success
}
