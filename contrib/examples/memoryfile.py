#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The MemoryFile demo in Python, with the standard library only.

    memoryfile.py write [--add N]   store the bytes 1..26, or add N to each
    memoryfile.py read              print the 26 bytes

A segment is a file under the shmfs mount ($SHMFS_DIR, else /mnt/shm).
mmap maps it shared, so this script, the C programs shmfs-demo-writer and
shmfs-demo-reader, and anything else that opens the same name all see the
same bytes. fcntl.flock() takes the very lock that libshmfs's
shmfs_segment_lock() takes, so the writer never shows a half-done update.
"""
import argparse
import fcntl
import mmap
import os
import sys

NAME = "MemoryFile"
SIZE = 26


def segment_path(name):
    return os.path.join(os.environ.get("SHMFS_DIR") or "/mnt/shm", name)


def write(add):
    fd = os.open(segment_path(NAME), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_size < SIZE:
            os.ftruncate(fd, SIZE)  # create-or-open with a size
        with mmap.mmap(fd, SIZE) as view:  # MAP_SHARED, read and write
            if add is None:
                view[:] = bytes(range(1, SIZE + 1))
            else:
                view[:] = bytes((b + add) & 0xFF for b in view[:])
            verb = "wrote" if add is None else "updated"
            print(f"{verb} '{NAME}':", " ".join(str(b) for b in view[:]))
    finally:
        os.close(fd)  # also drops the lock
    return 0


def read():
    try:
        fd = os.open(segment_path(NAME), os.O_RDONLY)
    except FileNotFoundError:
        print(f"memoryfile.py: segment '{NAME}' does not exist yet: "
              "run the writer first", file=sys.stderr)
        return 1
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        if os.fstat(fd).st_size < SIZE:
            print(f"memoryfile.py: segment '{NAME}' is shorter than "
                  f"{SIZE} bytes", file=sys.stderr)
            return 1
        with mmap.mmap(fd, SIZE, prot=mmap.PROT_READ) as view:
            print(" ".join(str(b) for b in view[:]))
    finally:
        os.close(fd)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write", help="store 1..26, or add N to each byte")
    w.add_argument("--add", type=int, metavar="N")
    sub.add_parser("read", help="print the 26 bytes")
    args = parser.parse_args()
    return write(args.add) if args.command == "write" else read()


if __name__ == "__main__":
    sys.exit(main())
