#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The core promise: segments are files whose bytes any process shares.
# modes: passthrough cached poll

load helpers

setup() {
	shmfs_mount
}

@test "a segment written by one process is read by another" {
	printf 'hello' >"$MNT/MemoryFile"
	run cat "$MNT/MemoryFile"
	assert_success
	assert_output "hello"
}

@test "the MemoryFile scenario: bytes 1..26, then each plus 10" {
	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(1, 27)))' >"$MNT/MemoryFile"
	run python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); print(list(d))' "$MNT/MemoryFile"
	assert_success
	assert_output "$(python3 -c 'print(list(range(1, 27)))')"
	python3 -c '
import sys
with open(sys.argv[1], "r+b") as f:
    d = f.read(); f.seek(0); f.write(bytes(b + 10 for b in d))' "$MNT/MemoryFile"
	run python3 -c 'import sys; print(list(open(sys.argv[1], "rb").read()))' "$MNT/MemoryFile"
	assert_success
	assert_output "$(python3 -c 'print(list(range(11, 37)))')"
}

@test "a store through mmap is seen by read() at once, and back" {
	printf 'hello' >"$MNT/MemoryFile"
	run python3 -c '
import mmap, os, sys
p = sys.argv[1]
fd = os.open(p, os.O_RDWR)
m = mmap.mmap(fd, 5)
m[0:1] = b"J"
print(open(p, "rb").read().decode())
with open(p, "r+b") as f:
    f.seek(4); f.write(b"y")
print(m[:].decode())' "$MNT/MemoryFile"
	assert_success
	assert_output $'Jello\nJelly'
	run cat "$MNT/MemoryFile"
	assert_output "Jelly"
}

@test "dd with block sizes, seek and conv=notrunc" {
	for bs in 1 512 4096 65536 1M; do
		run dd if=/dev/urandom of="$BATS_TEST_TMPDIR/src" bs=$bs count=3 status=none
		assert_success
		run dd if="$BATS_TEST_TMPDIR/src" of="$MNT/seg-$bs" bs=$bs status=none
		assert_success
		run cmp "$BATS_TEST_TMPDIR/src" "$MNT/seg-$bs"
		assert_success
	done
	printf 'abcdefgh' >"$MNT/patch"
	run dd of="$MNT/patch" bs=1 seek=2 conv=notrunc status=none <<<"XY"
	assert_success
	run head -c 8 "$MNT/patch"
	assert_output "abXY
fgh"
	run dd if=/dev/zero of="$MNT/sparse" bs=1 count=1 seek=1M status=none
	assert_success
	run stat -c %s "$MNT/sparse"
	assert_output "1048577"
}

@test "truncate up and down keeps the bytes below the cut" {
	printf '0123456789' >"$MNT/t"
	run truncate -s 4 "$MNT/t"
	assert_success
	run cat "$MNT/t"
	assert_output "0123"
	run truncate -s 8192 "$MNT/t"
	assert_success
	run stat -c %s "$MNT/t"
	assert_output "8192"
	run sh -c "head -c 4 '$MNT/t'; tail -c +5 '$MNT/t' | tr -d '\\0' | wc -c"
	assert_output "01230"
}

@test "cp, mv, rm, mkdir -p, ls -l" {
	run mkdir -p "$MNT/a/b/c"
	assert_success
	seq 1 1000 >"$BATS_TEST_TMPDIR/nums"
	run cp "$BATS_TEST_TMPDIR/nums" "$MNT/a/b/c/nums"
	assert_success
	run mv "$MNT/a/b/c/nums" "$MNT/a/moved"
	assert_success
	run cmp "$BATS_TEST_TMPDIR/nums" "$MNT/a/moved"
	assert_success
	[ ! -e "$MNT/a/b/c/nums" ]
	chmod 640 "$MNT/a/moved"
	run ls -l "$MNT/a/moved"
	assert_success
	assert_output --regexp "^-rw-r----- 1 root root $(stat -c %s "$BATS_TEST_TMPDIR/nums") "
	run rm -r "$MNT/a"
	assert_success
	run ls -A "$MNT"
	assert_output ""
}

