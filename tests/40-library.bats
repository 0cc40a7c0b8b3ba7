#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# libshmfs on its own: the unit programs against a plain directory (no
# daemon needed), the create/ls/rm commands that sit on the library, and
# the installed header, library and pkg-config file.

load helpers

setup() {
	export SHMFS_DIR="$BATS_TEST_TMPDIR/segments"
	mkdir -p "$SHMFS_DIR"
}

@test "library: name rules, UTF-8, checksum and error wording" {
	run "$SHMFS_TEST_BIN/lib_names"
	assert_success
	assert_output --regexp '^lib_names: all [0-9]+ checks passed$'
}

@test "library: segments, growing, flock and robust mutexes on a directory" {
	run "$SHMFS_TEST_BIN/lib_segment" modes subdirs grow flock mutex
	assert_success
	assert_output --regexp '^lib_segment: all [0-9]+ checks passed$'
}

@test "library: the transient mark on a directory" {
	requires user-xattr
	run "$SHMFS_TEST_BIN/lib_segment" transient
	assert_success
	assert_output --regexp '^lib_segment: all [0-9]+ checks passed$'
}

@test "library: view bounds, unaligned offsets and strings on a directory" {
	run "$SHMFS_TEST_BIN/lib_view"
	assert_success
	assert_output --regexp '^lib_view: all [0-9]+ checks passed$'
}

@test "library: mailbox contract and futex wake-up on a directory" {
	run "$SHMFS_TEST_BIN/lib_mailbox" basic
	assert_success
	assert_output --regexp '^lib_mailbox basic: all [0-9]+ checks passed$'
	run "$SHMFS_TEST_BIN/lib_mailbox" wake
	assert_success
	assert_output --regexp '^lib_mailbox wake: all [0-9]+ checks passed$'
}

@test "create makes a segment of SIZE bytes and prints nothing" {
	run "$SHMFS" create MemoryFile 26
	assert_success
	assert_output ""
	run stat -c %s "$SHMFS_DIR/MemoryFile"
	assert_success
	assert_output "26"
}

@test "create is create-or-open: it grows a segment, never shrinks it, keeps its bytes" {
	printf 'keep me' >"$SHMFS_DIR/seg"
	run "$SHMFS" create seg 4k
	assert_success
	assert_output ""
	run stat -c %s "$SHMFS_DIR/seg"
	assert_output "4096"
	run "$SHMFS" create seg 10
	assert_success
	run stat -c %s "$SHMFS_DIR/seg"
	assert_output "4096"
	run head -c 7 "$SHMFS_DIR/seg"
	assert_output "keep me"
}

@test "create understands k, m and g suffixes and makes subdirectories" {
	run "$SHMFS" create a 3k
	assert_success
	run "$SHMFS" create app/b 2M
	assert_success
	run "$SHMFS" create app/deep/c 1g
	assert_success
	run stat -c '%s %n' "$SHMFS_DIR/a" "$SHMFS_DIR/app/b" "$SHMFS_DIR/app/deep/c"
	assert_success
	assert_output "3072 $SHMFS_DIR/a
2097152 $SHMFS_DIR/app/b
1073741824 $SHMFS_DIR/app/deep/c"
}

@test "create reads a size as size= does: hex, and no % of RAM, nothing past off_t" {
	run "$SHMFS" create hex 0x1k
	assert_success
	run stat -c %s "$SHMFS_DIR/hex"
	assert_output "1024"
	run "$SHMFS" create seg 10%
	assert_failure 2
	assert_output --partial "invalid size '10%'"
	run "$SHMFS" create seg 8e
	assert_failure 2
	assert_output --partial "invalid size '8e'"
	[ ! -e "$SHMFS_DIR/seg" ]
}

@test "create rejects bad sizes, names and arguments with exit 2" {
	run "$SHMFS" create seg 12q
	assert_failure 2
	assert_output "shmfs: invalid size '12q' (bytes, or with a k, m or g suffix)"
	run "$SHMFS" create seg -5
	assert_failure 2
	run "$SHMFS" create ../escape 10
	assert_failure 2
	assert_output "shmfs: invalid segment name '../escape'"
	run "$SHMFS" create /abs 10
	assert_failure 2
	assert_output "shmfs: invalid segment name '/abs'"
	run "$SHMFS" create only-a-name
	assert_failure 2
	assert_output --partial "usage: shmfs create"
	run ls -A "$SHMFS_DIR"
	assert_output ""
}

