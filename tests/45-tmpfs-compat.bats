#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# What a file on tmpfs has, a segment has too: holes that lseek finds
# (SEEK_DATA, SEEK_HOLE), the inode flags of lsattr and chattr with the
# refusals that immutable and append-only bring, O_TMPFILE, and extended
# attributes that are either kept or refused, never silently dropped.
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

# ---------------------------------------------------------------- inode flags

flag_steps() {
	say root sh -c 'printf a >f && mkdir d'
	say root chattr +d f
	say root chattr +A f
	say root lsattr f
	say root chattr -dA +i f
	say root lsattr f
	say root chattr -i +a f
	say root lsattr f
	say root chattr -a f
	say root chattr +s f
	say root chattr +c f
	say root chattr +P f
	say root chattr +d d
	say root lsattr -d d
	say root lsattr f
}

@test "lsattr and chattr: the flags tmpfs keeps are set and shown as on tmpfs, the others refused" {
	mount_both
	same_as_tmpfs flag_steps
	assert_line "------d--------------- d"
	assert_line "----i----------------- f"
	assert_line "-----a---------------- f"
	assert_line "root chattr +s f -> 1"
	assert_line "root chattr +d d -> 0"
}

immutable_steps() {
	say "$UA" sh -c 'umask 022 && printf data >seg && mkdir dir && printf x >dir/in'
	say root chattr +i seg dir
	say "$UA" sh -c 'printf more >>seg'
	say "$UA" sh -c 'printf over >seg'
	say "$UA" truncate -s 0 seg
	say "$UA" mv seg seg2
	say "$UA" ln seg seg3
	say "$UA" chmod 600 seg
	say "$UA" touch seg
	say "$UA" rm -f seg
	say root rm -f seg
	say root truncate -s 1 seg
	say "$UA" cat seg
	say "$UA" touch dir/new
	say "$UA" rm -f dir/in
	say "$UA" sh -c 'printf y >>dir/in'
	say "$UA" cat dir/in
	say root chattr -i seg dir
	say "$UA" rm seg
}

@test "an immutable segment refuses writing, truncating, renaming, linking and removal as on tmpfs, and reads on" {
	mount_both
	same_as_tmpfs immutable_steps
	assert_line "$UA mv seg seg2 -> 1"
	assert_line "root rm -f seg -> 1"
	assert_line "root truncate -s 1 seg -> 1"
	assert_line "$UA touch dir/new -> 1"
	assert_line "$UA rm seg -> 0"
}

append_steps() {
	say "$UA" sh -c 'umask 022 && printf data >seg'
	say root chattr +a seg
	say "$UA" sh -c 'printf over >seg'
	say "$UA" truncate -s 0 seg
	say "$UA" mv seg seg2
	say "$UA" ln seg seg3
	say "$UA" chmod 600 seg
	say root rm -f seg
	say "$UA" cat seg
}

@test "an append-only segment refuses overwriting, truncating, renaming and removal as on tmpfs; appending too" {
	mount_both
	same_as_tmpfs append_steps
	assert_line "$UA sh -c printf over >seg -> 2"
	assert_line "root rm -f seg -> 1"
	assert_line "data"
	# tmpfs lets it be opened to append; a writer through the mount could
	# map it too and store anywhere, so shmfs refuses (see shmfs(8)).
	run as "$UA" sh -c 'printf more >>"$1"' sh "$TMPFS/seg"
	assert_success
	run as "$UA" sh -c 'printf more >>"$1"' sh "$MNT/seg"
	assert_failure
	assert_output --partial "Operation not permitted"
	run cat "$MNT/seg"
	assert_output "data"
	chattr -a "$MNT/seg" "$TMPFS/seg"
}

user_flag_steps() {
	say "$UA" sh -c 'umask 022 && printf a >mine'
	say "$UA" chattr +d mine
	say "$UA" chattr +A mine
	say "$UA" chattr +i mine
	say "$UA" chattr +a mine
	say "$UB" chattr -d mine
	say "$UB" chattr +i mine
	say "$UA" lsattr mine
	say root chattr +i mine
	say "$UA" chattr -i mine
	say "$UA" lsattr mine
	say root chattr -i mine
	say root setpriv --bounding-set=-linux_immutable chattr +i mine
	say root setpriv --bounding-set=-fowner,-linux_immutable chattr -A mine
	say root lsattr mine
	# Root of a user namespace of its own: its capabilities are not over these files.
	say "$UB" sh -c 'umask 022 && printf b >theirs'
	say "$UB" unshare -Ur chattr +d theirs
	say "$UB" unshare -Ur chattr +i theirs
	say "$UB" unshare -Ur chattr -d mine
	say root lsattr theirs
}

