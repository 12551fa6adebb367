#!/usr/bin/env python3
# Writes the hand-made seeds of the fuzz tests into a corpus directory:
#   seeds.py elf DIR      an ELF whose .symtab, .strtab and .dynsym are declared
#                         in the hole that fuzz_elf appends (a sparse size bomb)
#   seeds.py perfmap DIR  perf map lines: good, malformed, long, NUL bytes
import struct
import sys


def elf_bomb():
    shoff, symoff = 64, 64 + 4 * 64
    hole = 1 << 20  # inside fuzz_elf's hole: zeros
    ehdr = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    ehdr += struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, 4, 0)
    null = bytes(64)

    def shdr(typ, off, size, link, entsize):
        return struct.pack("<IIQQQQIIQQ", 0, typ, 0, 0, off, size, link, 0, 8, entsize)

    symtab = shdr(2, symoff, 2 * 24, 2, 24)
    strtab = shdr(3, hole, 256 << 20, 0, 0)
    dynsym = shdr(11, hole + (300 << 20), 100 << 20, 2, 24)
    sym = bytes(24) + struct.pack("<IBBHQQ", 123456, 0x12, 0, 1, 0x1000, 0x10)
    return ehdr + null + symtab + strtab + dynsym + sym


def perfmaps():
    yield b"20000000 100 jit_one\n0x20000100 80 LJava/lang/Object;::hashCode (x)\n"
    yield b"bogus\n20000200 0 zero\n20000300 40 a\n20000300 40 b\nffffffffffffffff 1 top"
    yield b"1 1 " + b"x" * 5000 + b"\n2 2 ok\n"
    yield b"10 10 nul\x00inside\n"


def main():
    kind, out = sys.argv[1], sys.argv[2]
    if kind == "elf":
        with open(out + "/seed_elf_bomb", "wb") as f:
            f.write(elf_bomb())
    else:
        for i, m in enumerate(perfmaps()):
            with open("%s/seed_perfmap_%d" % (out, i), "wb") as f:
                f.write(m)


main()
