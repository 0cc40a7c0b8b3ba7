#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# No user's open files use up the root daemon's descriptors. On tmpfs a
# user who holds thousands of files open costs nobody else anything; the
# daemon serves every user from one descriptor table, so it holds a
# bounded number of data descriptors whatever users hold open, and other
# users' creates, opens, reads and writes go on. Every byte stays.
#
# The daemons here run under a 4096-descriptor limit they cannot raise
# (mount_capped); the holder has its own, higher one.
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
	requires root cmd:setpriv cmd:prlimit
	let_users_in
	HOLDER=""
}

teardown() {
	[ -z "${HOLD_IN:-}" ] || exec 7>&-
	if [ -n "$HOLDER" ]; then
		kill "$HOLDER" 2>/dev/null || true
		wait "$HOLDER" 2>/dev/null || true
	fi
	shmfs_teardown
}

# hold USER DIR N [unlink]: start t_holdopen as USER on DIR, holding N
# segments, and wait until it holds them (or gave up); its first line
# is in $output. end_hold lets it check them and go.
hold() {
	local i
	HOLD_OUT=$BATS_TEST_TMPDIR/hold.out
	HOLD_IN=$BATS_TEST_TMPDIR/hold.in
	mkfifo "$HOLD_IN"
	as "$1" timeout "$SHMFS_TEST_BOUND" "$SHMFS_TEST_BIN/t_holdopen" "${@:2}" \
		<"$HOLD_IN" >"$HOLD_OUT" 2>&1 &
	HOLDER=$!
	exec 7>"$HOLD_IN"
	for ((i = 0; i < 20 * SHMFS_TEST_BOUND; i++)); do
		grep -q '^holding ' "$HOLD_OUT" && break
		kill -0 "$HOLDER" 2>/dev/null || break
		sleep 0.05
	done
	run cat "$HOLD_OUT"
}

# end_hold: HOLD_STATUS is the holder's exit status, $output all it said.
end_hold() {
	HOLD_STATUS=0
	exec 7>&-
	HOLD_IN=""
	wait "$HOLDER" || HOLD_STATUS=$?
	HOLDER=""
	run cat "$HOLD_OUT"
}

# work USER DIR: as USER, make 100 segments of random bytes in DIR, read
# each back and compare, rewrite half of them in place, and check all by
# checksum; the checksums land in $BATS_TEST_TMPDIR/USER.sums.
work() {
	local src=$BATS_TEST_TMPDIR/src sums=$BATS_TEST_TMPDIR/$1.sums
	mkdir -p "$src"
	touch "$sums"
	chown "$1" "$sums"
	for i in $(seq 100); do
		head -c $((i * 997)) /dev/urandom >"$src/f$i"
	done
	chmod -R a+rX "$src"
	run as "$1" sh -c '
		set -e
		for f in "$1"/f*; do cp "$f" "$2/"; cmp "$f" "$2/${f##*/}"; done
		for i in $(seq 1 2 100); do
			dd if=/dev/urandom of="$2/f$i" bs=512 count=3 seek=1 conv=notrunc status=none
		done
		cd "$2" && sha256sum f* >"$3"
		sha256sum -c --quiet "$3"
		# A segment removed while open keeps its bytes.
		cp "$1/f100" gone
		exec 3<gone
		rm gone
		cmp "$1/f100" /dev/fd/3
		echo worked' _ "$src" "$2" "$sums"
	assert_success
	assert_output "worked"
}

# wait_status_opens N: wait until the daemon counts N open handles.
wait_status_opens() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(status_of open_handles)" = "$1" ] && return 0
		sleep 0.05
	done
	fail "open_handles is $(status_of open_handles), not $1"
}

# The daemon's bound: the O_PATH cache (a quarter of 4096) and the data
# descriptors (an eighth), with room for requests in flight.
DAEMON_BOUND=2048
# In the cached path a segment removed while open keeps a descriptor, at
# most an eighth of 4096 for all users and a quarter of those for one.
PINS_PER_USER=128