@test "a user sets nodump and noatime on her own segment, not immutable or append-only, nothing on another's: as on tmpfs" {
	mount_both
	same_as_tmpfs user_flag_steps
	assert_line "$UA chattr +d mine -> 0"
	assert_line "$UA chattr +i mine -> 1"
	assert_line "$UB chattr -d mine -> 1"
	assert_line "root setpriv --bounding-set=-linux_immutable chattr +i mine -> 1"
	assert_line "------dA-------------- mine"
}

# old_fd ROOT: A opens ROOT/seg for writing, root makes it immutable, A
# writes and truncates through the descriptor it already had.
old_fd() {
	local out=$BATS_TEST_TMPDIR/old.out go=$BATS_TEST_TMPDIR/go.$RANDOM
	: >"$out"	# the last call's lines are not this one's
	as "$UA" t_io open "$1/seg" rdwr,creat pwrite 0 4 wait "$go" pwrite 4 4 \
		ftruncate 16 size close >"$out" 2>&1 3>&- &
	BG_PIDS+=($!)
	wait_line "$out" 'pwrite 0 4' || return
	chattr +i "$1/seg" || return
	touch "$go"
	wait_line "$out" 'close' || return
	cat "$out"
	as "$UA" t_io open "$1/seg" rdwr close
	chattr -i "$1/seg"
}

@test "a descriptor opened for writing before the segment became immutable still writes, as on tmpfs" {
	mount_both
	run old_fd "$TMPFS"
	assert_success
	local expected=$output
	assert_line "ftruncate 16: ok"
	assert_line "open: EPERM"
	run old_fd "$MNT"
	assert_success
	assert_equal "$output" "$expected"
}

@test "a transient segment made immutable stays at its last close, and goes once the flag is cleared" {
	shmfs_mount
	requires transient
	printf data >"$MNT/t"
	exec 5<"$MNT/t"
	run t_io open "$MNT/t" rdonly mark close
	assert_output "open: ok
mark: ok
close: ok"
	chattr +i "$MNT/t"
	exec 5<&-
	run wait_gone "$MNT/t" 2	# the reaper looks twice a second
	assert_failure
	run cat "$MNT/t"
	assert_output data
	chattr -i "$MNT/t"		# its open is the last now: its close removes it
	run wait_gone "$MNT/t" 10
	assert_success
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

# ---------------------------------------------------------------- O_TMPFILE

tmpfile_steps() {
	say "$UA" t_io umask 022 tmpfile . rdwr pwrite 0 5 check 0 5 linkat named close
	say "$UA" stat -c '%s %h %a %U' named
	say "$UA" t_io open named rdonly check 0 5 close
	say "$UA" t_io tmpfile . rdwr,excl linkat excl close
	say "$UA" t_io tmpfile . rdonly
	say "$UB" t_io tmpfile . wronly linkat other close
	say "$UB" rm named
	say "$UA" mkdir -m 0755 mine
	say "$UB" t_io tmpfile mine rdwr
	ls
}

@test "O_TMPFILE: an unnamed segment is written, named by linkat through /proc/self/fd, and read back, as on tmpfs" {
	mount_both
	same_as_tmpfs tmpfile_steps
	assert_line "linkat: ok"
	assert_line "5 1 600 $UA"
	assert_line "linkat: ENOENT"
	assert_line "tmpfile: EINVAL"
	assert_line "$UB rm named -> 1"
}

@test "O_TMPFILE segments count against size= as on tmpfs" {
	tmpfs_mount size=1m
	shmfs_mount -o size=1m
	same_as_tmpfs say root t_io tmpfile . wronly pwrite 0 2000000 pwrite 2000000 1 close
	assert_line --regexp '^pwrite 0 2000000: [0-9]+$'
	assert_line "pwrite 2000000 1: ENOSPC"
	run ls -A "$MNT"
	assert_output ""
}

@test "O_TMPFILE on a directory store" {
	mkdir "$BATS_TEST_TMPDIR/store"
	shmfs_mount -o "store=$BATS_TEST_TMPDIR/store"
	run t_io tmpfile "$MNT" rdwr pwrite 0 3 linkat "$MNT/n" close
	assert_output "tmpfile: ok
pwrite 0 3: 3
linkat: ok
close: ok"
	run cat "$MNT/n"
	assert_output --regexp '^.{3}$'
}

@test "O_TMPFILE is refused (EOPNOTSUPP) on a directory store whose size= the daemon keeps" {
	[ "$SHMFS_TEST_MODE" = cached ] || skip "size= on a directory store needs the cached path"
	mkdir "$BATS_TEST_TMPDIR/store"
	shmfs_mount -o "store=$BATS_TEST_TMPDIR/store,size=1m"
	run t_io tmpfile "$MNT" rdwr
	assert_output "tmpfile: EOPNOTSUPP"
}
