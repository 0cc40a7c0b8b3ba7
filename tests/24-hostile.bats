#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Hostile input: odd offsets and sizes, odd names, odd trees. Each gets the
# errno that tmpfs gives for the same calls, and the daemon keeps answering.
# modes: passthrough cached

load helpers

setup() {
	shmfs_mount
	REF=$(mktemp -d /dev/shm/shmfs-ref.XXXXXX)
	EXTRA_MOUNTS=()
}

teardown() {
	local d
	rm -rf "$REF"
	for d in "${EXTRA_MOUNTS[@]}"; do
		if mountpoint -q "$d"; then
			fusermount3 -u -z "$d" 2>/dev/null || umount -l "$d"
		fi
		"$SHMFS" discard "$d" >/dev/null 2>&1 || true
	done
	shmfs_teardown
}

# same_as_tmpfs STEP...: run t_io once on $MNT and once on a tmpfs
# directory ('@' in a step stands for either); the lines must match.
# $output holds shmfs's lines. In the cached path the sed -E script
# CACHED_DIFFERS, if set, first turns tmpfs's lines into what that path
# gives instead.
same_as_tmpfs() {
	local ref
	[ "$(stat -f -c %T /dev/shm)" = tmpfs ] || skip "/dev/shm is not tmpfs"
	run "$SHMFS_TEST_BIN/t_io" "${@//@/$REF}"
	assert_success
	ref=${output//$REF/@}
	if [ "$SHMFS_TEST_MODE" = cached ] && [ -n "${CACHED_DIFFERS:-}" ]; then
		ref=$(sed -E "$CACHED_DIFFERS" <<<"$ref")
	fi
	run "$SHMFS_TEST_BIN/t_io" "${@//@/$MNT}"
	assert_success
	output=${output//$MNT/@}
	assert_equal "$output" "$ref"
}

# in_dir DIR COMMAND...: run COMMAND with DIR as its working directory.
in_dir() {
	(cd "$1" && shift && "$@")
}

# The daemon still answers: stat, and a fresh segment written and read.
assert_alive() {
	run stat -c %F "$MNT"
	assert_success
	assert_output "directory"
	printf 'alive %s' "$BATS_TEST_NUMBER" >"$MNT/.alive"
	run cat "$MNT/.alive"
	assert_success
	assert_output "alive $BATS_TEST_NUMBER"
	rm "$MNT/.alive"
}

@test "huge offsets: pwrite at 2^62 and near the largest offset behave as on tmpfs (cached: no room for the hole below)" {
	# The cached path reserves every page below a segment's end.
	CACHED_DIFFERS='s/^(pwrite (4611686018427387904|9223372036854775806) 1): 1$/\1: ENOSPC/
s/^(check 4611686018427387904 1): ok$/\1: short read 0/
s/^size: 4611686018427387905$/size: 0/
s/^(pread 4611686018427387904 1): 1$/\1: 0/'
	same_as_tmpfs open @/f rdwr,creat \
		pwrite $((1 << 62)) 1 check $((1 << 62)) 1 size \
		pwrite 9223372036854775806 1 pwrite max 1 pwrite -1 1 pread -1 1 \
		pread max 1 pread $((1 << 62)) 1
	if [ "$SHMFS_TEST_MODE" != cached ]; then
		assert_line "pwrite 4611686018427387904 1: 1"
		assert_line "check 4611686018427387904 1: ok"
	fi
	assert_line "pwrite -1 1: EINVAL"
	assert_line "pread -1 1: EINVAL"
	assert_line --regexp "^pwrite max 1: (EFBIG|EINVAL)$"
	run stat -c %b "$MNT/f"
	assert_success
	[ "$output" -le 64 ] || fail "a 2^62-byte sparse segment holds $output blocks"
	assert_alive
}

@test "negative and overflowing sizes in truncate, ftruncate and fallocate" {
	# The cached path reserves a segment's pages when it grows: no store has 2^62 bytes.
	CACHED_DIFFERS='s/^(ftruncate (max|4611686018427387904)): ok$/\1: ENOSPC/
s/^size: (9223372036854775807|4611686018427387904)$/size: 100/'
	same_as_tmpfs open @/f rdwr,creat pwrite 0 100 \
		ftruncate -1 ftruncate -9223372036854775807 truncate @/f -5 \
		ftruncate max size ftruncate $((1 << 62)) size ftruncate 10 size \
		fallocate 0 -1 fallocate -1 10 fallocate max 1 fallocate 0 0 size check 0 10
	assert_line "ftruncate -1: EINVAL"
	assert_line "truncate -5: EINVAL"
	assert_line "fallocate 0 -1: EINVAL"
	assert_line "fallocate 0 0: EINVAL"
	assert_line --regexp "^fallocate max 1: (EFBIG|EINVAL)$"
	assert_line "check 0 10: ok"
	run truncate -s -1 "$MNT/f"
	assert_success		# truncate(1): -s -1 shrinks by one byte
	run stat -c %s "$MNT/f"
	assert_output "9"
	assert_alive
}

@test "O_DIRECT: aligned and unaligned I/O land where they should" {
	local steps=(open @/d rdwr,creat,direct
		pwrite 0 8192 pwrite 8192 4096 u pwrite 12288 1001 pwrite 13289 100 u
		pread 0 4096 pread 1 4095 u size
		open @/d rdonly check 0 13389
		open @/d rdonly,direct check 3 7000)
	run "$SHMFS_TEST_BIN/t_io" open "$REF/probe" rdwr,creat,direct
	assert_success
	if [ "$output" = "open: EINVAL" ]; then
		# tmpfs takes O_DIRECT only since Linux 6.6; shmfs always does.
		run "$SHMFS_TEST_BIN/t_io" "${steps[@]//@/$MNT}"
		assert_success
		assert_output "open: ok
pwrite 0 8192: 8192
pwrite 8192 4096 u: 4096
pwrite 12288 1001: 1001
pwrite 13289 100 u: 100
pread 0 4096: 4096
pread 1 4095 u: 4095
size: 13389
open: ok
check 0 13389: ok
open: ok
check 3 7000: ok"
	else
		same_as_tmpfs "${steps[@]}"
	fi
	assert_line "pwrite 0 8192: 8192"
	assert_line "check 0 13389: ok"
	assert_alive
}

@test "zero-length and unaligned I/O across page edges" {
	same_as_tmpfs open @/z rdwr,creat \
		pwrite 0 0 size pread 0 0 pread 100 10 \
		pwrite 4095 2 pwrite 8191 4099 u pwrite 1 4094 pwrite 4097 4094 u write 0 size \
		check 1 12289 pread 12290 5 pread 99999 1 \
		ftruncate 5000 check 1 4999 size pwrite 5000 0 size
	assert_line "pwrite 0 0: 0"
	assert_line "check 1 12289: ok"
	assert_line "check 1 4999: ok"
	assert_line "pread 99999 1: 0"
	assert_alive
}

@test "writing to a directory gives EISDIR" {
	mkdir "$MNT/dir" "$REF/dir"
	same_as_tmpfs open @/dir rdwr write 1 open @/dir wronly \
		open @/dir rdonly write 1 pread 0 1 \
		truncate @/dir 0 open @/dir/ wronly,creat
	assert_line "open: EISDIR"
	run sh -c "echo x >'$MNT/dir'"
	assert_failure
	assert_output --partial "Is a directory"
	assert_alive
}

@test "names with newline, tab, 0x01, DEL, backslash and bytes that are not UTF-8" {
	run python3 -c '
import os, sys
root = sys.argv[1]
names = [b"nl\nx", b"tab\tx", b"one\x01x", b"del\x7f", b"back\\slash",
         b" lead", b"-dash", b"\xff\xfe", b"caf\xc3\xa9", b"q\"uote\x27s", b"*?[]"]
for n in names:
    p = os.path.join(os.fsencode(root), n)
    with open(p, "wb") as f:
        f.write(n)
    with open(p, "rb") as f:
        assert f.read() == n, n
listed = sorted(os.listdir(os.fsencode(root)))
assert listed == sorted(names), listed
for n in names:
    p = os.path.join(os.fsencode(root), n)
    os.rename(p, p + b".r")
    os.unlink(p + b".r")
print("%d names ok" % len(names))' "$MNT"
	assert_success
	assert_output "11 names ok"
	run ls -A "$MNT"
	assert_success
	assert_output ""
	run touch "$MNT/slash/in/name"
	assert_failure
	assert_output --partial "No such file or directory"
	assert_alive
}

@test "a 4095-byte path works and a 4096-byte path gets ENAMETOOLONG" {
	local comp d rel i
	comp=$(printf 'c%.0s' $(seq 1 250))
	for d in "$MNT" "$REF"; do
		(cd "$d" && mkdir -p "$(printf "$comp/%.0s" $(seq 1 16))")
	done
	rel=$(printf "$comp/%.0s" $(seq 1 16))	# 16 * 251 = 4016 bytes
	ok=$rel$(printf 'f%.0s' $(seq 1 79))	# 4095 bytes
	long=${ok}g				# 4096 bytes
	[ "${#ok}" -eq 4095 ] && [ "${#long}" -eq 4096 ]
	run in_dir "$MNT" "$SHMFS_TEST_BIN/t_io" open "$ok" wronly,creat write 3 close \
		open "$long" wronly,creat stat "$ok" stat "$long" rename "$ok" "$long"
	assert_success
	assert_output "$(printf '%s\n' 'open: ok' 'write 3: 3' 'close: ok' 'open: ENAMETOOLONG' \
		'stat: file' 'stat: ENAMETOOLONG' 'rename: ENAMETOOLONG')"
	shmfs_lines=$output
	run in_dir "$REF" "$SHMFS_TEST_BIN/t_io" open "$ok" wronly,creat write 3 close \
		open "$long" wronly,creat stat "$ok" stat "$long" rename "$ok" "$long"
	assert_success
	assert_equal "$output" "$shmfs_lines"
	run rm -r "$MNT/$comp"
	assert_success
	assert_alive
}

@test "a nest 200 directories deep: create, write at the bottom, list, remove" {
	run python3 -c '
import os, sys
os.chdir(sys.argv[1])
for i in range(200):
    os.mkdir("level-%03d-%s" % (i, "x" * 30))
    os.chdir("level-%03d-%s" % (i, "x" * 30))
with open("bottom", "w") as f:
    f.write("deep")
print(len(os.getcwd()))' "$MNT"
	assert_success
	[ "$output" -gt 4096 ] || fail "the nest is only $output bytes deep"
	run python3 -c '
import os, sys
os.chdir(sys.argv[1])
depth = 0
while True:
    names = os.listdir(".")
    if names == ["bottom"]:
        print(depth, open("bottom").read())
        break
    assert len(names) == 1 and os.path.isdir(names[0]), names
    os.chdir(names[0])
    depth += 1' "$MNT"
	assert_success
	assert_output "200 deep"
	run "$SHMFS" status "$MNT"
	assert_success
	assert_line --regexp '^segments: +1$'
	run rm -rf "$MNT/level-000-$(printf 'x%.0s' $(seq 1 30))"
	assert_success
	run ls -A "$MNT"
	assert_output ""
	assert_alive
}

@test "a directory store holding a nest deeper than PATH_MAX is still discarded" {
	local store=$BATS_TEST_TMPDIR/store mnt=$BATS_TEST_TMPDIR/deep
	shmfs_mount "$mnt" -o passthrough=off -o "store=$store"
	python3 -c '
import os, sys
os.chdir(sys.argv[1])
for i in range(150):
    os.mkdir("d" * 40)
    os.chdir("d" * 40)
open("leaf", "w").write("x")' "$mnt"
	shmfs_umount "$mnt"
	run "$SHMFS" discard --store "$store"
	assert_success
	assert_output ""
	run test -e "$store"
	assert_failure
}

@test "renaming a directory into itself gives EINVAL; rmdir of a full directory ENOTEMPTY" {
	for d in "$MNT" "$REF"; do
		mkdir -p "$d/a/b" "$d/e" "$d/full/x"
		printf 'f' >"$d/file"
	done
	same_as_tmpfs rename @/a @/a/b/c rename @/a @/a/b rename @/a @/a \
		rmdir @/a rmdir @/file unlink @/a mkdir @/a \
		rename @/file @/e rename @/e @/file rename @/e @/full rename @/e @/a/b \
		rename @/a/b/.. @/z rmdir @/a/b/. stat @/a/b stat @/e
	assert_line --index 0 "rename: EINVAL"
	assert_line --index 1 "rename: EINVAL"
	assert_line --index 2 "rename: ok"
	assert_line --index 3 "rmdir: ENOTEMPTY"
	assert_line --index 4 "rmdir: ENOTDIR"
	assert_line --index 5 "unlink: EISDIR"
	assert_line --index 6 "mkdir: EEXIST"
	assert_line --index 7 "rename: EISDIR"
	assert_line --index 8 "rename: ENOTDIR"
	assert_line --index 9 "rename: ENOTEMPTY"
	run cat "$MNT/file"
	assert_output "f"
	assert_alive
}

@test "xattrs: oversized values and names; an attribute does not forge the status" {
	shmfs_umount
	shmfs_mount -o xattr	# getxattr answers only with -o xattr
	requires user-xattr
	printf 'x' >"$MNT/x"
	printf 'x' >"$REF/x"
	for d in "$MNT" "$REF"; do
		python3 -c '
import errno, os, sys
p = sys.argv[1] + "/x"
def t(f, *a):
    try:
        f(*a)
        print("ok")
    except OSError as e:
        print(errno.errorcode[e.errno])
t(os.setxattr, p, "user.big", b"v" * 65536)
t(os.setxattr, p, "user.huge", b"v" * 65537)
t(os.setxattr, p, "user." + "n" * 250, b"v")
t(os.setxattr, p, "user." + "n" * 251, b"v")
t(os.setxattr, p, "bogus.ns", b"v")
t(os.getxattr, p, "user.missing")
t(os.removexattr, p, "user.missing")' "$d" >"$BATS_TEST_TMPDIR/xattr.$(basename "$d")"
	done
	run cat "$BATS_TEST_TMPDIR/xattr.$(basename "$MNT")"
	assert_success
	assert_equal "$output" "$(cat "$BATS_TEST_TMPDIR/xattr.$(basename "$REF")")"
	assert_line --index 0 "ok"
	# The status comes from an ioctl, not an attribute: one set on the
	# root does not forge it.
	run setfattr -n user.shmfs.status -v forged "$MNT"
	assert_success
	run "$SHMFS" status --raw "$MNT"
	assert_success
	refute_output --partial forged
	assert_line "pid=$SHMFS_PID"
	run "$SHMFS" status "$MNT"
	assert_success
	assert_line --regexp '^data path: +(passthrough|cached)$'
	assert_alive
}

@test "mountpoints named with a space, a tab, a backslash and a newline" {
	local name d
	for name in 'sp ace' $'t\tab' 'back\slash' $'new\nline'; do
		d=$BATS_TEST_TMPDIR/$name
		mkdir -p "$d"
		EXTRA_MOUNTS+=("$d")
		run "$SHMFS" mount -o "$(shmfs_mode_option)" "$d"
		assert_success
		printf 'in %s' "$name" >"$d/seg"
		run cat "$d/seg"
		assert_success
		assert_output "in $name"
		run "$SHMFS" status "$d"
		assert_success
		assert_line --regexp "^data path: +${SHMFS_TEST_MODE/none/.*}$"
		assert_line --regexp '^segments: +1$'
		run "$SHMFS" umount --discard "$d"
		assert_success
		run mountpoint -q "$d"
		assert_failure
	done
	assert_alive
}

@test "hundreds of segments opened and closed in turn do not use up the daemon's descriptors" {
	local i pid n v
	# A daemon held to 512 descriptors (with CAP_SYS_RESOURCE it would
	# raise its limit to fs.nr_open, and its bounds with it): at most 128
	# O_PATH descriptors for the cached segments, and 64 kept for segments
	# nobody has open.
	shmfs_umount
	SHMFS_MOUNTS=()
	SHMFS_PIDS=()
	mount_capped 512:512
	assert_fd_limit 512 512
	pid=$SHMFS_PID
	run "$SHMFS" status --raw "$MNT"
	assert_success
	assert_line "inode_fds=bounded"
	assert_line "inode_fds_max=128"
	for ((i = 0; i < 400; i++)); do
		printf '%d' "$i" >"$MNT/s$i" || fail "create s$i"
	done
	# read, a shell builtin: 400 opens without 400 processes, which an
	# emulated machine makes slow.
	for ((i = 0; i < 400; i++)); do
		v=
		read -r v <"$MNT/s$i" || [ -n "$v" ] || fail "s$i cannot be read"
		[ "$v" = "$i" ] || fail "s$i reads back wrong: '$v'"
	done
	n=$(ls "/proc/$pid/fd" | wc -l)
	[ "$("$SHMFS" status --raw "$MNT" | sed -n 's/^cached_inodes=//p')" -gt 400 ] ||
		fail "the kernel no longer has the segments cached"
	[ "$n" -le $((128 + 64 + 32)) ] || fail "the daemon holds $n descriptors"
}