@test "a user holding 6,000 segments open: the daemon's descriptors stay bounded and another user works on" {
	mount_capped 4096:4096
	mkdir "$MNT/a" "$MNT/b"
	chown "$UA:$UA" "$MNT/a"
	chown "$UB:$UB" "$MNT/b"

	hold "$UA" "$MNT/a" 6000
	assert_line --index 0 "holding 6000 of 6000"
	assert_fds_below "$DAEMON_BOUND"

	work "$UB" "$MNT/b"
	assert_fds_below "$DAEMON_BOUND"
	# B's segments, opened again while A still holds its own.
	run as "$UB" sh -c 'cd "$1" && sha256sum -c --quiet "$2" && echo same' _ \
		"$MNT/b" "$BATS_TEST_TMPDIR/$UB.sums"
	assert_success
	assert_output "same"

	end_hold
	assert_line --index 1 "intact 6000"
	assert_equal "$HOLD_STATUS" 0
	run "$SHMFS" status --raw "$MNT"
	assert_success
	assert_line "fd_limit=4096"
	run bash -c 'cd "$1" && sha256sum -c --quiet "$2" && echo same' _ \
		"$MNT/b" "$BATS_TEST_TMPDIR/$UB.sums"
	assert_success
	assert_output "same"
}

# removed_held HOW: user A holds 6,000 segments open that have no name
# (HOW: unlink, or tmpfile), while user B works.
removed_held() {
	local want=6000 refused
	mount_capped 4096:4096
	mkdir "$MNT/a" "$MNT/b"
	chown "$UA:$UA" "$MNT/a"
	chown "$UB:$UB" "$MNT/b"
	run "$SHMFS" status --raw "$MNT"
	assert_success
	assert_line "removed_pins_per_user=$PINS_PER_USER"

	hold "$UA" "$MNT/a" "$want" "$1"
	if [ "$SHMFS_TEST_MODE" = cached ]; then
		# The daemon's descriptor is all that keeps them: one more is refused.
		want=$PINS_PER_USER
		refused="unlink $MNT/a/h$want: EBUSY"
		[ "$1" = unlink ] || refused="open $MNT/a/h$want: EMFILE"
		assert_line --index 0 "holding $want of 6000"
		assert_line --index 1 "$refused"
		assert_equal "$(status_of removed_pins)" "$want"
	else
		assert_line --index 0 "holding 6000 of 6000"
		assert_equal "$(status_of removed_pins)" 0
	fi
	run ls "$MNT/a"
	assert_success
	[ "${#lines[@]}" -le 1 ]
	assert_fds_below "$DAEMON_BOUND"

	work "$UB" "$MNT/b"
	assert_fds_below "$DAEMON_BOUND"
	# More segments than the caches hold: every descriptor not pinned is closed.
	mkdir "$MNT/churn"
	for ((i = 0; i < 3000; i++)); do
		: >"$MNT/churn/c$i"
	done
	assert_fds_below "$DAEMON_BOUND"

	end_hold
	assert_line "intact $want"
	[ "$SHMFS_TEST_MODE" != passthrough ] || assert_equal "$HOLD_STATUS" 0
	# Closed: their pins are given back.
	for ((i = 0; i < 100; i++)); do
		[ "$(status_of removed_pins)" = 0 ] && break
		sleep 0.05
	done
	assert_equal "$(status_of removed_pins)" 0
	run bash -c 'cd "$1" && sha256sum -c --quiet "$2" && echo same' _ \
		"$MNT/b" "$BATS_TEST_TMPDIR/$UB.sums"
	assert_success
	assert_output "same"
}

@test "a user holding 6,000 removed segments open: passthrough keeps them all, cached the user's share, and another user works on" {
	removed_held unlink
}

@test "a user holding 6,000 unnamed segments (O_TMPFILE) open: passthrough keeps them all, cached the user's share" {
	removed_held tmpfile
}

