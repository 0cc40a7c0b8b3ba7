#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# "cmake --install": every file lands where it should, under --prefix or
# DESTDIR and never outside, the installed binary and helper work, the man
# page documents what --help lists, and the systemd units are valid.

load helpers

: "${SHMFS_BUILD_DIR:=$BATS_TEST_DIRNAME/../build}"

setup() {
	P=$BATS_TEST_TMPDIR/prefix
	mkdir -p "$BATS_TEST_TMPDIR/mnt"
	MNT=$(realpath "$BATS_TEST_TMPDIR/mnt")
	SHARED_MNT=
}

teardown() {
	local mnt i
	for mnt in "$MNT" $SHARED_MNT; do
		if shmfs_is_mounted "$mnt"; then
			"$SHMFS" umount "$mnt" >/dev/null 2>&1 || umount -l "$mnt"
		fi
		for ((i = 0; i < 100; i++)); do
			"$SHMFS" discard "$mnt" 2>&1 | grep -q 'in use' || break
			sleep 0.1
		done
	done
	[ -z "$SHARED_MNT" ] || rmdir "$SHARED_MNT"
	shmfs_teardown
}

cache_value() {
	sed -n "s/^$1:[A-Z]*=//p" "$SHMFS_BUILD_DIR/CMakeCache.txt"
}

have_libshmfs() {
	[ -d "$SHMFS_BUILD_DIR/src/lib/CMakeFiles/libshmfs.dir" ]
}

# A GNUInstallDirs directory as configured (empty cache entries take
# their defaults).
install_dir() {
	local v
	v=$(cache_value "CMAKE_INSTALL_$1")
	[ -n "$v" ] || v=$2
	echo "$v"
}

# PREFIX SBIN UNITDIR: every file an install must produce.
expected_files() {
	local prefix=$1 sbin=$2 units=$3 lib
	local man data
	man=$(install_dir MANDIR share/man)
	data=$(install_dir DATADIR share)
	echo "$prefix/$(install_dir BINDIR bin)/shmfs"
	echo "$sbin/mount.shmfs"
	echo "$sbin/mount.fuse.shmfs"
	echo "$prefix/$man/man8/shmfs.8"
	echo "$units/mnt-shm.mount"
	echo "$units/shmfs@.service"
	echo "$units/shmfs-devshm@.service"
	echo "$prefix/$data/shmfs/shmfs-devshm.conf"
	echo "$prefix/$data/bash-completion/completions/shmfs"
	if have_libshmfs; then
		lib=$(install_dir LIBDIR lib)
		echo "$prefix/$lib/libshmfs.so"
		echo "$prefix/$(install_dir INCLUDEDIR include)/shmfs.h"
		echo "$prefix/$lib/pkgconfig/shmfs.pc"
	fi
}

