#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Read a libshmfs mailbox from Python, with the standard library only.

    mailbox.py NAME      print the newest message of mailbox NAME

The mailbox format is plain data, so any language can take part. The
segment starts with a 64-byte header (little-endian):

    0  u32 magic "SHMB"     4  u16 version (2)   6  u16 header size (64)
    8  u64 capacity        16  u64 sequence counter (odd while publishing)
   24  u64 message length  32  u64 reserved
   40  u32 futex word       64  the message

A reader reads the counter, copies the message, and reads the counter
again: if it changed or is odd, a publish overlapped the copy and it tries
again. CPython reads a bytes slice of an mmap with one memcpy() under the
interpreter lock, and each unpack_from() is a separate load after it, so
the second counter load cannot pass the copy on x86-64; on weaker machines
use the C library. Version 1 (with a checksum) is refused by name.
"""
import mmap
import os
import struct
import sys
import time

HEADER = struct.Struct("<IHHQQQQI")


def read_message(view):
    if len(view) < 64:
        raise ValueError("not a libshmfs mailbox")
    magic, version, hsize, capacity = HEADER.unpack_from(view)[:4]
    if magic == 0x424D4853 and version != 2:
        raise ValueError(f"mailbox format version {version}, this reader "
                         "knows version 2")
    if magic != 0x424D4853 or hsize != 64 or capacity > len(view) - 64:
        raise ValueError("not a libshmfs mailbox")
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        s1, length = struct.unpack_from("<QQ", view, 16)
        if s1 == 0:
            return 0, None
        if s1 % 2 or length > capacity:
            continue
        data = view[64:64 + length]
        if struct.unpack_from("<Q", view, 16)[0] == s1:
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
