#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The systemd recipe that gives one service shmfs as its /dev/shm
# (mount/shmfs-devshm@.service.in and mount/shmfs-devshm.conf):
# systemd-analyze accepts the units, the two name the same mount, and the
# mechanism they rely on, a shmfs mount bound onto /dev/shm in the
# service's own mount namespace, serves POSIX shared memory there.

load helpers
bats_require_minimum_version 1.5.0

MOUNT_DIR=$BATS_TEST_DIRNAME/../mount

# UNITS: a unit directory with the template (naming this build's binary),
# a service demo.service, and the drop-in for it as DROPIN.
make_units() {
	UNITS=$BATS_TEST_TMPDIR/units
	DROPIN=$UNITS/demo.service.d/shmfs-devshm.conf
	mkdir -p "$UNITS/demo.service.d" "$BATS_TEST_TMPDIR/man/man8"
	cp "$MOUNT_DIR/shmfs.8" "$BATS_TEST_TMPDIR/man/man8/"
	sed "s|@SHMFS_BINARY@|$SHMFS|g" "$MOUNT_DIR/shmfs-devshm@.service.in" \
		>"$UNITS/shmfs-devshm@.service"
	printf '[Unit]\nDescription=a demo\n\n[Service]\nExecStart=/bin/sleep 1\n' \
		>"$UNITS/demo.service"
	cp "$MOUNT_DIR/shmfs-devshm.conf" "$DROPIN"
}

verify() {
	MANPATH=$BATS_TEST_TMPDIR/man systemd-analyze verify "$@"
}

@test "systemd-analyze verify accepts the template and a service with the drop-in" {
	command -v systemd-analyze >/dev/null ||
		skip "systemd-analyze is not installed (Debian: the systemd package)"
	make_units
	run verify "$UNITS/demo.service" "$UNITS/shmfs-devshm@demo.service"
	assert_success
	assert_output ""
	# A control: verify reads the drop-in, and says so of a key it does not know.
	sed -i 's/^BindPaths=/BindPath=/' "$DROPIN"
	run verify "$UNITS/demo.service"
	assert_output --partial "Unknown key 'BindPath'"
}

@test "the drop-in binds the mount that the template makes, for the service it is in" {
	local mp
	mp=$(sed -n 's/^ExecStart=[^ ]* mount shmfs \([^ ]*\) .*/\1/p' \
		"$MOUNT_DIR/shmfs-devshm@.service.in")
	[ "$mp" = "/run/shmfs-devshm/%i" ]
	run grep -E '^(BindsTo|After|BindPaths)=' "$MOUNT_DIR/shmfs-devshm.conf"
	assert_success
	assert_output "BindsTo=shmfs-devshm@%N.service
After=shmfs-devshm@%N.service
BindPaths=/run/shmfs-devshm/%N:/dev/shm"
	run grep -E '^ExecStart=' "$MOUNT_DIR/shmfs-devshm@.service.in"
	assert_output --partial "-o mode=1777,allow_other"
}

@test "a shmfs mount bound onto /dev/shm in another mount namespace serves shm_open there" {
	requires root cmd:unshare
	shmfs_mount -o mode=1777
	run timeout "$SHMFS_TEST_BOUND" unshare -m --propagation private bash -c '
		mount --bind "$1" /dev/shm || exit
		devshm_is_shmfs && "$2" shm /bound 65536' sh "$MNT" "$SHMFS_TEST_BIN/t_posixshm" 3>&-
	assert_success
	assert_output "/dev/shm: shmfs
fstype: fuse
peer: 65536 bytes, first half right
second half right (mapping and pread)
unlinked"
	# The segment came and went on the mount itself.
	timeout "$SHMFS_TEST_BOUND" unshare -m --propagation private bash -c '
		mount --bind "$1" /dev/shm && exec 4>/dev/shm/kept && echo $$ >"$2.new" &&
		mv "$2.new" "$2" && exec sleep 300' sh "$MNT" "$BATS_TEST_TMPDIR/pid" 3>&- &
	BG_PIDS+=($!)
	wait_for "$BATS_TEST_TMPDIR/pid"
	run --separate-stderr "$SHMFS" ls --holders "$MNT"
	assert_success
	assert_line --regexp "^kept +0 "
	assert_line "  held by pid $(cat "$BATS_TEST_TMPDIR/pid") (root, sleep): open"
}
