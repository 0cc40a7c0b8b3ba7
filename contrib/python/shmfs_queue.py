# SPDX-License-Identifier: MIT
"""libshmfs queues from Python: mmap, and ctypes for atomics and futexes.

    from shmfs_queue import Queue
    q = Queue("Commands")            # under $SHMFS_DIR, else /mnt/shm
    q.send(b"hello")                 # waits while the queue is full
    data = q.recv(timeout=2.0)       # bytes; raises TimeoutError

The queue's format is plain data, written by src/lib/queue.c; this module
speaks the same protocol, so Python and C producers and consumers share
one queue. Header (little-endian), then the ring at byte header_size:

     0 u32 magic "SHMQ"   4 u16 version (1)   8 u32 header_size
    16 u64 capacity      24 u64 lost
    64 producer side, 128 consumer side, each:
       +0 u64 pos (TAIL / HEAD)   +8 u64 inflight (pos | 1 while open)
      +16 u32 lock (owner tid | 1 << 31 waiters)  +20 u32 owner start time
      +24 u32 waiting   +28 u32 wake (futex)   +32 u64 want
    a message: u32 length, u32 0, the bytes padded to 8; it may run past
    the ring's end and go on at its start.

Atomic loads, stores, exchanges and compare-and-swap go through libatomic
(installed with GCC), so the memory ordering is the C side's. The side
locks are taken over from dead owners as in C. Opening a queue that does
not exist yet is left to the C library or `shmfs send`/`shmfs recv`.
"""
import ctypes
import errno
import mmap
import os
import struct
import threading
import time

MAGIC = 0x514D4853
VERSION = 1
PROD, CONS = 64, 128
WAITERS = 0x80000000
SEQ_CST = 5
_FUTEX_WAIT_BITSET, _FUTEX_WAKE = 9, 1
_SYS_FUTEX = 202  # x86-64

_atomic = ctypes.CDLL("libatomic.so.1")
_libc = ctypes.CDLL(None, use_errno=True)
for _n, _w in (("load_8", 64), ("load_4", 32)):
    getattr(_atomic, "__atomic_" + _n).restype = getattr(ctypes, f"c_uint{_w}")
    getattr(_atomic, "__atomic_" + _n).argtypes = [ctypes.c_void_p, ctypes.c_int]
_atomic.__atomic_store_8.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int]
_atomic.__atomic_store_4.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int]
for _n in ("exchange_4", "fetch_add_4", "fetch_sub_4"):
    getattr(_atomic, "__atomic_" + _n).restype = ctypes.c_uint32
    getattr(_atomic, "__atomic_" + _n).argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int]
_atomic.__atomic_fetch_add_8.restype = ctypes.c_uint64
_atomic.__atomic_fetch_add_8.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int]
_atomic.__atomic_compare_exchange_4.restype = ctypes.c_bool
_atomic.__atomic_compare_exchange_4.argtypes = [
    ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32), ctypes.c_uint32,
    ctypes.c_int, ctypes.c_int]


# Inside a class, __names would be mangled: keep the functions here.
_A = {n: getattr(_atomic, "__atomic_" + n) for n in (
    "load_8", "load_4", "store_8", "store_4", "exchange_4", "fetch_add_4",
    "fetch_sub_4", "fetch_add_8", "compare_exchange_4")}


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class QueueError(OSError):
    pass


def _thread_start(tid):
    """Low 32 bits of a thread's start time (never 0), 0 if unknown."""
    try:
        with open(f"/proc/{tid}/stat", "rb") as f:
            stat = f.read()
        start = int(stat[stat.rindex(b")") + 2:].split()[19]) & 0xFFFFFFFF
        return start or 1
    except (OSError, ValueError, IndexError):
        return 0


