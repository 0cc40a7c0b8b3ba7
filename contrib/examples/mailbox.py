#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Read a libshmfs mailbox from Python, with the standard library only.

    mailbox.py NAME      print the newest message of mailbox NAME

The mailbox format is plain data, so any language can take part. The
segment starts with a 64-byte header (little-endian):

    0  u32 magic "SHMB"     4  u16 version (3)   6  u16 header size (64)
    8  u64 capacity        16  u32 slots (3)
   24  u64 latest: the number of the newest whole message (0: none)
   32  u32 futex word      36  u32 the publisher's CPU + 1 (a hint)

then the slots, each 64 + capacity bytes: a u64 sequence counter (2n when
it holds message n whole, odd while it is written), a u64 length, 48
reserved bytes, the message. Message n lives in slot n % slots.

A reader takes n from latest, checks that its slot's counter is 2n, copies
the message, and reads the counter again: if it changed, the publisher came
round to that slot during the copy and it tries again. CPython reads a
bytes slice of an mmap with one memcpy() under the interpreter lock, and
each unpack_from() is a separate load after it, so the second counter load
cannot pass the copy on x86-64; on weaker machines use the C library.
Versions 1 (with a checksum) and 2 (one slot) are refused by name.
"""
import mmap
import os
import struct
import sys
import time

HEADER = struct.Struct("<IHHQIIQ")
VERSION = 3


def read_message(view):
    if len(view) < 64:
        raise ValueError("not a libshmfs mailbox")
    magic, version, hsize, capacity, slots = HEADER.unpack_from(view)[:5]
    if magic == 0x424D4853 and version != VERSION:
        raise ValueError(f"mailbox format version {version}, this reader "
                         f"knows version {VERSION}")
    if magic != 0x424D4853 or hsize != 64 or capacity % 64 or \
            not 2 <= slots <= 16 or 64 + slots * (64 + capacity) > len(view):
        raise ValueError("not a libshmfs mailbox")
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        n = struct.unpack_from("<Q", view, 24)[0]
        if n == 0:
            return 0, None
        slot = 64 + (n % slots) * (64 + capacity)
        s1, length = struct.unpack_from("<QQ", view, slot)
        if s1 < 2 * n:
            raise ValueError("the mailbox's counters contradict each other")
        if s1 != 2 * n or length > capacity:
            continue
        data = view[slot + 64:slot + 64 + length]
        if struct.unpack_from("<Q", view, slot)[0] == s1:
            return n, data
    raise TimeoutError("no whole copy within a second")


def main():
    if len(sys.argv) != 2:
        print("usage: mailbox.py NAME", file=sys.stderr)
        return 2
    name = sys.argv[1]
    path = os.path.join(os.environ.get("SHMFS_DIR") or "/mnt/shm", name)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        print(f"mailbox.py: mailbox '{name}' does not exist", file=sys.stderr)
        return 1
    try:
        with mmap.mmap(fd, 0, prot=mmap.PROT_READ) as view:
            seq, data = read_message(view)
    except (ValueError, TimeoutError) as e:
        print(f"mailbox.py: '{name}': {e}", file=sys.stderr)
        return 1
    finally:
        os.close(fd)
    if data is None:
        print(f"mailbox.py: nothing published on '{name}' yet",
              file=sys.stderr)
        return 1
    print(f"{seq}: {data.decode('utf-8', 'replace')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
