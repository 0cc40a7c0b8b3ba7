#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# tmpfs's huge=, noswap and mpol= for the store's own tmpfs: passed to it
# when the daemon mounts one and when it remounts one that is there
# already, shown by shmfs status as the kernel has them, checked before
# anything is made (a bad value is exit 2, a value this kernel's tmpfs
# refuses one line naming it), and refused where they cannot apply: a
# directory store, which store=DIR and every unprivileged mount have.
#
# With huge=within_size, a passthrough mapping of a large segment is the
# store's own pages, so it gets transparent huge pages as on tmpfs; a
# cached one is the mount's page cache, of 4 KiB pages, whatever the store
# keeps (shmfs.8 says so).
#
# Runs as root (only root's mount has a tmpfs of its own); one test user
# for the unprivileged mount.
# modes: passthrough cached
# resources: dev_fuse

bats_require_minimum_version 1.5.0

load helpers

MIB=$((1024 * 1024))

setup_file() {
	[ "$(id -u)" = 0 ] || skip "needs root: only root's mount has a tmpfs of its own"
	users_add UA
}

teardown_file() {
	users_del
}

setup() {
	USER_MNT=""
}

teardown() {
	if [ -n "$USER_MNT" ] && shmfs_is_mounted "$USER_MNT"; then
		fusermount3 -u -z "$USER_MNT" || umount -l "$USER_MNT"
	fi
	[ -z "${UA_ID:-}" ] || rm -rf "/dev/shm/shmfs-$UA_ID"
	shmfs_teardown
	if [ -n "${REF:-}" ] && mountpoint -q "$REF"; then
		umount "$REF"
	fi
}

# The default store of the mountpoint $1 (shmfs.8, FILES), without a mount.
store_of() {
	echo "/run/shmfs/$(store_key "$1")"
}

# The superblock options of the store's tmpfs of the mount at MNT, found
# through shmfs status, as the daemon's mount namespace (this one) shows them.
store_options() {
	local store
	store=$("$SHMFS" status --raw "$MNT" | sed -n 's/^store=//p')
	[ -n "$store" ] || fail "no store= in the status of '$MNT'"
	# mountinfo writes a backslash as \134, and the store's name may hold one.
	M=$store awk '{ f = $5; gsub(/\\134/, "\\", f) } f == ENVIRON["M"] { o = $NF }
		END { if (o == "") exit 1; print o }' /proc/self/mountinfo
}

# requires_tmpfs OPTION: skip unless this kernel's tmpfs takes OPTION.
requires_tmpfs() {
	local t=$BATS_TEST_TMPDIR/probe out
	mkdir -p "$t"
	if ! out=$(mount -t tmpfs -o "$1" shmfs-test-probe "$t" 2>&1); then
		skip "this kernel's tmpfs refuses '$1': $out"
	fi
	umount "$t"
}

# requires_thp: skip unless tmpfs may give huge pages to a huge=within_size mount.
requires_thp() {
	local f=/sys/kernel/mm/transparent_hugepage/shmem_enabled
	[ -r "$f" ] || skip "no transparent huge pages here ($f is missing)"
	grep -qw within_size "$f" || skip "$f lacks within_size: $(cat "$f")"
	! grep -q '\[deny\]' "$f" || skip "$f is deny: no tmpfs gets huge pages"
}

# A fresh mountpoint's default store must be gone, and nothing mounted there.
assert_nothing_made() {
	[ ! -e "$(store_of "$1")" ] || fail "a store was made for '$1'"
	! shmfs_is_mounted "$1" || fail "'$1' was mounted"
}

# refused STATUS MESSAGE OPTS...: a mount of a fresh mountpoint with each
# -o OPTS fails with STATUS and one line that says MESSAGE, and makes nothing.
refused() {
	local status=$1 msg=$2 opts mp
	shift 2
	for opts in "$@"; do
		mp=$BATS_TEST_TMPDIR/refused
		mkdir -p "$mp"
		mp=$(cd "$mp" && pwd -P)
		run --separate-stderr "$SHMFS" mount -o "$(shmfs_mode_option),$opts" "$mp"
		assert_failure "$status"
		assert_output ""
		assert_equal "${#stderr_lines[@]}" 1
		[[ $stderr == *"$msg"* ]] || fail "-o $opts: '$stderr' does not say '$msg'"
		assert_nothing_made "$mp"
	done
}