# Every path in the install manifest starts with $1.
manifest_under() {
	local line
	[ -s "$SHMFS_BUILD_DIR/install_manifest.txt" ] || return 1
	while IFS= read -r line; do
		[[ $line == "$1"/* ]] || { echo "outside '$1': $line"; return 1; }
	done <"$SHMFS_BUILD_DIR/install_manifest.txt"
}

# The files staged under DESTDIR $1 are exactly those of the manifest
# (which names them without DESTDIR): nothing went anywhere else.
manifest_is_stage() {
	diff <(sort "$SHMFS_BUILD_DIR/install_manifest.txt") \
		<(cd "$1" && find . \( -type f -o -type l \) | sed 's/^\.//' | sort)
}

install_to_prefix() {
	run cmake --install "$SHMFS_BUILD_DIR" --prefix "$P"
	assert_success
	assert_output --partial "Installing: $P/bin/shmfs"
}

@test "--prefix installs every file under the prefix" {
	local f
	install_to_prefix
	while IFS= read -r f; do
		[ -e "$f" ] || fail "missing: $f"
	done < <(expected_files "$P" "$P/sbin" "$P/lib/systemd/system")
	run manifest_under "$P"
	assert_success
	assert_output ""
	[ -x "$P/bin/shmfs" ] && [ -x "$P/sbin/mount.shmfs" ]
	run readlink "$P/sbin/mount.fuse.shmfs"
	assert_success
	assert_output mount.shmfs
	run grep -x "SHMFS='$P/bin/shmfs'" "$P/sbin/mount.shmfs"
	assert_success
	assert_output "SHMFS='$P/bin/shmfs'"
	run grep -x "ExecStart=$P/bin/shmfs mount shmfs %f -o mode=1777,allow_other" \
		"$P/lib/systemd/system/shmfs@.service"
	assert_success
	assert_output "ExecStart=$P/bin/shmfs mount shmfs %f -o mode=1777,allow_other"
	run cmp "$BATS_TEST_DIRNAME/../mount/shmfs.8" "$P/share/man/man8/shmfs.8"
	assert_success
	assert_output ""
	run bash -c 'source "$1" && complete -p shmfs' bash \
		"$P/share/bash-completion/completions/shmfs"
	assert_success
	assert_output "complete -F _shmfs shmfs"
}

@test "DESTDIR stages the configured directories and nothing else" {
	local prefix sbin units bindir f real_before
	prefix=$(cache_value CMAKE_INSTALL_PREFIX)
	sbin=$(cache_value SHMFS_MOUNT_HELPER_DIR)
	units=$(cache_value SHMFS_SYSTEMD_UNIT_DIR)
	bindir=$(cache_value CMAKE_INSTALL_BINDIR)
	[ -n "$prefix" ] && [ -n "$sbin" ] && [ -n "$units" ] && [ -n "$bindir" ]
	real_before=$(ls -d "$sbin/mount.shmfs" "$units/mnt-shm.mount" 2>/dev/null || true)
	run env DESTDIR="$BATS_TEST_TMPDIR/stage" cmake --install "$SHMFS_BUILD_DIR"
	assert_success
	assert_output --partial "Installing: $BATS_TEST_TMPDIR/stage$prefix/"
	while IFS= read -r f; do
		[ -e "$BATS_TEST_TMPDIR/stage$f" ] || fail "missing: stage$f"
	done < <(expected_files "$prefix" "$sbin" "$units")
	run manifest_is_stage "$BATS_TEST_TMPDIR/stage"
	assert_success
	assert_output ""
	# The helper names the binary where it will be, not where it was staged.
	run grep -x "SHMFS='$prefix/$bindir/shmfs'" "$BATS_TEST_TMPDIR/stage$sbin/mount.shmfs"
	assert_success
	assert_output "SHMFS='$prefix/$bindir/shmfs'"
	[ "$(ls -d "$sbin/mount.shmfs" "$units/mnt-shm.mount" 2>/dev/null || true)" = "$real_before" ]
}

@test "DESTDIR and --prefix together" {
	local f
	run env DESTDIR="$BATS_TEST_TMPDIR/stage" cmake --install "$SHMFS_BUILD_DIR" --prefix /opt/shmfs
	assert_success
	assert_output --partial "Installing: $BATS_TEST_TMPDIR/stage/opt/shmfs/sbin/mount.shmfs"
	while IFS= read -r f; do
		[ -e "$BATS_TEST_TMPDIR/stage$f" ] || fail "missing: stage$f"
	done < <(expected_files /opt/shmfs /opt/shmfs/sbin /opt/shmfs/lib/systemd/system)
	run manifest_is_stage "$BATS_TEST_TMPDIR/stage"
	assert_success
	assert_output ""
	run manifest_under /opt/shmfs
	assert_success
	assert_output ""
	run grep -x "SHMFS='/opt/shmfs/bin/shmfs'" "$BATS_TEST_TMPDIR/stage/opt/shmfs/sbin/mount.shmfs"
	assert_success
	assert_output "SHMFS='/opt/shmfs/bin/shmfs'"
}

@test "the installed binary runs" {
	install_to_prefix
	run "$P/bin/shmfs" --version
	assert_success
	assert_output "shmfs $(cache_value CMAKE_PROJECT_VERSION)"
	run "$P/bin/shmfs" --help
	assert_success
	assert_output --partial "shmfs mount"
}

@test "the installed helper and binary mount, serve and unmount" {
	install_to_prefix
	run "$P/sbin/mount.shmfs" shmfs "$MNT" -o rw,size=16m,nofail
	assert_success
	assert_output ""
	shmfs_is_mounted "$MNT"
	printf 'installed' >"$MNT/seg"
	run cat "$MNT/seg"
	assert_success
	assert_output installed
	run "$P/bin/shmfs" status "$MNT"
	assert_success
	assert_output --partial "of 16.0 MiB"
	run "$P/bin/shmfs" umount "$MNT"
	assert_success
	assert_output ""
	refute shmfs_is_mounted "$MNT"
}

# The commands, flags and option names that --help lists, one a line.
help_words() {
	local line col item
	"$SHMFS" --help | sed -n 's/^  shmfs \([a-z]*\).*/\1/p'
	"$SHMFS" --help | grep -oE '(^|[][ |,])--?[a-zA-Z][a-zA-Z-]*' | sed 's/^[][ |,]//'
	"$SHMFS" --help | sed -n '/^Mount options/,/^$/p' | sed 1d | while IFS= read -r line; do
		col=${line#  }
		col=${col%%  *}
		while IFS= read -r item; do
			[ -n "$item" ] || continue
			if [[ $item == *=* ]]; then
				echo "${item%%=*}="
				[[ ${item#*=} =~ ^[a-z]+(\|[a-z]+)+$ ]] && tr '|' '\n' <<<"${item#*=}"
			else
				echo "$item"
			fi
		done < <(sed 's/, /\n/g' <<<"$col")
	done
}

# The installed man page as text; the roff source if man(1) is missing.
man_text() {
	if command -v man >/dev/null; then
		LC_ALL=C MANWIDTH=200 man -l "$1" 2>/dev/null | col -b
	else
		sed 's/\\-/-/g; s/\\f[BIRP]//g; s/\\&//g' "$1"
	fi
}

@test "the man page documents every command, flag and option of --help" {
	local words w text missing=
	install_to_prefix
	words=$(help_words | sort -u)
	[ "$(wc -l <<<"$words")" -ge 20 ] || fail "too few words parsed from --help: $words"
	text=$(man_text "$P/share/man/man8/shmfs.8")
	[ -n "$text" ]
	for w in $words; do
		if [[ $w == *= ]]; then
			grep -qE -- "(^|[^a-zA-Z_-])$w" <<<"$text" || missing+=" $w"
		else
			grep -qE -- "(^|[^a-zA-Z_-])$w([^a-zA-Z_]|$)" <<<"$text" || missing+=" $w"
		fi
	done
	[ -z "$missing" ] || fail "not in the man page:$missing"
	for w in mount umount status discard create ls rm; do
		grep -qE "^ +shmfs $w( |$)" <<<"$text" || fail "no synopsis for '$w'"
	done
}

@test "the man page renders without groff warnings" {
	requires cmd:groff
	run groff -man -Tutf8 -ww -z "$BATS_TEST_DIRNAME/../mount/shmfs.8"
	assert_success
	assert_output ""
}

@test "systemd-analyze verify accepts the installed units" {
	local units=$P/lib/systemd/system
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	install_to_prefix
	run env MANPATH="$P/share/man" systemd-analyze verify "$units/mnt-shm.mount" \
		"$units/shmfs@mnt-shm.service" "$units/shmfs-devshm@demo.service"
	assert_success
	assert_output ""
}

# CAP_NAME... -> the bit mask /proc/PID/status shows, in hex.
cap_mask() {
	local cap mask=0 bit
	for cap in "$@"; do
		case $cap in
		CAP_CHOWN) bit=0 ;;
		CAP_DAC_OVERRIDE) bit=1 ;;
		CAP_DAC_READ_SEARCH) bit=2 ;;
		CAP_FOWNER) bit=3 ;;
		CAP_FSETID) bit=4 ;;
		CAP_SETGID) bit=6 ;;
		CAP_SETUID) bit=7 ;;
		CAP_SYS_ADMIN) bit=21 ;;
		*) echo "unknown capability $cap" >&2; return 1 ;;
		esac
		mask=$((mask | 1 << bit))
	done
	printf '%016x\n' "$mask"
}

