# SPDX-License-Identifier: MIT
"""libshmfs queues from Python: mmap and futexes through ctypes.

    from shmfs_queue import Queue
    q = Queue("Commands")            # under $SHMFS_DIR, else /mnt/shm
    q.send(b"hello")                 # waits while the queue is full
    data = q.recv(timeout=2.0)       # bytes; raises TimeoutError

    with q.reserved(500000) as buf:  # in place: a writable memoryview
        buf[:5] = b"hello"           # into the ring, committed at the end
    with q.reading() as msg:         # in place: a read-only memoryview,
        header = bytes(msg[:16])     # consumed at the end

reserve()/commit()/cancel() and read()/release() are the same without the
`with`. A view is valid until its commit, cancel or release (the module
releases it then); keep no slice of it beyond that, and copy what you keep.

The queue's format is plain data, written by src/lib/queue.c; this module
speaks the same protocol, so Python and C producers and consumers share
one queue. Header (little-endian), then the ring at byte header_size:

     0 u32 magic "SHMQ"   4 u16 version (1)   8 u32 header_size
    16 u64 capacity      24 u64 lost
    64 producer side, 128 consumer side, each:
       +0 u64 pos (TAIL / HEAD)   +8 u64 inflight (pos | 1 while open)
      +16 u32 lock (owner tid | 1 << 31 waiters)  +20 u32 owner start time
      +24 u32 waiting   +28 u32 wake (futex)
      +32 u64 want (the position a sleeper waits for | 1 once woken)
      +40 u32 cpu (the lock owner's CPU + 1, 0 unknown: nobody spins for
          a partner that last ran on its own CPU)
    a message: u32 length, u32 0, the bytes padded to 8.

Like the C library, the module maps the ring twice, back to back (mmap
with MAP_FIXED through ctypes), so that a message running past the ring's
end goes on in the second mapping and every message is one contiguous
buffer. Atomic loads, stores, exchanges and compare-and-swap go through
libatomic (installed with GCC), so the memory ordering is the C side's.
The side locks are taken over from dead owners as in C. Opening a queue
that does not exist yet is left to the C library or `shmfs send`/`shmfs recv`.
"""
import contextlib
import ctypes
import errno
import os
import struct
import threading
import time

MAGIC = 0x514D4853
VERSION = 1
LOST, PROD, CONS = 24, 64, 128
POS, INFLIGHT, LOCK, OWNER, WAITING, WAKE, WANT, CPU = 0, 8, 16, 20, 24, 28, 32, 40
WAITERS = 0x80000000
WOKEN = 1
SEQ_CST = 5
SPIN_NS = 20000
_FUTEX_WAIT_BITSET, _FUTEX_WAKE = 9, 1
_SYS_FUTEX = 202  # x86-64
_PROT_NONE, _PROT_READ, _PROT_WRITE = 0, 1, 2
_MAP_SHARED, _MAP_PRIVATE, _MAP_FIXED, _MAP_ANONYMOUS = 1, 2, 0x10, 0x20

_u32, _u64, _ptr = ctypes.c_uint32, ctypes.c_uint64, ctypes.c_void_p
_atomic = ctypes.CDLL("libatomic.so.1")
_libc = ctypes.CDLL(None, use_errno=True)