def _owner_dead(tid, start):
    if tid > 4194304:
        return True
    try:
        os.kill(tid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    if not start:
        return False
    now = _thread_start(tid)
    return bool(now) and now != start


class Queue:
    def __init__(self, name, directory=None):
        directory = directory or os.environ.get("SHMFS_DIR") or "/mnt/shm"
        self.name = name
        fd = os.open(os.path.join(directory, name), os.O_RDWR | os.O_CLOEXEC)
        try:
            size = os.fstat(fd).st_size
            if size < 2 * mmap.PAGESIZE:
                raise QueueError(errno.EPROTO, f"'{name}' is not a queue")
            self._mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        magic, version, _, hsize, _, cap = struct.unpack_from("<IHHIIQ", self._mm)
        if magic != MAGIC:
            raise QueueError(errno.EPROTO, f"'{name}' is not a queue")
        if version != VERSION:
            raise QueueError(errno.EPROTONOSUPPORT,
                             f"queue '{name}' has format version {version}")
        if hsize < 192 or hsize % mmap.PAGESIZE or not cap or \
                cap % mmap.PAGESIZE or cap > size - hsize:
            raise QueueError(errno.EPROTO, f"'{name}' is not a queue")
        self._base = ctypes.addressof(ctypes.c_char.from_buffer(self._mm))
        self._ring = hsize
        self.capacity = cap
        self.max_message = cap - 8
        self._lost_seen = self._load8(24)

    # -- atomics on the mapping, by byte offset
    def _load8(self, off):
        return _A["load_8"](self._base + off, SEQ_CST)

    def _load4(self, off):
        return _A["load_4"](self._base + off, SEQ_CST)

    def _store8(self, off, v):
        _A["store_8"](self._base + off, v & (2**64 - 1), SEQ_CST)

    def _store4(self, off, v):
        _A["store_4"](self._base + off, v, SEQ_CST)

    def _cas4(self, off, expected, desired):
        e = ctypes.c_uint32(expected)
        ok = _A["compare_exchange_4"](
            self._base + off, ctypes.byref(e), desired, SEQ_CST, SEQ_CST)
        return ok, e.value

    def _futex(self, off, op, val, deadline=None):
        ts = None
        if deadline is not None:
            ts = Timespec(int(deadline), int((deadline % 1) * 1e9))
        r = _libc.syscall(_SYS_FUTEX, ctypes.c_void_p(self._base + off), op,
                          ctypes.c_uint32(val),
                          ctypes.byref(ts) if ts else None, None,
                          ctypes.c_uint32(0xFFFFFFFF))
        return 0 if r >= 0 else ctypes.get_errno()

    # -- the side locks (see queue.c)
    def _lock(self, side, deadline):
        tid = threading.get_native_id()
        start = _thread_start(tid)
        want, spins, next_check = tid, 0, 0.0
        recovered = False
        while True:
            ok, cur = self._cas4(side + 16, 0, want)
            if ok:
                break
            owner = cur & ~WAITERS
            if not owner:
                if self._cas4(side + 16, cur, want | WAITERS)[0]:
                    break
                continue
            if owner == tid:
                raise QueueError(errno.EDEADLK, "lock held by this thread")
            spins += 1
            if spins < 64:
                os.sched_yield()
                continue
            now = time.monotonic()
            if now >= next_check:
                if _owner_dead(owner, self._load4(side + 20)) and \
                        self._cas4(side + 16, cur, want | (cur & WAITERS))[0]:
                    recovered = True
                    break
                next_check = now + 0.05
            if deadline is not None and now >= deadline:
                raise TimeoutError(f"queue '{self.name}' is busy")
            if not cur & WAITERS and \
                    not self._cas4(side + 16, cur, cur | WAITERS)[0]:
                continue
            want = tid | WAITERS
            until = next_check if deadline is None else min(next_check, deadline)
            self._futex(side + 16, _FUTEX_WAIT_BITSET, cur | WAITERS, until)
        self._store4(side + 20, start)
        return recovered

    def _unlock(self, side):
        self._store4(side + 20, 0)
        if _A["exchange_4"](self._base + side + 16, 0, SEQ_CST) & WAITERS:
            self._futex(side + 16, _FUTEX_WAKE, 1)

    # -- the ring
    def _positions(self):
        head, tail = self._load8(CONS), self._load8(PROD)
        if (head | tail) & 7 or (tail - head) % 2**64 > self.capacity:
            raise QueueError(errno.EBADMSG, f"queue '{self.name}' is corrupted")
        return head, tail

    def _copy_in(self, pos, data):
        off = pos % self.capacity
        first = min(len(data), self.capacity - off)
        self._mm[self._ring + off:self._ring + off + first] = data[:first]
        self._mm[self._ring:self._ring + len(data) - first] = data[first:]

    def _copy_out(self, pos, n):
        off = pos % self.capacity
        first = min(n, self.capacity - off)
        out = self._mm[self._ring + off:self._ring + off + first]
        return out + self._mm[self._ring:self._ring + n - first]

    def _wake_other(self, mine, other):
        # The position was stored seq_cst: these loads come after it.
        if self._load4(other + 24) and self._load8(mine) >= self._load8(other + 32):
            _A["fetch_add_4"](self._base + mine + 28, 1, SEQ_CST)
            self._futex(mine + 28, _FUTEX_WAKE, 0x7FFFFFFF)

    def _wait_other(self, mine, other, want, deadline):
        self._store8(mine + 32, want)
        _A["fetch_add_4"](self._base + mine + 24, 1, SEQ_CST)
        word = self._load4(other + 28)
        if self._load8(other) < want:
            self._futex(other + 28, _FUTEX_WAIT_BITSET, word, deadline)
        _A["fetch_sub_4"](self._base + mine + 24, 1, SEQ_CST)

    @staticmethod
    def _deadline(timeout):
        if timeout is None:
            return None
        return time.clock_gettime(time.CLOCK_MONOTONIC) + timeout

    def send(self, data, timeout=None):
        """Append DATA (bytes); wait at most TIMEOUT seconds for room."""
        data = bytes(data)
        if len(data) > self.max_message:
            raise QueueError(errno.EMSGSIZE, "message larger than the queue")
        need = 8 + (len(data) + 7) // 8 * 8
        deadline = self._deadline(timeout)
        if self._lock(PROD, deadline) and \
                self._load8(PROD + 8) == self._load8(PROD) | 1:
            _A["fetch_add_8"](self._base + 24, 1, SEQ_CST)
        self._store8(PROD + 8, 0)
        try:
            while True:
                head, tail = self._positions()
                if self.capacity - (tail - head) >= need:
                    break
                if deadline is not None and \
                        time.clock_gettime(time.CLOCK_MONOTONIC) >= deadline:
                    raise TimeoutError(f"queue '{self.name}' stayed full")
                want = max(tail + need - self.capacity, head + self.capacity // 2)
                self._wait_other(PROD, CONS, min(want, tail), deadline)
            self._store8(PROD + 8, tail | 1)
            self._copy_in(tail, struct.pack("<II", len(data), 0) + data)
            self._store8(PROD, tail + need)
            self._store8(PROD + 8, 0)
            self._wake_other(PROD, CONS)
        finally:
            self._unlock(PROD)

    def recv(self, timeout=None):
        """Take the oldest message (bytes); wait at most TIMEOUT seconds.
        Raises QueueError(EOWNERDEAD) once when a dead process lost
        messages since the last call."""
        deadline = self._deadline(timeout)
        if self._lock(CONS, deadline):
            if self._load8(CONS + 8) == self._load8(CONS) | 1:
                head, tail = self._positions()
                if head != tail:
                    self._store8(CONS, head + self._record(head, tail))
                _A["fetch_add_8"](self._base + 24, 1, SEQ_CST)
                self._wake_other(CONS, PROD)
            self._store8(CONS + 8, 0)
        try:
            while True:
                head, tail = self._positions()
                lost = self._load8(24)
                if lost != self._lost_seen:
                    self._lost_seen = lost
                    raise QueueError(errno.EOWNERDEAD,
                                     f"a dead process lost messages of '{self.name}'")
                if head != tail:
                    size = self._record(head, tail)
                    n = struct.unpack("<I", self._copy_out(head, 4))[0]
                    data = self._copy_out(head + 8, n)
                    self._store8(CONS, head + size)
                    self._wake_other(CONS, PROD)
                    return data
                if deadline is not None and \
                        time.clock_gettime(time.CLOCK_MONOTONIC) >= deadline:
                    raise TimeoutError(f"no message on queue '{self.name}'")
                self._wait_other(CONS, PROD, tail + 8, deadline)
        finally:
            self._unlock(CONS)

    def _record(self, head, tail):
        n = struct.unpack("<I", self._copy_out(head, 4))[0]
        size = 8 + (n + 7) // 8 * 8
        if size > tail - head:
            raise QueueError(errno.EBADMSG, f"queue '{self.name}' is corrupted")
        return size
