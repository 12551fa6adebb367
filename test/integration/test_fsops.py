#!/usr/bin/env python3
"""ktrace fsops: metadata operations per directory and per process.

The fsslower writer on ext4 creates, renames and unlinks 200 files (and
data, and a hostile name), mkdir/rmdir, chmod, 3 fsyncs: fsops must count
exactly those per directory (its one directory) and per process (its pid),
--dir must keep them, and bpftrace must count the same renames and unlinks.
"""
import os
import shutil
import subprocess
import tempfile
import time

import fsfix
from ktlib import KTRACE, Ktrace, at_exit, check, check_no_leak, log, main, run_ktrace

# bpftrace: fswriter's rename, unlink, mkdir and rmdir calls by number
REF_BT = r"""
tracepoint:raw_syscalls:sys_exit
/comm == "fswriter" && (args->id == 82 || args->id == 87 || args->id == 83 || args->id == 84)/
{ @n[args->id] = count(); }
"""

OPS = ("create", "unlink", "rename", "mkdir", "rmdir", "setattr", "fsync")


def bt_counts(text):
    out = {}
    for line in (text or "").splitlines():
        if line.startswith("@n["):
            k, v = line[3:].split("]:")
            out[int(k)] = int(v)
    return out


def tables(kt):
    return kt.records("table")


def want():
    n = fsfix.NFILES
    return {"create": n + 2, "unlink": n + 1, "rename": n, "mkdir": 1, "rmdir": 1,
            "setattr": 1, "fsync": 3}


def counts(row):
    return {k: row[k] for k in OPS}


def test_usage():
    for args, what in ((["--top", "x"], "--top"), (["--dir", "rel/dir"], "--dir")):
        r = run_ktrace("fsops", *args)
        check(r.returncode == 2 and what in r.stderr,
              "fsops %s: usage error (2) naming %s" % (" ".join(args), what), r.stderr)
    r = run_ktrace("fsops", "1", "2", "-j", "-n", "kt-nosuch")
    t = [l for l in r.stdout.splitlines() if '"type":"table"' in l]
    check(r.returncode == 0 and len(t) == 2 and '"stopped_by":"count"' in r.stdout,
          "fsops 1 2: two tables, then stops by count", r.stdout[-400:] + r.stderr)


def test_writer():
    mnt, cg = fsfix.ext4_mount()
    d = fsfix.unique_dir(mnt, "ops")
    bt = fsfix.Bpftrace(REF_BT)
    kt = Ktrace("fsops", "--top", "0", "-n", "fswriter", "-j")
    kt_p = Ktrace("fsops", "-P", "-n", "fswriter", "-j", env={"KTRACE_ATTACH": "raw_tp"})
    kt_dir = Ktrace("fsops", "-P", "--dir", d, "-j")
    tape = os.path.join(tempfile.mkdtemp(prefix="kt-fstape-"), "fsops.tape")
    at_exit(shutil.rmtree, os.path.dirname(tape), True)
    kt_text = Ktrace("fsops", "-n", "fswriter", "--record", tape)
    w = fsfix.Writer(d, cg)
    log("the writer took %.2fs" % w.run())
    time.sleep(0.3)
    for k in (kt, kt_p, kt_dir, kt_text):
        check(k.stop() == 0, "exit status 0 (%s)" % " ".join(k.args[1:]), k.stderr())
    ref = bt.stop()

    check(kt.records("meta")[0].get("layer") == "syscall", "meta names the layer (syscall)")
    t = tables(kt)
    check(len(t) == 1, "one table at the end", t)
    rows = t[0]["rows"] if t else []
    check(len(rows) == 1 and rows[0]["dir"] == d, "per directory: one row, the writer's directory",
          rows)
    if rows:
        check(counts(rows[0]) == want(), "per directory: %s" % want(), counts(rows[0]))
        check(rows[0]["total"] == sum(want().values()) and rows[0]["errors"] == 0,
              "total %d, no errors" % sum(want().values()), rows[0])

    meta = kt_p.records("meta")[0]
    check(all(a["type"] == "raw_tp" for a in meta["attach"]), "KTRACE_ATTACH=raw_tp ran",
          meta["attach"])
    rows = tables(kt_p)[0]["rows"] if tables(kt_p) else []
    check(len(rows) == 1 and rows[0]["pid"] == w.pid and rows[0]["comm"] == "fswriter" and
          counts(rows[0]) == want(), "-P: the writer's pid and name, the same counts", rows)

    rows = tables(kt_dir)[0]["rows"] if tables(kt_dir) else []
    mine = [r for r in rows if r["pid"] == w.pid]
    check(len(mine) == 1 and counts(mine[0]) == want(),
          "--dir %s -P (no name filter): the writer, the same counts" % d, rows)

    if ref is not None:
        c = bt_counts(ref)
        check(c.get(82) == want()["rename"] and c.get(87) == want()["unlink"] and
              c.get(83) == 1 and c.get(84) == 1,
              "bpftrace counts the same renames, unlinks, mkdir and rmdir", c)
    else:
        log("no bpftrace: the cross-check is skipped")

    lines = kt_text.stdout().splitlines()
    hdr = [l for l in lines if l.split()[:2] == ["CREATE", "UNLINK"]]
    check(len(hdr) == 1 and hdr[0].split()[-1] == "DIR", "text: the header", lines[:3])
    row = [l for l in lines if l.endswith(" " + d)]
    check(len(row) == 1 and row[0].split()[:3] == [str(fsfix.NFILES + 2), str(fsfix.NFILES + 1),
                                                   str(fsfix.NFILES)],
          "text: the directory's row with its counts", row)
    r = subprocess.run([KTRACE, "replay", tape], capture_output=True)
    check(r.returncode == 0 and r.stdout == kt_text.stdout_bytes(),
          "--record: the replay prints what the live text run printed, byte for byte",
          r.stderr.decode(errors="replace") + repr(r.stdout[:500]))
    check_no_leak(kt)


def run():
    test_usage()
    test_writer()


main(run)
