#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Full file semantics: special files, renames with flags, links, attribute
# changes, setgid directories, statfs and over-long names behave as they
# do on tmpfs, and what is set is kept across a remount.
# modes: passthrough cached

load helpers

setup() {
	shmfs_mount -o size=64m
	# The reference has the mount root's mode: in a sticky world-writable
	# directory the kernel's fs.protected_* rules apply, on tmpfs as on
	# shmfs (Debian's kernels turn protected_symlinks on: root may not
	# follow a symlink there that another user owns).
	REF=$(mktemp -d /dev/shm/shmfs-ref.XXXXXX)
	chmod "$(stat -c %a "$MNT")" "$REF"
}

teardown() {
	rm -rf "$REF"
	shmfs_teardown
}

# both SCRIPT: run the Python SCRIPT (argv[1] is the directory to work in)
# on a tmpfs directory and on the mount; their outputs must be the same.
# $output holds the mount's.
both() {
	local ref
	[ "$(stat -f -c %T /dev/shm)" = tmpfs ] || skip "/dev/shm is not tmpfs"
	run python3 -c "$1" "$REF"
	assert_success
	ref=$output
	run python3 -c "$1" "$MNT"
	assert_success
	assert_equal "$output" "$ref"
}

# Python prologue: t(label, f, *args) prints "label: ok" or the errno name.
PY_T='
import ctypes, errno, os, stat, sys
os.chdir(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
def renameat2(a, b, flags):
    if libc.renameat2(-100, a.encode(), -100, b.encode(), flags):
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
def t(label, f, *args, **kw):
    try:
        r = f(*args, **kw)
        print("%s: %s" % (label, "ok" if r is None else r))
    except OSError as e:
        print("%s: %s" % (label, errno.errorcode[e.errno]))
def kind(p):
    s = os.lstat(p)
    return "%s %o %d:%d" % (stat.filemode(s.st_mode), s.st_mode & 0o7777,
                            os.major(s.st_rdev), os.minor(s.st_rdev))
'

@test "mknod makes FIFOs, sockets, devices and regular files as on tmpfs" {
	both "$PY_T"'
os.umask(0o022)
t("fifo", os.mkfifo, "fifo", 0o640)
t("mknod fifo", os.mknod, "fifo2", stat.S_IFIFO | 0o600)
t("socket", os.mknod, "sock", stat.S_IFSOCK | 0o755)
t("char", os.mknod, "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
t("block", os.mknod, "loop", stat.S_IFBLK | 0o660, os.makedev(7, 0))
t("regular", os.mknod, "reg", stat.S_IFREG | 0o644)
t("again", os.mknod, "fifo", stat.S_IFIFO | 0o600)
for n in sorted(os.listdir(".")):
    print(n, kind(n), os.lstat(n).st_size)'
	assert_line "fifo: ok"
	assert_line "socket: ok"
	assert_line "char: ok"
	assert_line "block: ok"
	assert_line "again: EEXIST"
	assert_line "null crw-r--r-- 644 1:3 0"
	assert_line "loop brw-r----- 640 7:0 0"
	assert_line "sock srwxr-xr-x 755 0:0 0"
	assert_line "fifo prw-r----- 640 0:0 0"
	assert_line "reg -rw-r--r-- 644 0:0 0"
	# The special files are kept by the store across a remount.
	shmfs_umount
	shmfs_mount -o size=64m
	run stat -c '%n %F %t:%T' "$MNT/fifo" "$MNT/sock" "$MNT/null" "$MNT/loop"
	assert_success
	assert_output "$MNT/fifo fifo 0:0
$MNT/sock socket 0:0
$MNT/null character special file 1:3
$MNT/loop block special file 7:0"
}

@test "truncate and fallocate by path or descriptor of segments never opened, as on tmpfs" {
	both "$PY_T"'
os.mknod("m", 0o100644)
t("truncate never opened", os.truncate, "m", 10)
t("size", lambda: os.stat("m").st_size)
with open("w", "w") as f:
    f.write("abc")
t("truncate after close", os.truncate, "w", 1)
t("read back", lambda: open("w").read())
fd = os.open("m", os.O_RDWR)
t("fallocate", os.posix_fallocate, fd, 0, 8192)
os.close(fd)
t("size", lambda: os.stat("m").st_size)
'
	# And again after a remount: every segment is new to the daemon.
	shmfs_umount
	SHMFS_MOUNTS=()
	SHMFS_PIDS=()
	shmfs_mount -o size=64m
	both "$PY_T"'
t("truncate after remount", os.truncate, "m", 3)
t("size", lambda: os.stat("m").st_size)
'
}

@test "a FIFO in the mount carries bytes between two processes" {
	mkfifo "$MNT/pipe"
	timeout "$SHMFS_TEST_BOUND" sh -c 'printf "through the fifo" >"$1"' sh "$MNT/pipe" 3>&- &
	writer=$!
	BG_PIDS+=("$writer")
	run timeout 10 cat "$MNT/pipe"
	assert_success
	assert_output "through the fifo"
	wait "$writer"
	run stat -c %s "$MNT/pipe"
	assert_output "0"
}

@test "renameat2 with RENAME_NOREPLACE and RENAME_EXCHANGE, as on tmpfs" {
	both "$PY_T"'
open("a", "w").write("A")
open("b", "w").write("B")
os.mkdir("d")
open("d/in", "w").write("IN")
NOREPLACE, EXCHANGE = 1, 2
t("noreplace onto a file", renameat2, "a", "b", NOREPLACE)
t("noreplace onto a dir", renameat2, "a", "d", NOREPLACE)
t("noreplace to a new name", renameat2, "a", "a2", NOREPLACE)
t("a2 holds", lambda: open("a2").read())
t("a is gone", os.stat, "a")
t("exchange files", renameat2, "a2", "b", EXCHANGE)
t("a2 now", lambda: open("a2").read())
t("b now", lambda: open("b").read())
t("exchange file and dir", renameat2, "b", "d", EXCHANGE)
t("b is a dir", lambda: sorted(os.listdir("b")))
t("d is a file", lambda: open("d").read())
t("exchange with nothing", renameat2, "d", "missing", EXCHANGE)
t("both flags", renameat2, "d", "b", NOREPLACE | EXCHANGE)
t("exchange into itself", renameat2, "b", "b/in", EXCHANGE)
t("exchange across dirs", renameat2, "a2", "b/in", EXCHANGE)
t("b/in now", lambda: open("b/in").read())
t("a2 now", lambda: open("a2").read())'
	assert_line "noreplace onto a file: EEXIST"
	assert_line "noreplace onto a dir: EEXIST"
	assert_line "noreplace to a new name: ok"
	assert_line "exchange files: ok"
	assert_line "a2 now: B"
	assert_line "b now: A"
	assert_line "exchange file and dir: ok"
	assert_line "b is a dir: ['in']"
	assert_line "d is a file: A"
	assert_line "exchange with nothing: ENOENT"
	assert_line "both flags: EINVAL"
	assert_line "b/in now: B"
	assert_line "a2 now: IN"
}

@test "symlink, readlink and link, as on tmpfs" {
	both "$PY_T"'
open("f", "w").write("data")
t("symlink", os.symlink, "f", "l")
t("readlink", os.readlink, "l")
t("through the link", lambda: open("l").read())
with open("l", "a") as w:
    w.write("+more")
t("f after a write through l", lambda: open("f").read())
t("lstat", kind, "l")
t("dangling", os.symlink, "nowhere", "dl")
t("open dangling", open, "dl")
t("readlink dangling", os.readlink, "dl")
t("symlink exists", os.symlink, "f", "l")
t("readlink of a file", os.readlink, "f")
t("long target", os.symlink, "x" * 4095, "long")
t("readlink long", lambda: len(os.readlink("long")))
t("too long target", os.symlink, "x" * 4096, "toolong")
os.mkdir("sub")
t("link", os.link, "f", "sub/h")
t("nlink", lambda: os.stat("f").st_nlink)
t("same inode", lambda: os.stat("f").st_ino == os.stat("sub/h").st_ino)
with open("sub/h", "r+") as w:
    w.write("DATA")
t("f after a write through the link", lambda: open("f").read())
t("link exists", os.link, "f", "sub/h")
t("link a dir", os.link, "sub", "sub2")
t("link the symlink", os.link, "l", "l2", follow_symlinks=False)
t("l2", kind, "l2")
os.unlink("f")
t("h outlives f", lambda: open("sub/h").read())
t("nlink after unlink", lambda: os.stat("sub/h").st_nlink)
t("l dangles now", open, "l")'
	assert_line "readlink: f"
	assert_line "through the link: data"
	assert_line "f after a write through l: data+more"
	assert_line "open dangling: ENOENT"
	assert_line "symlink exists: EEXIST"
	assert_line "readlink of a file: EINVAL"
	assert_line "readlink long: 4095"
	assert_line "too long target: ENAMETOOLONG"
	assert_line "nlink: 2"
	assert_line "same inode: True"
	assert_line "f after a write through the link: DATA+more"
	assert_line "link a dir: EPERM"
	assert_line "h outlives f: DATA+more"
	assert_line "nlink after unlink: 1"
}

@test "chmod, chown and utimes are applied as on tmpfs and kept across a remount" {
	requires root
	both "$PY_T"'
open("f", "w").write("x")
os.mkdir("d")
os.symlink("f", "l")
for m in (0o600, 0o4755, 0o2755, 0o1777, 0o0, 0o7777):
    t("chmod %o" % m, os.chmod, "f", m)
    t("mode", lambda: "%o" % stat.S_IMODE(os.stat("f").st_mode))
t("chmod dir 1777", os.chmod, "d", 0o1777)
t("chown", os.chown, "f", 1234, 5678)
t("owner", lambda: (os.stat("f").st_uid, os.stat("f").st_gid))
t("chown uid only", os.chown, "f", 4321, -1)
t("owner", lambda: (os.stat("f").st_uid, os.stat("f").st_gid))
os.chmod("f", 0o6755)
t("chown clears setuid and setgid", os.chown, "f", 1, 1)
t("mode", lambda: "%o" % stat.S_IMODE(os.stat("f").st_mode))
t("lchown", os.chown, "l", 99, 98, follow_symlinks=False)
t("link owner", lambda: (os.lstat("l").st_uid, os.lstat("l").st_gid))
t("target owner", lambda: (os.stat("f").st_uid, os.stat("f").st_gid))
t("utime", os.utime, "f", ns=(1000000000123456789, 981173106987654321))
t("times", lambda: (os.stat("f").st_atime_ns, os.stat("f").st_mtime_ns))
t("utime dir", os.utime, "d", (1, 2))
t("dir times", lambda: (os.stat("d").st_atime_ns, os.stat("d").st_mtime_ns))
t("lutime", os.utime, "l", (5, 6), follow_symlinks=False)
t("link times", lambda: (os.lstat("l").st_atime, os.lstat("l").st_mtime))
b = os.stat("f").st_ctime_ns
os.chmod("f", 0o644)
t("chmod moves ctime", lambda: os.stat("f").st_ctime_ns >= b)
os.truncate("f", 5)
t("truncate moves mtime", lambda: os.stat("f").st_mtime_ns > 981173106987654321)'
	assert_line "chmod 4755: ok"
	assert_line "mode: 7777"
	assert_line "owner: (1234, 5678)"
	assert_line "owner: (4321, 5678)"
	assert_line "link owner: (99, 98)"
	assert_line "target owner: (1, 1)"
	assert_line "times: (1000000000123456789, 981173106987654321)"
	assert_line "link times: (5.0, 6.0)"
	mtime=$(stat -c %Y "$MNT/f")
	shmfs_umount
	shmfs_mount -o size=64m
	run stat -c '%a %u %g %X %Y %s' "$MNT/f"
	assert_success
	assert_output "644 1 1 1000000000 $mtime 5"
	run stat -c '%a %X %Y' "$MNT/d"
	assert_output "1777 1 2"
	run stat -c '%u %g %X %Y' "$MNT/l"
	assert_output "99 98 5 6"
}

@test "setgid directories hand their group down, as on tmpfs" {
	requires root cmd:setpriv
	both "$PY_T"'
import subprocess
os.mkdir("sg")
os.chown("sg", 0, 4242)
os.chmod("sg", 0o2777)
open("sg/by-root", "w").close()
os.mkdir("sg/dir-by-root")
subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
    "sh", "-c", "umask 022; : >sg/by-nobody; mkdir sg/dir-by-nobody; "
    ": >sg/dir-by-nobody/deeper; mkdir sg/dir-by-nobody/deeper-dir"], check=True)
os.mkdir("plain")
os.chmod("plain", 0o777)
subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
    "sh", "-c", ": >plain/f"], check=True)