@test "create says clearly when the segment directory is missing" {
	run env SHMFS_DIR="$BATS_TEST_TMPDIR/nowhere" "$SHMFS" create seg 10
	assert_failure 1
	assert_output "shmfs: cannot reach segment 'seg': '$BATS_TEST_TMPDIR/nowhere' does not exist (is shmfs mounted?)"
}

@test "create --transient marks the segment with user.shmfs.transient" {
	requires cmd:getfattr user-xattr
	run "$SHMFS" create --transient tmp-seg 100
	assert_success
	assert_output ""
	run getfattr --absolute-names --only-values -n user.shmfs.transient "$SHMFS_DIR/tmp-seg"
	assert_success
	assert_output "1"
	run "$SHMFS" ls
	assert_success
	assert_line --regexp '^tmp-seg +100 .* transient$'
}

@test "rm removes segments and names the one that does not exist" {
	"$SHMFS" create one 1
	"$SHMFS" create two 1
	run "$SHMFS" rm one two
	assert_success
	assert_output ""
	run ls -A "$SHMFS_DIR"
	assert_output ""
	run "$SHMFS" rm one
	assert_failure 1
	assert_output "shmfs: segment 'one' does not exist"
	run "$SHMFS" rm '../etc'
	assert_failure 2
	assert_output "shmfs: invalid segment name '../etc'"
	run "$SHMFS" rm
	assert_failure 2
}

@test "ls lists every segment, in subdirectories too, with size, owner and mode" {
	"$SHMFS" create MemoryFile 26
	"$SHMFS" create app/Commands 64k
	chmod 600 "$SHMFS_DIR/app/Commands"
	run "$SHMFS" ls
	assert_success
	assert_line --index 0 --regexp '^NAME +SIZE +OWNER +MODE +MODIFIED$'
	assert_line --index 1 --regexp "^MemoryFile +26 +$(id -un) +-rw-r--r-- +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}\$"
	assert_line --index 2 --regexp "^app/Commands +65536 +$(id -un) +-rw------- "
	[ "${#lines[@]}" -eq 3 ]
	run "$SHMFS" ls "$SHMFS_DIR/app"
	assert_success
	assert_line --index 1 --regexp '^Commands +65536 '
}

@test "ls --json is valid JSON with name, size, owner, mode and mtime" {
	"$SHMFS" create MemoryFile 26
	"$SHMFS" create app/Commands 64k
	run "$SHMFS" ls --json
	assert_success
	run python3 -c '
import json, sys
d = json.loads(sys.argv[1])
for e in d:
    print(e["name"], e["size"], e["owner"], e["uid"], e["mode"], e["transient"],
          len(e["mtime"]) == 20 and e["mtime"].endswith("Z"))
' "$output"
	assert_success
	assert_output "MemoryFile 26 $(id -un) $(id -u) 0644 False True
app/Commands 65536 $(id -un) $(id -u) 0644 False True"
}

@test "ls --json escapes quotes, backslashes, control characters and bad UTF-8" {
	for n in 'say "hi"' 'back\slash' "$(printf 'tab\there')" "$(printf 'caf\xc3\xa9')" "$(printf 'bad\xffbyte')"; do
		printf x >"$SHMFS_DIR/$n"
	done
	run "$SHMFS" ls --json
	assert_success
	run python3 -c '
import json, sys
for e in json.loads(sys.argv[1]):
    print(ascii(e["name"]))
' "$output"
	assert_success
	assert_output "'back\\\\slash'
'bad\\ufffdbyte'
'caf\\xe9'
'say \"hi\"'
'tab\\there'"
}

@test "ls of an empty directory, and of one that does not exist" {
	run "$SHMFS" ls --json
	assert_success
	assert_output "[]"
	run "$SHMFS" ls "$BATS_TEST_TMPDIR/missing"
	assert_failure 1
	assert_output "shmfs: cannot list '$BATS_TEST_TMPDIR/missing': No such file or directory"
	run "$SHMFS" ls --bogus
	assert_failure 2
}