@test "huge=within_size: a 64 MiB segment mapped through the mount gets huge pages in passthrough" {
	requires_thp
	shmfs_mount -o huge=within_size
	run store_options
	assert_success
	assert_output --regexp '(^|,)huge=within_size(,|$)'
	run "$SHMFS" status "$MNT"
	assert_line --regexp '^store options: huge=within_size$'
	run "$SHMFS_TEST_BIN/t_thp" map "$MNT/big" $((64 * MIB))
	assert_success
	assert_line --regexp "^[0-9a-f]+-[0-9a-f]+ rw-s .* $MNT/big\$"
	local pmd
	pmd=$(sed -n 's/^pmd_kb //p' <<<"$output")
	if [ "$SHMFS_TEST_MODE" = passthrough ] && [ "$pmd" -eq 0 ]; then
		# Only a kernel that gives tmpfs no huge page either excuses it.
		REF=$BATS_TEST_TMPDIR/ref
		mkdir "$REF"
		mount -t tmpfs -o huge=within_size,size=64m shmfs-test-ref "$REF"
		run "$SHMFS_TEST_BIN/t_thp" map "$REF/big" $((64 * MIB))
		assert_success
		assert_line "pmd_kb 0"
		skip "the kernel gave no huge page to tmpfs itself either (memory fragmented?)"
	fi
	if [ "$SHMFS_TEST_MODE" = passthrough ]; then
		[ "$pmd" -gt 0 ] || fail "no huge page in the mapping"
	else
		# The mount's page cache, as shmfs.8 says: 4 KiB pages whatever the store keeps.
		assert_equal "$pmd" 0
	fi
	run "$SHMFS_TEST_BIN/t_thp" check "$MNT/big" $((64 * MIB))
	assert_success
	assert_output "checked $((64 * MIB)) bytes"
	run stat -c %s "$MNT/big"
	assert_output $((64 * MIB))
}

@test "huge=never, always, advise reach the store's tmpfs as they are" {
	requires_thp
	local v
	for v in always advise never; do
		shmfs_mount -o "huge=$v"
		run store_options
		assert_success
		if [ "$v" = never ]; then
			# tmpfs shows huge= only when it is not its default.
			refute_output --partial "huge="
		else
			assert_output --regexp "(^|,)huge=$v(,|\$)"
		fi
		printf 'x%.0s' {1..5000} >"$MNT/seg"
		run cat "$MNT/seg"
		assert_output "$(printf 'x%.0s' {1..5000})"
		shmfs_umount
		"$SHMFS" discard "$MNT"
	done
}

@test "noswap: the store's tmpfs has it (its mountinfo, found through shmfs status)" {
	requires_tmpfs noswap
	shmfs_mount -o noswap,size=16m
	run store_options
	assert_success
	assert_output --regexp '(^|,)noswap(,|$)'
	assert_output --regexp '(^|,)size=16384k(,|$)'
	run "$SHMFS" status --raw "$MNT"
	assert_line "store_options=noswap"
	run "$SHMFS" status "$MNT"
	assert_line "store options: noswap"
	echo data >"$MNT/seg"
	run cat "$MNT/seg"
	assert_output data
}

@test "noswap on a store tmpfs mounted without it: one line, and the segments are kept" {
	requires_tmpfs noswap
	shmfs_mount
	echo kept >"$MNT/seg"
	shmfs_umount
	run --separate-stderr "$SHMFS" mount -o "$(shmfs_mode_option),noswap" "$MNT"
	assert_failure 1
	assert_equal "${#stderr_lines[@]}" 1
	assert_equal "$stderr" "shmfs: the store's tmpfs at '$(store_of "$MNT")' was mounted without noswap, which tmpfs cannot turn on later (discarding the store, and its segments, lets a new one have it)"
	! shmfs_is_mounted "$MNT"
	shmfs_mount
	run cat "$MNT/seg"
	assert_output kept
	# The other way is no change: a store with noswap keeps it when not asked again.
	shmfs_umount
	"$SHMFS" discard "$MNT"
	shmfs_mount -o noswap
	shmfs_umount
	shmfs_mount -o size=8m
	run store_options
	assert_output --regexp '(^|,)noswap(,|$)'
	assert_output --regexp '(^|,)size=8192k(,|$)'
}

@test "mpol=local and mpol=default are passed, default never silently over another; node lists whole" {
	[ -d /sys/devices/system/node/node0 ] || skip "a kernel without NUMA ignores mpol="
	shmfs_mount -o mpol=local
	run store_options
	assert_output --regexp '(^|,)mpol=local(,|$)'
	run "$SHMFS" status "$MNT"
	assert_line "store options: mpol=local"
	echo one >"$MNT/seg"
	shmfs_umount
	# tmpfs takes mpol=default on a remount and keeps its policy: refused, not ignored.
	run --separate-stderr "$SHMFS" mount -o "$(shmfs_mode_option),mpol=default" "$MNT"
	assert_failure 1
	assert_equal "$stderr" "shmfs: the store's tmpfs at '$(store_of "$MNT")' has mpol=local, which tmpfs does not set back to mpol=default on a remount (discarding the store, and its segments, lets a new one have it)"
	! shmfs_is_mounted "$MNT"
	"$SHMFS" discard "$MNT"
	# mpol=default is tmpfs's default, which it shows as nothing.
	shmfs_mount -o mpol=default
	run store_options
	refute_output --partial mpol=
	run "$SHMFS" status "$MNT"
	assert_line "store options: tmpfs's defaults (huge=never, mpol=default, swap)"
	shmfs_umount
	shmfs_mount -o mpol=default
	shmfs_umount
	# "bind:0,0" is node 0 twice: the one list with a comma that any machine has.
	shmfs_mount -o mpol=bind:0,0,size=8m
	run store_options
	assert_output --regexp '(^|,)mpol=bind:0(,|$)'
	assert_output --regexp '(^|,)size=8192k(,|$)'
}

