#!/usr/bin/env python3
"""Prints the flash cost of a 32-bit little-endian ELF firmware: `.text` + `.rodata` (what
the README and the budget count), and the vector table and `.data` image beside it.
Usage: firmware-size.py ELF [BUDGET]; fails when `.text` + `.rodata` exceeds BUDGET bytes."""
import struct
import sys


def sections(path):
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        sys.exit(f"{path}: not a 32-bit little-endian ELF")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    headers = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    names_at = headers[shstrndx][4]
    out = {}
    for h in headers:
        end = data.index(b"\0", names_at + h[0])
        out[data[names_at + h[0]:end].decode()] = h[5]
    return out


def main():
    path = sys.argv[1]
    s = sections(path)
    flash = s.get(".text", 0) + s.get(".rodata", 0)
    print(f"  .text+.rodata {flash} bytes (.text {s.get('.text', 0)}, .rodata {s.get('.rodata', 0)};"
          f" beside them .vector_table {s.get('.vector_table', 0)}, .data {s.get('.data', 0)})")
    if len(sys.argv) > 2 and flash > int(sys.argv[2]):
        sys.exit(f"{path}: .text+.rodata is {flash} bytes, over its budget of {sys.argv[2]}")


if __name__ == "__main__":
    main()