@test "on a mount: create, ls and rm, and a transient segment goes with its last handle" {
	shmfs_mount
	export SHMFS_DIR=$MNT
	requires transient
	run "$SHMFS" create MemoryFile 26
	assert_success
	run "$SHMFS" create --transient scratch 4k
	assert_success
	# The command's own handle was the last one: the daemon removes the
	# segment once the (asynchronous) release reaches it.
	for ((i = 0; i < 200; i++)); do
		[ -e "$MNT/scratch" ] || break
		sleep 0.05
	done
	run "$SHMFS" ls --json
	assert_success
	run python3 -c 'import json, sys; print([e["name"] for e in json.loads(sys.argv[1])])' "$output"
	assert_output "['MemoryFile']"
	run "$SHMFS" rm MemoryFile
	assert_success
	run "$SHMFS" rm MemoryFile
	assert_failure 1
	assert_output "shmfs: segment 'MemoryFile' does not exist"
}

@test "on a mount: ls marks a transient segment while it is held open" {
	shmfs_mount
	export SHMFS_DIR=$MNT
	requires transient
	: >"$MNT/held"
	exec 4<"$MNT/held"
	run "$SHMFS_TEST_BIN/t_io" open "$MNT/held" rdonly mark close
	assert_output "open: ok
mark: ok
close: ok"
	run "$SHMFS" ls
	assert_success
	assert_line --regexp '^held +0 .* transient$'
	run "$SHMFS" ls --json
	assert_success
	assert_output --partial '"name": "held", "size": 0'
	assert_output --partial '"transient": true}'
	exec 4<&-
}

@test "on a mount: ls lists a tree 3000 directories deep, with a few descriptors" {
	shmfs_mount
	# Built through the mount: each directory is made from the one above.
	python3 -c '
import os, sys
os.chdir(sys.argv[1])
open("zz", "w").close()
for depth in range(1, 3001):
    os.mkdir("d")
    os.chdir("d")
    if depth == 1000:
        open("mid", "w").write("m")
open("seg", "w").write("deep")' "$MNT"
	local deep mid
	deep=$(printf 'd/%.0s' {1..3000})seg
	mid=$(printf 'd/%.0s' {1..1000})mid
	# With the descriptor limit as it is, and well below the depth.
	for limit in "$(ulimit -n)" 64; do
		run bash -c 'ulimit -n "$2" && "$SHMFS" ls "$1"' sh "$MNT" "$limit"
		assert_success
		run awk 'NR > 1 { print $1, $2 }' <<<"$output"
		assert_output "$deep 4
$mid 1
zz 0"
	done
	run bash -c 'ulimit -n 64 && "$SHMFS" ls --json "$1"' sh "$MNT"
	assert_success
	run python3 -c 'import json, sys; print([(e["name"].count("/"), e["size"]) for e in json.loads(sys.argv[1])])' "$output"
	assert_output "[(3000, 4), (1000, 1), (0, 0)]"
}

@test "install puts the library, header and pkg-config file in place, and they build a program" {
	requires cmd:cc cmd:pkg-config
	dest="$BATS_TEST_TMPDIR/root"
	run env DESTDIR="$dest" cmake --install "$SHMFS_BUILD_DIR" --prefix /opt/shmfs
	assert_success
	pc=$(find "$dest" -name shmfs.pc)
	[ -n "$pc" ]
	[ -f "$dest/opt/shmfs/include/shmfs.h" ]
	cat >"$BATS_TEST_TMPDIR/prog.c" <<'C'
#include <shmfs.h>
#include <stdio.h>
int main(void)
{
	struct shmfs_segment *seg;
	int err = shmfs_segment_open("from-pc", 26, SHMFS_OPEN_CREATE, &seg);

	if (err)
		return 1;
	printf("%s\n", shmfs_segment_name(seg));
	shmfs_segment_close(seg);
	return 0;
}
C
	flags=$(PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_LIBDIR="$(dirname "$pc")" \
		pkg-config --cflags --libs shmfs)
	run cc -o "$BATS_TEST_TMPDIR/prog" "$BATS_TEST_TMPDIR/prog.c" $flags
	assert_success
	run env LD_LIBRARY_PATH="$(dirname "$(find "$dest" -name 'libshmfs.so.0')")" \
		"$BATS_TEST_TMPDIR/prog"
	assert_success
	assert_output "from-pc"
	run stat -c %s "$SHMFS_DIR/from-pc"
	assert_output "26"
}
