#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Read a libshmfs mailbox from Python, with the standard library only.

    mailbox.py NAME      print the newest message of mailbox NAME

The mailbox format is plain data, so any language can take part. The
segment starts with a 64-byte header (little-endian):

    0  u32 magic "SHMB"     4  u16 version (1)   6  u16 header size (64)
    8  u64 capacity        16  u64 sequence counter (odd while publishing)
   24  u64 message length  32  u64 FNV-1a 64 checksum of the message
   40  u32 futex word       64  the message

A reader reads the counter, copies the message, and reads the counter
again: if it changed or is odd, a publish overlapped the copy and it tries
again. The checksum catches what slips through (Python gives no memory
ordering guarantees), so a message printed here is always whole.
"""
import mmap
import os
import struct
import sys
import time

HEADER = struct.Struct("<IHHQQQQI")


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def read_message(view):
    if len(view) < 64:
        raise ValueError("not a libshmfs mailbox")
    magic, version, hsize, capacity = HEADER.unpack_from(view)[:4]
    if magic != 0x424D4853 or version != 1 or hsize != 64 or \
            capacity > len(view) - 64:
        raise ValueError("not a libshmfs mailbox")
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        s1, length, checksum = struct.unpack_from("<QQQ", view, 16)
        if s1 == 0:
            return 0, None
        if s1 % 2 or length > capacity:
            continue
        data = view[64:64 + length]
        if struct.unpack_from("<Q", view, 16)[0] == s1 and \
                fnv1a64(data) == checksum:
            return s1 // 2, data
    raise TimeoutError("the publisher seems stuck half-way")


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