@test "stat reports size, mode and times that were set" {
	printf 'x%.0s' $(seq 1 300) >"$MNT/s"
	touch -d '2001-02-03 04:05:06' "$MNT/s"
	chmod 600 "$MNT/s"
	run stat -c '%s %a %Y %F' "$MNT/s"
	assert_success
	assert_output "300 600 $(date -d '2001-02-03 04:05:06' +%s) regular file"
}

@test "df shows the store's size and usage" {
	run df -B1 --output=source,size,used "$MNT"
	assert_success
	assert_line --index 1 --regexp '^shmfs +[1-9][0-9]* +[0-9]+$'
	dd if=/dev/zero of="$MNT/big" bs=1M count=64 status=none
	run df -B1 --output=used "$MNT"
	used=$(tail -n1 <<<"$output" | tr -d ' ')
	[ "$used" -ge $((64 * 1024 * 1024)) ]
}

@test "symlinks, hard links, renames with flags" {
	printf 'data' >"$MNT/f"
	ln -s f "$MNT/l"
	ln "$MNT/f" "$MNT/h"
	run readlink "$MNT/l"
	assert_output "f"
	run stat -c %h "$MNT/f"
	assert_output "2"
	run cat "$MNT/h"
	assert_output "data"
	printf 'other' >"$MNT/g"
	run python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 2)
sys.exit(0 if r == 0 else ctypes.get_errno())' "$MNT/f" "$MNT/g"
	assert_success
	run cat "$MNT/f"
	assert_output "other"
	run python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 1)
sys.exit(ctypes.get_errno() if r else 0)' "$MNT/f" "$MNT/g"
	assert_failure 17	# EEXIST: RENAME_NOREPLACE
}

@test "user xattrs are refused without -o xattr, and stored and read back with it" {
	printf 'x' >"$MNT/x"
	run setfattr -n user.color -v blue "$MNT/x"
	assert_failure
	assert_output --partial "Operation not supported"
	run getfattr --absolute-names --only-values -n user.color "$MNT/x"
	assert_failure
	assert_output --partial "Operation not supported"
	shmfs_umount
	shmfs_mount -o xattr
	requires user-xattr
	run getfattr --absolute-names -d "$MNT/x"
	assert_success
	assert_output ""
	run setfattr -n user.color -v blue "$MNT/x"
	assert_success
	run getfattr --absolute-names --only-values -n user.color "$MNT/x"
	assert_output "blue"
	run getfattr --absolute-names -d "$MNT/x"
	assert_output --partial 'user.color="blue"'
}

@test "names over 255 bytes get ENAMETOOLONG" {
	long=$(printf 'n%.0s' $(seq 1 256))
	run touch "$MNT/$long"
	assert_failure
	assert_output --partial "File name too long"
	ok=$(printf 'n%.0s' $(seq 1 255))
	run touch "$MNT/$ok"
	assert_success
}

@test "segments survive umount and a remount" {
	printf 'kept' >"$MNT/keep"
	shmfs_umount
	shmfs_mount
	run cat "$MNT/keep"
	assert_success
	assert_output "kept"
}

@test "segments survive kill -9 of the daemon" {
	dd if=/dev/urandom of="$BATS_TEST_TMPDIR/src" bs=64k count=16 status=none
	cp "$BATS_TEST_TMPDIR/src" "$MNT/precious"
	shmfs_kill9
	run cat "$MNT/precious"
	assert_failure
	# ECONNABORTED: with io_uring the kernel ends the connection a moment
	# after the daemon's death, and fails what was queued in between.
	assert_output --regexp "Transport endpoint is not connected|Software caused connection abort"
	shmfs_mount
	run cmp "$BATS_TEST_TMPDIR/src" "$MNT/precious"
	assert_success
	run cat "$SHMFS_LOG"
	assert_output --partial "detached the dead mount"
}
