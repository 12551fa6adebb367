#!/usr/bin/env python3
"""The size of the ktrace binary, per part: each embedded BPF object, the
debug information, and the rest (ktrace's code, libbpf, libelf, libz, libc).

usage: ktsize.py [--limit BYTES] [--json] KTRACE [GEN_DIR]

The BPF objects are found inside the binary itself: each skeleton embeds the
gzip image of an ELF object for the BPF machine (cmake/bpf_embed.cmake), or,
in binaries built before that, the object itself. Each counts with the bytes
it takes in the binary; with GEN_DIR (the build's gen/ directory) each is
named after the NAME.bpf.o it unpacks to. With --limit, exits 1
when the file is larger than BYTES (and says which parts are the biggest).
"""
import glob
import json
import os
import struct
import sys
import zlib

EM_BPF = 247
GZIP_MAGIC = b"\x1f\x8b\x08"


def is_bpf_elf(obj):
    return (len(obj) >= 64 and obj[:6] == b"\x7fELF\x02\x01"
            and struct.unpack_from("<H", obj, 18)[0] == EM_BPF)


def gzip_images(data):
    """(offset, size, unpacked bytes) of each gzip image of a BPF object in data."""
    out = []
    pos = data.find(GZIP_MAGIC)
    while pos >= 0:
        d = zlib.decompressobj(16 + 15)
        try:
            obj = d.decompress(data[pos:pos + (64 << 20)])
        except zlib.error:
            obj = b""
        if d.eof and is_bpf_elf(obj):
            size = len(data[pos:pos + (64 << 20)]) - len(d.unused_data)
            out.append((pos, size, obj))
            pos = data.find(GZIP_MAGIC, pos + size)
        else:
            pos = data.find(GZIP_MAGIC, pos + 1)
    return out


def bpf_images(data):
    """(offset, size) of each 64-bit little-endian BPF ELF image in data."""
    out = []
    pos = data.find(b"\x7fELF\x02\x01")
    while pos >= 0:
        hdr = data[pos:pos + 64]
        if len(hdr) == 64:
            machine, = struct.unpack_from("<H", hdr, 18)
            shoff, = struct.unpack_from("<Q", hdr, 40)
            shentsize, shnum = struct.unpack_from("<HH", hdr, 58)
            end = shoff + shentsize * shnum
            if machine == EM_BPF and shentsize == 64 and 0 < end <= len(data) - pos:
                out.append((pos, end))
                pos = data.find(b"\x7fELF\x02\x01", pos + end)
                continue
        pos = data.find(b"\x7fELF\x02\x01", pos + 1)
    return out


def debug_bytes(data):
    """Bytes in the binary's own .debug_* sections (0 when stripped)."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return 0
    shoff, = struct.unpack_from("<Q", data, 40)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 58)
    if shoff == 0 or shentsize != 64 or shstrndx >= shnum:
        return 0

    def sh(i):
        return struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * 64)

    stroff = sh(shstrndx)[4]
    total = 0
    for i in range(shnum):
        name_off, typ, _, _, off, size = sh(i)[:6]
        end = data.find(b"\0", stroff + name_off)
        name = data[stroff + name_off:end].decode("ascii", "replace")
        if name.startswith(".debug_") and typ != 8:  # not SHT_NOBITS
            total += size
    return total


def parts(binary, gen_dir=None):
    with open(binary, "rb") as f:
        data = f.read()
    known = {}
    if gen_dir:
        for p in sorted(glob.glob(os.path.join(gen_dir, "*.bpf.o"))):
            if p.endswith(".debug.bpf.o"):
                continue
            with open(p, "rb") as f:
                known[f.read()] = os.path.basename(p)[:-len(".bpf.o")]
    rows = []
    images = [(off, size, data[off:off + size]) for off, size in bpf_images(data)]
    images += gzip_images(data)
    for i, (off, size, obj) in enumerate(images):
        name = known.get(obj, "bpf#%d" % i)
        rows.append(("bpf " + name, size))
    rows.sort(key=lambda r: -r[1])
    dbg = debug_bytes(data)
    rows.append(("debug info", dbg))
    rows.append(("rest (code, data, libraries)", len(data) - dbg - sum(r[1] for r in rows[:-1])))
    return len(data), rows


def main(argv):
    limit = None
    as_json = False
    args = []
    it = iter(argv)
    for a in it:
        if a == "--limit":
            limit = int(next(it))
        elif a == "--json":
            as_json = True
        else:
            args.append(a)
    if not args or len(args) > 2:
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    try:
        total, rows = parts(args[0], args[1] if len(args) > 1 else None)
    except OSError as e:
        print("ktsize: cannot read %s: %s" % (args[0], e.strerror), file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps({"total": total, "parts": {n: s for n, s in rows}}))
    else:
        print("%-32s %10s" % ("part", "bytes"))
        for n, s in rows:
            print("%-32s %10d  %5.1f %%" % (n, s, 100.0 * s / total))
        print("%-32s %10d  (%.2f MiB)" % ("total " + args[0], total, total / 1048576.0))
    if limit is not None and total > limit:
        print("ktsize: %s is %d bytes, over the limit of %d (%.2f MiB): the biggest parts are above"
              % (args[0], total, limit, limit / 1048576.0), file=sys.stderr)
        return 1
    nbpf = sum(1 for n, _ in rows if n.startswith("bpf "))
    if nbpf == 0:
        print("ktsize: no embedded BPF object found in %s" % args[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
