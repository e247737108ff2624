#!/usr/bin/env python3
"""Extract the files of a Qt binary resource bundle (.rcc) into a folder.

The format: magic "qres", then big-endian u32 version, tree offset, data offset, names
offset (and flags from version 3). The tree is a list of fixed-size entries (14 bytes, or 22
from version 2 on): name offset (u32), flags (u16: 0x2 directory, 0x1 zlib, 0x4 zstd), then
for a directory the child count and first child index (u32 each), for a file country and
language (u16 each) and the data offset (u32). Names are u16 length, u32 hash, UTF-16BE.
Data is u32 length then bytes; zlib data starts with the uncompressed size (u32).

Usage: rcc_extract.py BUNDLE.rcc OUT_DIR
"""
import os
import struct
import sys
import zlib


def extract(path, out_dir):
    blob = open(path, "rb").read()
    if blob[:4] != b"qres":
        raise SystemExit(f"{path}: not a Qt resource bundle")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    entry_size = 14 if version < 2 else 22

    def name_at(offset):
        (length,) = struct.unpack(">H", blob[names + offset : names + offset + 2])
        raw = blob[names + offset + 6 : names + offset + 6 + 2 * length]
        return raw.decode("utf-16-be")

    written = 0

    def walk(index, folder):
        nonlocal written
        base = tree + index * entry_size
        name_offset, flags = struct.unpack(">IH", blob[base : base + 6])
        name = name_at(name_offset) if index else ""
        target = os.path.join(folder, name)
        if flags & 0x2:
            count, first = struct.unpack(">II", blob[base + 6 : base + 14])
            for child in range(first, first + count):
                walk(child, target)
            return
        (offset,) = struct.unpack(">I", blob[base + 10 : base + 14])
        (length,) = struct.unpack(">I", blob[data + offset : data + offset + 4])
        payload = blob[data + offset + 4 : data + offset + 4 + length]
        if flags & 0x1:
            payload = zlib.decompress(payload[4:])
        elif flags & 0x4:
            return  # zstd: not used by the bundles this project reads
        os.makedirs(folder, exist_ok=True)
        with open(target, "wb") as f:
            f.write(payload)
        written += 1

    walk(0, out_dir)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(f"{extract(sys.argv[1], sys.argv[2])} files from {sys.argv[1]}")