@test "the service's capability set is enough for a multi-user mount" {
	local caps setcaps pid c
	requires root cmd:setpriv
	install_to_prefix
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$P/lib/systemd/system/shmfs@.service")
	[ -n "$caps" ]
	setcaps=-all
	for c in $caps; do
		c=${c#CAP_}
		setcaps+=,+${c,,}
	done
	# Other users must reach the mountpoint, so it cannot be under BATS_TEST_TMPDIR.
	SHARED_MNT=$(mktemp -d /tmp/shmfs-caps.XXXXXX)
	chmod 0755 "$SHARED_MNT"
	run setpriv --no-new-privs --bounding-set "$setcaps" \
		"$P/bin/shmfs" mount shmfs "$SHARED_MNT" -o mode=1777,allow_other,size=16m
	assert_success
	assert_output ""
	run "$P/bin/shmfs" status "$SHARED_MNT"
	assert_success
	assert_output --partial "daemon pid:"
	pid=$(sed -n 's/^daemon pid: *//p' <<<"$output")
	[ -n "$pid" ]
	run sed -n 's/^CapEff:\t//p' "/proc/$pid/status"
	assert_success
	assert_output "$(cap_mask $caps)"
	run setpriv --reuid=65534 --regid=65534 --clear-groups \
		sh -c 'printf nobody >"$1/seg" && cat "$1/seg"' sh "$SHARED_MNT"
	assert_success
	assert_output nobody
	run stat -c %u:%g "$SHARED_MNT/seg"
	assert_success
	assert_output 65534:65534
	run setpriv --no-new-privs --bounding-set "$setcaps" "$P/bin/shmfs" umount "$SHARED_MNT"
	assert_success
	assert_output ""
	refute shmfs_is_mounted "$SHARED_MNT"
}