@test "a user holding 6,000 directories open: the daemon's descriptors stay bounded, every listing still comes" {
	mount_capped 4096:4096
	mkdir "$MNT/a" "$MNT/b"
	chown "$UA:$UA" "$MNT/a"
	chown "$UB:$UB" "$MNT/b"

	hold "$UA" "$MNT/a" 6000 dirs
	assert_line --index 0 "holding 6000 of 6000"
	assert_fds_below "$DAEMON_BOUND"

	work "$UB" "$MNT/b"
	run as "$UB" ls "$MNT/b"
	assert_success
	assert_equal "${#lines[@]}" 100
	assert_fds_below "$DAEMON_BOUND"

	# Each held directory is listed (its descriptor long closed) and its segment read.
	end_hold
	assert_line --index 1 "intact 6000"
	assert_equal "$HOLD_STATUS" 0
	assert_fds_below "$DAEMON_BOUND"
}

@test "a user mapping 6,000 transient segments it closed: the daemon waits for them without a descriptor each, then removes them" {
	mount_capped 4096:4096
	mkdir "$MNT/a" "$MNT/b"
	chown "$UA:$UA" "$MNT/a"
	chown "$UB:$UB" "$MNT/b"

	hold "$UA" "$MNT/a" 6000 mapped
	assert_line --index 0 "holding 6000 of 6000"
	assert_fds_below "$DAEMON_BOUND"
	work "$UB" "$MNT/b"
	assert_fds_below "$DAEMON_BOUND"
	# Still mapped: none is removed yet.
	run ls "$MNT/a"
	assert_success
	assert_equal "${#lines[@]}" 6000

	end_hold
	assert_line --index 1 "intact 6000"
	assert_equal "$HOLD_STATUS" 0
	for ((i = 0; i < 200; i++)); do
		[ -z "$(ls -A "$MNT/a")" ] && break
		sleep 0.05
	done
	run ls -A "$MNT/a"
	assert_success
	assert_output ""
	assert_fds_below "$DAEMON_BOUND"
}

@test "cached: a user past its share of pins does not cost another user the bytes of a removed segment both hold open" {
	[ "$SHMFS_TEST_MODE" = cached ] || skip "passthrough keeps removed segments in the kernel"
	local in=$BATS_TEST_TMPDIR/b.in out=$BATS_TEST_TMPDIR/b.out
	mount_capped 4096:4096
	mkdir "$MNT/a" "$MNT/b"
	chown "$UA:$UA" "$MNT/a"
	chown "$UB:$UB" "$MNT/b"
	head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/bytes"
	chmod a+r "$BATS_TEST_TMPDIR/bytes"
	as "$UB" cp "$BATS_TEST_TMPDIR/bytes" "$MNT/b/shared"
	chmod a+r "$MNT/b/shared"
	# A opens B's segment first, then B does, and A uses up its share.
	as "$UA" timeout "$SHMFS_TEST_BOUND" sh -c 'exec 3<"$1"; exec sleep 600' _ \
		"$MNT/b/shared" &
	BG_PIDS+=($!)
	wait_status_opens 1
	mkfifo "$in"
	as "$UB" timeout "$SHMFS_TEST_BOUND" sh -c 'exec 3<"$1"; read -r go <"$2"; cat <&3' _ \
		"$MNT/b/shared" "$in" >"$out" &
	BG_PIDS+=($!)
	wait_status_opens 2
	hold "$UA" "$MNT/a" 6000 unlink
	assert_line --index 0 "holding $PINS_PER_USER of 6000"

	# B removes its segment: the pin is B's, since A has none left.
	run as "$UB" rm "$MNT/b/shared"
	assert_success
	assert_equal "$(status_of removed_pins)" $((PINS_PER_USER + 1))
	mkdir "$MNT/churn"
	for ((i = 0; i < 3000; i++)); do
		: >"$MNT/churn/c$i"
	done
	echo go >"$in"
	wait "${BG_PIDS[1]}"
	cmp "$BATS_TEST_TMPDIR/bytes" "$out"
	end_hold
	assert_line "intact $PINS_PER_USER"
}