@test "a remount keeps what is not asked again, and shmfs status shows what the tmpfs has" {
	requires_thp
	[ -d /sys/devices/system/node/node0 ] || skip "a kernel without NUMA ignores mpol="
	shmfs_mount
	head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/data"
	cp "$BATS_TEST_TMPDIR/data" "$MNT/seg"
	shmfs_umount
	shmfs_mount -o huge=advise,mpol=local
	run "$SHMFS" status "$MNT"
	assert_line "store options: huge=advise,mpol=local"
	shmfs_umount
	shmfs_mount
	run "$SHMFS" status "$MNT"
	assert_line "store options: huge=advise,mpol=local"
	cmp "$BATS_TEST_TMPDIR/data" "$MNT/seg"
	shmfs_umount
	shmfs_mount -o huge=never
	run "$SHMFS" status --raw "$MNT"
	assert_line "store_options=mpol=local"
	cmp "$BATS_TEST_TMPDIR/data" "$MNT/seg"
}

@test "bad values: one line naming the option, exit 2, nothing made" {
	local opt
	for opt in huge= huge=yes huge=Always huge=deny mpol= mpol=bogus mpol=bind \
		mpol=bind: mpol=prefer mpol=prefer:0-1 mpol=local:0 mpol=default=static \
		mpol=bind=sticky:0 mpol=bind:2-1 mpol=interleave:a; do
		refused 2 "shmfs: bad value in option '$opt'" "$opt"
	done
	# The node list goes on after a comma; its next piece is checked with it.
	refused 2 "shmfs: bad value in option 'mpol=prefer:0,1'" mpol=prefer:0,1
	refused 2 "shmfs: unknown option 'noswap=1'" noswap=1
	refused 2 "shmfs: unknown option '1'" mpol=local,1
}

@test "values this kernel's tmpfs refuses: one line naming the option, exit 1, nothing made" {
	# No machine has node 1023 with memory, and tmpfs checks that at once.
	refused 1 "shmfs: this kernel's tmpfs refuses 'mpol=bind:1023': tmpfs: Bad value for 'mpol'" \
		mpol=bind:1023
	refused 1 "refuses 'mpol=prefer:1023'" huge=never,mpol=prefer:1023
	if ! grep -qw within_size /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null; then
		refused 1 "refuses 'huge=within_size'" huge=within_size
	fi
}

@test "on a directory store (store=DIR): refused in one line, nothing made" {
	local opt
	mkdir "$BATS_TEST_TMPDIR/mnt"
	for opt in huge=within_size noswap mpol=local; do
		run --separate-stderr "$SHMFS" mount -o "$(shmfs_mode_option),store=$BATS_TEST_TMPDIR/store,$opt" \
			"$BATS_TEST_TMPDIR/mnt"
		assert_failure 1
		assert_output ""
		assert_equal "$stderr" "shmfs: '$opt' is an option of the store's own tmpfs, which a directory store (store=DIR) does not have"
		[ ! -e "$BATS_TEST_TMPDIR/store" ]
	done
	! shmfs_is_mounted "$BATS_TEST_TMPDIR/mnt"
	# Without them, the same store mounts.
	shmfs_mount -o "store=$BATS_TEST_TMPDIR/store"
	run "$SHMFS" status --raw "$MNT"
	assert_line "store_kind=directory"
	refute_line --partial "store_options="
	run "$SHMFS" status "$MNT"
	refute_line --partial "store options:"
}

@test "an unprivileged mount, whose store is a directory: refused in one line" {
	[ "$SHMFS_TEST_MODE" = cached ] || skip "a user's mount is cached: run in that pass only"
	let_users_in
	USER_MNT=$BATS_TEST_TMPDIR/umnt
	mkdir "$USER_MNT"
	chown "$UA:" "$USER_MNT"
	run --separate-stderr as "$UA" "$SHMFS" mount -o huge=within_size "$USER_MNT"
	assert_failure 1
	assert_equal "$stderr" "shmfs: 'huge=within_size' is an option of the store's own tmpfs, which a mount without CAP_SYS_ADMIN does not get (its store is a directory)"
	! shmfs_is_mounted "$USER_MNT"
	[ ! -e "/dev/shm/shmfs-$UA_ID" ]
}
