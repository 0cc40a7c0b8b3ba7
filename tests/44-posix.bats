#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# POSIX shared memory with shmfs as /dev/shm, through "shmfs exec": glibc's
# shm_open() and sem_open() (which needs link() there), Python's
# multiprocessing.shared_memory and multiprocessing.Lock work unchanged,
# and each test shows that what they made lived on shmfs.
# modes: passthrough cached

load helpers

@test "shm_open + ftruncate + mmap in one process, shm_open by name in another: bytes both ways" {
	run shmfs_exec bash -c 'devshm_is_shmfs && "$1" shm /posix-shm 1048699' \
		sh "$SHMFS_TEST_BIN/t_posixshm"
	assert_success
	assert_output "/dev/shm: shmfs
fstype: fuse
peer: 1048699 bytes, first half right
second half right (mapping and pread)
unlinked"
}

@test "sem_open, sem_wait and sem_post: a ping-pong of 2000 rounds between two processes" {
	run shmfs_exec bash -c 'devshm_is_shmfs && "$1" sem posix-sem 2000' \
		sh "$SHMFS_TEST_BIN/t_posixshm"
	assert_success
	assert_output "/dev/shm: shmfs
fstype: fuse
2000 rounds
unlinked"
}

@test "Python SharedMemory: created in one process, attached by name in another" {
	cat >"$BATS_TEST_TMPDIR/shm.py" <<-'EOF'
	import os, subprocess, sys
	from multiprocessing import shared_memory
	name = "posix-py-%d" % os.getpid()
	shm = shared_memory.SharedMemory(name=name, create=True, size=100003)
	try:
	    shm.buf[:5] = b"hello"
	    st, top = os.stat("/dev/shm/" + name), os.stat("/dev/shm")
	    print("segment on /dev/shm:", st.st_dev == top.st_dev, st.st_size)
	    peer = "\n".join([
	        "import sys",
	        "from multiprocessing import resource_tracker, shared_memory",
	        "s = shared_memory.SharedMemory(name=sys.argv[1])",
	        # The creator unlinks it, not the peer's resource tracker.
	        "resource_tracker.unregister(s._name, 'shared_memory')",
	        "print('peer read:', bytes(s.buf[:5]).decode(), s.size)",
	        "s.buf[5:11] = b' world'",
	        "s.close()",
	    ])
	    subprocess.run([sys.executable, "-c", peer, name], check=True, timeout=60)
	    print("creator read:", bytes(shm.buf[:11]).decode())
	finally:
	    shm.close()
	    shm.unlink()
	print("after unlink:", os.path.exists("/dev/shm/" + name))
	EOF
	run shmfs_exec bash -c 'devshm_is_shmfs && python3 "$1"' sh "$BATS_TEST_TMPDIR/shm.py"
	assert_success
	assert_output "/dev/shm: shmfs
segment on /dev/shm: True 100003
peer read: hello 100003
creator read: hello world
after unlink: False"
}

@test "a multiprocessing.Lock counter shared by four processes counts exactly" {
	cat >"$BATS_TEST_TMPDIR/lock.py" <<-'EOF'
	import multiprocessing as mp, os, time

	def work(lock, value, n):
	    for _ in range(n):
	        with lock:
	            v = value.value
	            time.sleep(0)    # let another process in, if the lock would
	            value.value = v + 1

	def on_devshm(line, dev):
	    major, minor = (int(x, 16) for x in line.split()[3].split(":"))
	    return os.makedev(major, minor) == dev

	if __name__ == "__main__":
	    # spawn: the workers open the lock's semaphore by its name.
	    ctx = mp.get_context("spawn")
	    lock = ctx.Lock()
	    value = ctx.Value("i", 0, lock=False)
	    dev = os.stat("/dev/shm").st_dev
	    sems = [n for n in os.listdir("/dev/shm") if n.startswith("sem.mp-")]
	    maps = [l for l in open("/proc/self/maps") if "/dev/shm/" in l]
	    print("lock's semaphore in /dev/shm:", len(sems))
	    print("value mapped from /dev/shm:", any(on_devshm(l, dev) for l in maps))
	    workers = [ctx.Process(target=work, args=(lock, value, 2500)) for _ in range(4)]
	    for w in workers:
	        w.start()
	    for w in workers:
	        w.join(120)
	    print("exit codes:", [w.exitcode for w in workers])
	    print("count:", value.value)
	EOF
	run shmfs_exec bash -c 'devshm_is_shmfs && python3 "$1"' sh "$BATS_TEST_TMPDIR/lock.py"
	assert_success
	assert_output "/dev/shm: shmfs
lock's semaphore in /dev/shm: 1
value mapped from /dev/shm: True
exit codes: [0, 0, 0, 0]
count: 10000"
}