def _declare(lib, name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype, f.argtypes = restype, list(argtypes)
    return f


_libc_mmap = _declare(_libc, "mmap", _ptr, _ptr, ctypes.c_size_t,
                      ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long)
_libc_munmap = _declare(_libc, "munmap", ctypes.c_int, _ptr, ctypes.c_size_t)
_libc_getcpu = _declare(_libc, "sched_getcpu", ctypes.c_int)
_MAP_FAILED = _ptr(-1).value

# Inside a class, __names would be mangled: keep the functions here.
_A = {
    "load_8": _declare(_atomic, "__atomic_load_8", _u64, _ptr, ctypes.c_int),
    "load_4": _declare(_atomic, "__atomic_load_4", _u32, _ptr, ctypes.c_int),
    "store_8": _declare(_atomic, "__atomic_store_8", None, _ptr, _u64, ctypes.c_int),
    "store_4": _declare(_atomic, "__atomic_store_4", None, _ptr, _u32, ctypes.c_int),
}
for _n in ("exchange_4", "fetch_add_4", "fetch_sub_4"):
    _A[_n] = _declare(_atomic, "__atomic_" + _n, _u32, _ptr, _u32, ctypes.c_int)
_A["fetch_add_8"] = _declare(_atomic, "__atomic_fetch_add_8", _u64, _ptr, _u64,
                             ctypes.c_int)
for _n, _t in (("compare_exchange_4", _u32), ("compare_exchange_8", _u64)):
    _A[_n] = _declare(_atomic, "__atomic_" + _n, ctypes.c_bool, _ptr,
                      ctypes.POINTER(_t), _t, ctypes.c_int, ctypes.c_int)


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


def _now():
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def _cpu_mark():
    return max(_libc_getcpu() + 1, 0)


def _record_size(n):
    return 8 + (n + 7) // 8 * 8


class Queue:
    def __init__(self, name, directory=None):
        directory = directory or os.environ.get("SHMFS_DIR") or "/mnt/shm"
        self.name = name
        self._map = None
        self._open = {PROD: None, CONS: None}   # (pos, length, view)
        fd = os.open(os.path.join(directory, name), os.O_RDWR | os.O_CLOEXEC)
        try:
            self._attach(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)
        self._lost_seen = self._load8(LOST)

    def _attach(self, fd, size):
        page = os.sysconf("SC_PAGESIZE")
        if size < 2 * page:
            raise QueueError(errno.EPROTO, f"'{self.name}' is not a queue")
        magic, version, _, hsize, _, cap = struct.unpack(
            "<IHHIIQ", os.pread(fd, 24, 0))
        if magic != MAGIC:
            raise QueueError(errno.EPROTO, f"'{self.name}' is not a queue")
        if version != VERSION:
            raise QueueError(errno.EPROTONOSUPPORT,
                             f"queue '{self.name}' has format version {version}")
        if hsize < 192 or hsize % page or not cap or cap % page or \
                cap > size - hsize:
            raise QueueError(errno.EPROTO, f"'{self.name}' is not a queue")
        # The header and the ring, then the ring again right after it.
        length = hsize + 2 * cap
        base = _libc_mmap(None, length, _PROT_NONE,
                          _MAP_PRIVATE | _MAP_ANONYMOUS, -1, 0)
        if base in (None, _MAP_FAILED):
            raise OSError(ctypes.get_errno(), "mmap failed")
        rw = _PROT_READ | _PROT_WRITE
        if _libc_mmap(base, hsize + cap, rw, _MAP_SHARED | _MAP_FIXED, fd,
                      0) == _MAP_FAILED or \
                _libc_mmap(base + hsize + cap, cap, rw,
                           _MAP_SHARED | _MAP_FIXED, fd, hsize) == _MAP_FAILED:
            err = ctypes.get_errno()
            _libc_munmap(base, length)
            raise OSError(err, "mmap failed")
        self._map, self._map_len = base, length
        self._base, self._ring = base, base + hsize
        # One view of both ring mappings, sliced for each message (one
        # ctypes type, not one per message length).
        ring = memoryview((ctypes.c_char * (2 * cap)).from_address(base + hsize))
        self._rw = ring.cast("B")
        self._ro = self._rw.toreadonly()
        self.capacity = cap
        self.max_message = cap - 8

    def close(self):
        """Unmap the queue. Views handed out must no longer be used."""
        if self._map:
            for side in (PROD, CONS):
                if self._open[side]:
                    self._open[side][2].release()
            self._ro.release()
            self._rw.release()
            _libc_munmap(self._map, self._map_len)
            self._map = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    # -- atomics on the mapping, by byte offset
    def _load8(self, off):
        return _A["load_8"](self._base + off, SEQ_CST)

    def _load4(self, off):
        return _A["load_4"](self._base + off, SEQ_CST)

    def _store8(self, off, v):
        _A["store_8"](self._base + off, v & (2**64 - 1), SEQ_CST)

    def _store4(self, off, v):
        _A["store_4"](self._base + off, v, SEQ_CST)

    def _cas(self, size, off, expected, desired):
        e = (_u32 if size == 4 else _u64)(expected)
        ok = _A[f"compare_exchange_{size}"](
            self._base + off, ctypes.byref(e), desired, SEQ_CST, SEQ_CST)
        return ok, e.value

    def _futex(self, off, op, val, deadline=None):
        ts = None
        if deadline is not None:
            ts = Timespec(int(deadline), int((deadline % 1) * 1e9))
        r = _libc.syscall(_SYS_FUTEX, _ptr(self._base + off), op, _u32(val),
                          ctypes.byref(ts) if ts else None, None,
                          _u32(0xFFFFFFFF))
        return 0 if r >= 0 else ctypes.get_errno()

    def _view(self, pos, n, readonly):
        off = pos % self.capacity
        return (self._ro if readonly else self._rw)[off:off + n]

    # -- the side locks (see queue_lock.c)
    def _lock(self, side, deadline):
        tid = threading.get_native_id()
        start = _thread_start(tid)
        want, spins, next_check = tid, 0, 0.0
        recovered = False
        while True:
            ok, cur = self._cas(4, side + LOCK, 0, want)
            if ok:
                break
            owner = cur & ~WAITERS
            if not owner:
                if self._cas(4, side + LOCK, cur, want | WAITERS)[0]:
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
                if _owner_dead(owner, self._load4(side + OWNER)) and \
                        self._cas(4, side + LOCK, cur, want | (cur & WAITERS))[0]:
                    recovered = True
                    break
                next_check = now + 0.05
            if deadline is not None and now >= deadline:
                raise TimeoutError(f"queue '{self.name}' is busy")
            if not cur & WAITERS and \
                    not self._cas(4, side + LOCK, cur, cur | WAITERS)[0]:
                continue
            want = tid | WAITERS
            until = next_check if deadline is None else min(next_check, deadline)
            self._futex(side + LOCK, _FUTEX_WAIT_BITSET, cur | WAITERS, until)
        self._store4(side + OWNER, start)
        self._store4(side + CPU, _cpu_mark())
        return recovered

    def _unlock(self, side):
        self._store4(side + OWNER, 0)
        if _A["exchange_4"](self._base + side + LOCK, 0, SEQ_CST) & WAITERS:
            self._futex(side + LOCK, _FUTEX_WAKE, 1)

    def _mine(self, side):
        if not self._open[side] or \
                self._load4(side + LOCK) & ~WAITERS != threading.get_native_id():
            raise QueueError(errno.EINVAL, "nothing open in this thread")
        return self._open[side]

    # -- waiting for the other side (see queue_lock.c)
    def _wake_other(self, mine, other):
        # The position was stored seq_cst: these loads come after it.
        if not self._load4(other + WAITING):
            return
        want = self._load8(other + WANT)
        if not want & WOKEN and self._load8(mine + POS) >= want and \
                self._cas(8, other + WANT, want, want | WOKEN)[0]:
            _A["fetch_add_4"](self._base + mine + WAKE, 1, SEQ_CST)
            self._futex(mine + WAKE, _FUTEX_WAKE, 0x7FFFFFFF)

    def _wait_other(self, mine, other, want, sleep_want, deadline):
        partner = self._load4(other + CPU)
        end = time.monotonic_ns() + (SPIN_NS if partner != _cpu_mark() else 0)
        while time.monotonic_ns() < end:
            if self._load8(other + POS) >= want:
                return
        self._store8(mine + WANT, sleep_want)
        _A["fetch_add_4"](self._base + mine + WAITING, 1, SEQ_CST)
        word = self._load4(other + WAKE)
        if self._load8(other + POS) < sleep_want:
            self._futex(other + WAKE, _FUTEX_WAIT_BITSET, word, deadline)
        _A["fetch_sub_4"](self._base + mine + WAITING, 1, SEQ_CST)

    # -- the ring
    def _positions(self):
        head, tail = self._load8(CONS + POS), self._load8(PROD + POS)
        if (head | tail) & 7 or (tail - head) % 2**64 > self.capacity:
            raise QueueError(errno.EBADMSG, f"queue '{self.name}' is corrupted")
        return head, tail

    def _record(self, head, tail):
        n = struct.unpack("<I", self._view(head, 4, True))[0]
        if _record_size(n) > tail - head:
            raise QueueError(errno.EBADMSG, f"queue '{self.name}' is corrupted")
        return n

    @staticmethod
    def _deadline(timeout):
        return None if timeout is None else _now() + timeout

    @staticmethod
    def _timed_out(deadline):
        return deadline is not None and _now() >= deadline

    # -- producers
    def reserve(self, size, timeout=None):
        """Wait for room for SIZE bytes and return a writable memoryview of
        them, in place in the ring; then commit() or cancel()."""
        if size > self.max_message:
            raise QueueError(errno.EMSGSIZE, "message larger than the queue")
        need = _record_size(size)
        deadline = self._deadline(timeout)
        if self._lock(PROD, deadline) and \
                self._load8(PROD + INFLIGHT) == self._load8(PROD + POS) | 1:
            _A["fetch_add_8"](self._base + LOST, 1, SEQ_CST)
        self._store8(PROD + INFLIGHT, 0)
        try:
            while True:
                head, tail = self._positions()
                if self.capacity - (tail - head) >= need:
                    break
                if self._timed_out(deadline):
                    raise TimeoutError(f"queue '{self.name}' stayed full")
                sleep_want = max(tail + need - self.capacity,
                                 head + self.capacity // 2)
                self._wait_other(PROD, CONS, tail + need - self.capacity,
                                 min(sleep_want, tail), deadline)
            self._store8(PROD + INFLIGHT, tail | 1)
        except BaseException:
            self._unlock(PROD)
            raise
        view = self._view(tail + 8, size, False)
        self._open[PROD] = (tail, size, view)
        return view

    def commit(self, length=None):
        """Deliver the reserved message: its first LENGTH bytes (all)."""
        tail, size, view = self._mine(PROD)
        length = size if length is None else length
        if not 0 <= length <= size:
            raise QueueError(errno.EMSGSIZE, "longer than the reservation")
        self._open[PROD] = None
        view.release()
        self._store4(self._ring - self._base + tail % self.capacity, length)
        self._store8(PROD + POS, tail + _record_size(length))
        self._store8(PROD + INFLIGHT, 0)
        self._wake_other(PROD, CONS)
        self._unlock(PROD)

    def cancel(self):
        """Drop the reservation: nothing is delivered."""
        view = self._mine(PROD)[2]
        self._open[PROD] = None
        view.release()
        self._store8(PROD + INFLIGHT, 0)
        self._unlock(PROD)

    @contextlib.contextmanager
    def reserved(self, size, timeout=None):
        """reserve() for a `with` block: committed whole at its end,
        cancelled if it raises."""
        view = self.reserve(size, timeout)
        try:
            yield view
        except BaseException:
            self.cancel()
            raise
        self.commit()

    def send(self, data, timeout=None):
        """Append DATA (bytes); wait at most TIMEOUT seconds for room."""
        data = memoryview(data).cast("B")
        with self.reserved(len(data), timeout) as view:
            view[:] = data

    # -- consumers
    def _next(self, deadline):
        """Lock the consumer side and return the oldest message's position
        and length, the lock held; raises (unlocked) otherwise."""
        if self._lock(CONS, deadline):
            if self._load8(CONS + INFLIGHT) == self._load8(CONS + POS) | 1:
                head, tail = self._positions()
                if head != tail:
                    self._store8(CONS + POS,
                                 head + _record_size(self._record(head, tail)))
                _A["fetch_add_8"](self._base + LOST, 1, SEQ_CST)
                self._wake_other(CONS, PROD)
            self._store8(CONS + INFLIGHT, 0)
        try:
            while True:
                head, tail = self._positions()
                lost = self._load8(LOST)
                if lost != self._lost_seen:
                    self._lost_seen = lost
                    raise QueueError(errno.EOWNERDEAD,
                                     f"a dead process lost messages of '{self.name}'")
                if head != tail:
                    return head, self._record(head, tail)
                if self._timed_out(deadline):
                    raise TimeoutError(f"no message on queue '{self.name}'")
                self._wait_other(CONS, PROD, tail + 8, tail + 8, deadline)
        except BaseException:
            self._unlock(CONS)
            raise

    def _consume(self, head, n):
        self._store8(CONS + POS, head + _record_size(n))
        self._store8(CONS + INFLIGHT, 0)
        self._wake_other(CONS, PROD)
        self._unlock(CONS)

    def read(self, timeout=None):
        """Wait for the oldest message and return a read-only memoryview of
        it, in place in the ring; release() consumes it. Raises
        QueueError(EOWNERDEAD) once when a dead process lost messages."""
        head, n = self._next(self._deadline(timeout))
        self._store8(CONS + INFLIGHT, head | 1)
        view = self._view(head + 8, n, True)
        self._open[CONS] = (head, n, view)
        return view

    def release(self):
        """Consume the message read()."""
        head, n, view = self._mine(CONS)
        self._open[CONS] = None
        view.release()
        self._consume(head, n)

    @contextlib.contextmanager
    def reading(self, timeout=None):
        """read() for a `with` block: the message is consumed at its end,
        also when it raises."""
        view = self.read(timeout)
        try:
            yield view
        finally:
            self.release()

    def recv(self, timeout=None):
        """Take the oldest message (bytes); wait at most TIMEOUT seconds.
        Raises QueueError(EOWNERDEAD) once when a dead process lost
        messages since the last call."""
        head, n = self._next(self._deadline(timeout))
        try:
            data = bytes(self._view(head + 8, n, True))
        except BaseException:
            self._unlock(CONS)
            raise
        self._consume(head, n)
        return data
