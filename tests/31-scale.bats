#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Scale is not tied to descriptors: the daemon keeps a file handle for
# every inode the kernel has cached and only a bounded number of O_PATH
# descriptors open, reopening the others from their handles when they
# are needed. So a mount holds far more segments than the daemon may
# have descriptors, every request works on a segment whose descriptor was
# closed, and a daemon that cannot reopen handles (no
# CAP_DAC_READ_SEARCH) says that the bound does not apply.
#
# The daemons here run under a descriptor limit they cannot raise
# (setpriv drops CAP_SYS_RESOURCE, prlimit sets the limit).
# modes: passthrough cached

bats_require_minimum_version 1.5.0

load helpers

setup() {
	: "${SHMFS_BUILD_DIR:=$BATS_TEST_DIRNAME/../build}"
	TREE="$SHMFS_BUILD_DIR/contrib/bench/shmfs-bench-tree"
	[ -x "$TREE" ] || fail "shmfs-bench-tree not built at '$TREE'"
	requires root cmd:setpriv cmd:prlimit
}

@test "100,000 segments under a 4096-descriptor limit: made, listed, read and removed" {
	mount_capped 4096:4096
	assert_fd_limit 4096 4096
	mkdir "$MNT/t"
	run "$TREE" -j 2 make "$MNT/t" 100000
	assert_success
	assert_output --regexp '^make 100000 segments '
	assert_fds_below 2048
	# The kernel holds more inodes than the daemon may have descriptors.
	[ "$(status_of cached_inodes)" -gt 4096 ]

	run bash -c 'ls -l "$1" | awk "/^-/ { n[\$5]++ } END { print n[0], n[4096] }"' _ "$MNT/t"
	assert_success
	assert_output "50000 50000"
	run "$TREE" -j 2 -r 500 check "$MNT/t" 100000
	assert_success
	assert_output --regexp '^check 100000 segments '
	assert_fds_below 2048

	run rm -rf "$MNT/t"
	assert_success
	assert_output ""
	run ls -A "$MNT"
	assert_success
	assert_output ""
	assert_fds_below 2048
	run "$SHMFS" status --raw "$MNT"
	assert_success
	assert_line "inode_fds=bounded"
	assert_line "inode_fds_max=1024"
	assert_line "fd_limit=4096"
}

@test "every request works on segments and directories whose descriptors were closed" {
	mount_capped 4096:4096 -o xattr
	assert_fd_limit 4096 4096
	mkdir "$MNT/d" "$MNT/many"
	printf 'old bytes' >"$MNT/d/old"
	ln -s old "$MNT/d/link"
	setfattr -n user.k -v 1 "$MNT/d/old"
	# Five times as many segments as cached descriptors: the first ones' close.
	run "$TREE" make "$MNT/many" 5000
	assert_success
	[ "$(status_of inode_fds_open)" -le 1024 ]
	reopens=$(status_of inode_fd_reopens)

	run cat "$MNT/d/old"
	assert_success
	assert_output "old bytes"
	run readlink "$MNT/d/link"
	assert_success
	assert_output "old"
	run getfattr --absolute-names -n user.k --only-values "$MNT/d/old"
	assert_success
	assert_output "1"
	chmod 600 "$MNT/d/old"
	touch -d 2001-02-03 "$MNT/d/old"
	ln "$MNT/d/old" "$MNT/d/hard"
	mv "$MNT/d/hard" "$MNT/d/moved"
	printf 'new' >"$MNT/d/new"
	run stat -c '%a %h %y %s' "$MNT/d/moved"
	assert_success
	assert_output --regexp '^600 2 2001-02-03 00:00:00\.0+ [+-][0-9]{4} 9$'
	run ls "$MNT/d"
	assert_success
	assert_output "$(printf 'link\nmoved\nnew\nold')"
	# Those requests reopened descriptors from handles.
	[ "$(status_of inode_fd_reopens)" -gt "$reopens" ]

	run rm -r "$MNT/d" "$MNT/many"
	assert_success
	assert_output ""
	run ls -A "$MNT"
	assert_success
	assert_output ""
}

@test "a removed directory whose descriptor was closed: its requests fail with ESTALE, the daemon serves on" {
	mount_capped 4096:4096
	assert_fd_limit 4096 4096
	mkdir "$MNT/gone" "$MNT/many"
	# A process keeps the directory as its working directory while it is
	# removed; then the daemon's descriptor of it is closed to make room.
	run bash -c 'cd "$1/gone" && rmdir "$1/gone" && "$2" make "$1/many" 5000 >/dev/null &&
		ls . 2>&1; echo "ls: $?"' _ "$MNT" "$TREE"
	assert_success
	assert_output "$(printf "ls: cannot open directory '.': Stale file handle\nls: 2")"
	run "$TREE" check "$MNT/many" 5000
	assert_success
	run rm -r "$MNT/many"
	assert_success
	assert_output ""
}

@test "without CAP_DAC_READ_SEARCH: one descriptor per inode, said in status and log; the limit is raised to the hard one" {
	mount_capped 1024:8192 -dac_read_search
	assert_fd_limit 8192 8192
	run "$SHMFS" status --raw "$MNT"
	assert_success
	assert_line "inode_fds=one per inode: the daemon lacks CAP_DAC_READ_SEARCH"
	assert_line "inode_fds_max=0"
	run grep -F "descriptors of cached inodes: one per inode, unbounded (the daemon lacks CAP_DAC_READ_SEARCH)" "$SHMFS_LOG"
	assert_success
	run "$SHMFS" status "$MNT"
	assert_success
	assert_line --regexp '^descriptors: +one per cached inode \(the daemon lacks CAP_DAC_READ_SEARCH\)'
	mkdir "$MNT/t"
	run "$TREE" make "$MNT/t" 2000
	assert_success
	[ "$(daemon_fds)" -gt 2000 ]
	run "$TREE" -r 10 check "$MNT/t" 2000
	assert_success
	run rm -r "$MNT/t"
	assert_success
	assert_output ""
}

@test "the daemon raises its descriptor limit to fs.nr_open when it may" {
	local hard
	hard=$(ulimit -Hn)
	prlimit --nofile=$((hard + 1)):$((hard + 1)) true 2>/dev/null ||
		skip "cannot raise the hard descriptor limit here (no CAP_SYS_RESOURCE)"
	shmfs_mount
	nr_open=$(cat /proc/sys/fs/nr_open)
	assert_fd_limit "$nr_open" "$nr_open"
	run "$SHMFS" status --raw "$MNT"
	assert_success
	assert_line "fd_limit=$nr_open"
	assert_line "inode_fds=bounded"
}
