#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# A directory store's size= count (kept by the daemon) is exact: a segment
# is charged its length in whole pages, every page of which the cached
# path reserves; once however many names it has, from the moment it grows
# until the store frees it (its last name gone and its last holder
# closed), across remounts and a daemon killed in the middle of things.
# "shmfs status" and df show that count, and it equals what the store
# holds: a random sequence of all these checks it.

bats_require_minimum_version 1.5.0

load helpers

MIB=$((1024 * 1024))
OPTS=
STORE=

# mount_dirstore OPTS: a directory store at $STORE, with the limits OPTS.
mount_dirstore() {
	OPTS=$1
	STORE=$BATS_TEST_TMPDIR/store
	SHMFS_TEST_MODE=cached shmfs_mount -o "store=$STORE,$OPTS"
	assert_equal "$(status_of data_path)" cached
}

remount() {
	shmfs_umount
	mount_dirstore "$OPTS"
}

kill_and_remount() {
	shmfs_kill9
	# The dead mount is detached by the next one.
	mount_dirstore "$OPTS"
}

# What the store holds: its segments' lengths in whole pages, each inode
# once, and its names.
store_bytes() {
	find "$STORE/root" -type f -printf '%i %s\n' | sort -u -k1,1 |
		awk '{ t += int(($2 + 4095) / 4096) * 4096 } END { print t + 0 }'
}

# The bytes the store has allocated for its segments, each inode once.
store_allocated() {
	find "$STORE/root" -type f -printf '%i %b\n' | sort -u -k1,1 |
		awk '{ t += $2 * 512 } END { print t + 0 }'
}

store_names() {
	find "$STORE/root" -mindepth 1 | wc -l
}

# settled: wait (at most 10 s) until the daemon's count is what the store
# holds: the kernel forgets a closed, removed segment a moment after the
# close returns, and the store frees it then. Fails naming both.
settled() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(status_of bytes_used)" != "$(store_bytes)" ] || break
		sleep 0.05
	done
	assert_equal "$(status_of bytes_used)" "$(store_bytes)"
	assert_equal "$(status_of inodes_used)" "$(store_names)"
	run df -B1 --output=used "$MNT"
	assert_line --index 1 --regexp "^ *$(store_bytes)\$"
	# The charge is real: every page of every length is allocated.
	(($(store_allocated) >= $(store_bytes))) ||
		fail "the store has allocated $(store_allocated) bytes of $(store_bytes)"
}

@test "open, unlink, write 3 MiB, close: three rounds give every byte back" {
	local i
	mount_dirstore size=10m,nr_inodes=1000
	for ((i = 1; i <= 3; i++)); do
		run "$SHMFS_TEST_BIN/t_io" open "$MNT/f" rdwr,creat unlink "$MNT/f" \
			pwrite 0 $((3 * MIB)) size close
		assert_output "open: ok
unlink: ok
pwrite 0 3145728: 3145728
size: 3145728
close: ok"
	done
	settled
	assert_equal "$(status_of bytes_used)" 0
	run "$SHMFS_TEST_BIN/t_io" open "$MNT/g" wronly,creat pwrite 0 $((9 * MIB)) close
	assert_output "open: ok
pwrite 0 9437184: 9437184
close: ok"
	settled
}

@test "segments removed while open stay charged: size= cannot be outgrown by unlinking" {
	mount_dirstore size=10m,nr_inodes=1000
	run python3 - "$MNT" <<-'EOF'
	import errno, os, sys
	held, total = [], 0
	for i in range(3):
	    path = os.path.join(sys.argv[1], "f%d" % i)
	    fd = os.open(path, os.O_RDWR | os.O_CREAT)
	    held.append(fd)
	    try:
	        for _ in range(6):
	            total += os.write(fd, b"x" * (1 << 20))
	    except OSError as e:
	        print("f%d: %s" % (i, errno.errorcode[e.errno]))
	    os.unlink(path)	# still open: its pages are still in the store
	print("written %d MiB" % (total >> 20))
	EOF
	assert_success
	assert_line "f1: ENOSPC"
	assert_line "f2: ENOSPC"
	assert_line "written 10 MiB"
	settled
	assert_equal "$(status_of bytes_used)" 0
}