for p in ("sg/by-root", "sg/dir-by-root", "sg/by-nobody", "sg/dir-by-nobody",
          "sg/dir-by-nobody/deeper", "sg/dir-by-nobody/deeper-dir", "plain/f"):
    s = os.stat(p)
    print(p, s.st_uid, s.st_gid, stat.filemode(s.st_mode))'
	assert_line "sg/by-root 0 4242 -rw-r--r--"
	assert_line "sg/dir-by-root 0 4242 drwxr-sr-x"
	assert_line "sg/by-nobody 65534 4242 -rw-r--r--"
	assert_line "sg/dir-by-nobody 65534 4242 drwxr-sr-x"
	assert_line "sg/dir-by-nobody/deeper 65534 4242 -rw-r--r--"
	assert_line "sg/dir-by-nobody/deeper-dir 65534 4242 drwxr-sr-x"
	assert_line "plain/f 65534 65534 -rw-r--r--"
}

@test "statfs: the size= limit, free space and inodes follow what is stored" {
	local before after
	run stat -f -c '%S %b %f %a %l' "$MNT"
	assert_success
	read -r bsize blocks bfree bavail namelen <<<"$output"
	[ $((bsize * blocks)) -eq $((64 << 20)) ] || fail "size: $output"
	[ "$bfree" -eq "$blocks" ] && [ "$bavail" -eq "$blocks" ] || fail "not empty: $output"
	[ "$namelen" -eq 255 ]
	before=$(stat -f -c %d "$MNT")
	dd if=/dev/zero of="$MNT/eight" bs=1M count=8 status=none
	mkdir "$MNT/dir"
	run stat -f -c '%f %a %d' "$MNT"
	read -r bfree bavail after <<<"$output"
	[ "$bfree" -eq $((blocks - (8 << 20) / bsize)) ] || fail "free after 8 MiB: $output"
	[ "$bavail" -eq "$bfree" ]
	[ "$after" -eq $((before - 2)) ] || fail "inodes free: $before, then $after"
	rm -r "$MNT/eight" "$MNT/dir"
	run stat -f -c '%f %d' "$MNT"
	assert_output "$blocks $before"
}

@test "names over 255 bytes are ENAMETOOLONG for every call that makes a name" {
	both "$PY_T"'
n255, n256 = "a" * 255, "b" * 256
open("f", "w").close()
os.mkdir("d")
t("open 255", lambda: open(n255, "w").close())
t("open 256", lambda: open(n256, "w"))
t("stat 256", os.stat, n256)
t("mkdir 256", os.mkdir, n256)
t("mkfifo 256", os.mkfifo, n256)
t("mknod 256", os.mknod, n256, stat.S_IFREG | 0o644)
t("symlink 256", os.symlink, "f", n256)
t("link 256", os.link, "f", n256)
t("rename to 256", os.rename, "f", n256)
t("rename to d/256", os.rename, "f", "d/" + n256)
t("unlink 256", os.unlink, n256)
t("rmdir 256", os.rmdir, n256)
t("f is there", lambda: os.path.exists("f"))
t("list", lambda: sorted(len(n) for n in os.listdir(".")))'
	assert_line "open 255: ok"
	assert_line "open 256: ENAMETOOLONG"
	assert_line "mkdir 256: ENAMETOOLONG"
	assert_line "mkfifo 256: ENAMETOOLONG"
	assert_line "mknod 256: ENAMETOOLONG"
	assert_line "symlink 256: ENAMETOOLONG"
	assert_line "link 256: ENAMETOOLONG"
	assert_line "rename to 256: ENAMETOOLONG"
	assert_line "rename to d/256: ENAMETOOLONG"
	assert_line "list: [1, 1, 255]"
}