@test "a segment with two names is charged once, also after a remount" {
	mount_dirstore size=10m,nr_inodes=1000
	head -c $((3 * MIB)) /dev/urandom >"$MNT/a"
	ln "$MNT/a" "$MNT/b"
	assert_equal "$(status_of bytes_used)" $((3 * MIB))
	remount
	assert_equal "$(status_of bytes_used)" $((3 * MIB))
	assert_equal "$(status_of segments)" 1
	assert_equal "$(status_of segment_bytes)" $((3 * MIB))
	rm "$MNT/a"
	settled
	assert_equal "$(status_of bytes_used)" $((3 * MIB))
	run "$SHMFS_TEST_BIN/t_io" open "$MNT/c" wronly,creat pwrite 0 $((7 * MIB)) close
	assert_output "open: ok
pwrite 0 7340032: 7340032
close: ok"
	rm "$MNT/b" "$MNT/c"
	settled
	assert_equal "$(status_of bytes_used)" 0
}

@test "a daemon killed in the middle of writes, truncations and removals: the next one counts the store exactly" {
	local pid
	mount_dirstore size=64m,nr_inodes=1000
	(
		i=0
		while :; do
			i=$((i + 1))
			head -c $(((i % 7) * 300000)) /dev/zero >"$MNT/w$((i % 5))" || break
			truncate -s $(((i % 3) * 1000000)) "$MNT/t$((i % 4))" || break
			rm -f "$MNT/w$(((i + 2) % 5))" || break
			echo "$i" >"$BATS_TEST_TMPDIR/rounds"
		done
	) 2>/dev/null 3>&- &
	pid=$!
	BG_PIDS+=("$pid")
	sleep 1
	shmfs_kill9
	kill "$pid" 2>/dev/null || true
	wait "$pid" || true
	[ "$(cat "$BATS_TEST_TMPDIR/rounds")" -gt 3 ] || fail "the load did not run"
	mount_dirstore "$OPTS"
	settled
}

# One step of the random sequence, chosen by $RANDOM (seeded by the test).
random_step() {
	local f=$MNT/s$((RANDOM % 6)) g=$MNT/s$((RANDOM % 6)) len=$((RANDOM % 700 * 1000))
	case $((RANDOM % 11)) in
	0 | 1) echo "write $f $len"
		head -c "$len" /dev/zero >"$f" ;;
	2) echo "truncate $f $len"
		truncate -s "$len" "$f" ;;
	3) echo "append $f $len"
		head -c "$len" /dev/zero >>"$f" ;;
	4) echo "link $f $g"
		[ ! -f "$f" ] || ln -f "$f" "$g" ;;
	5) echo "rm $f"
		rm -f "$f" ;;
	6) echo "open-unlink-write-close $f $len"
		exec {fd}<>"$f"
		rm -f "$f"
		head -c "$len" /dev/zero >&$fd
		exec {fd}>&- ;;
	7) echo "hold $f"
		[ -n "${HELD:-}" ] || exec {HELD}<>"$f" ;;
	8) echo "release"
		[ -z "${HELD:-}" ] || exec {HELD}>&-
		HELD= ;;
	9) echo "sparse write $f $len"
		head -c 100 /dev/zero | dd of="$f" bs=1 seek="$len" conv=notrunc status=none ;;
	10) if ((RANDOM % 2)); then
			echo "remount"
			[ -z "${HELD:-}" ] || exec {HELD}>&-
			HELD=
			remount
		else
			echo "kill -9, remount"
			kill_and_remount
			[ -z "${HELD:-}" ] || exec {HELD}>&-
			HELD=
		fi ;;
	esac
}

@test "a random sequence of writes, truncations, links, removals while open, remounts and kills: status equals the store" {
	local seed=${SHMFS_TEST_SEED:-$(date +%s%N)} i
	echo "seed $seed (SHMFS_TEST_SEED=$seed repeats this run)"
	RANDOM=$seed
	mount_dirstore size=64m,nr_inodes=100
	for ((i = 0; i < 120; i++)); do
		random_step 2>&1 || true
		if ((i % 30 == 29)); then
			[ -z "${HELD:-}" ] || exec {HELD}>&-
			HELD=
			settled
		fi
	done
	[ -z "${HELD:-}" ] || exec {HELD}>&-
	settled
	remount
	settled
}
