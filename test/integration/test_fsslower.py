#!/usr/bin/env python3
"""ktrace fsslower: slow file-system calls with their path, on a throttled ext4.

A writer in a blkio cgroup that throttles the disk under the loop device
does 3 writes + fsyncs (each fsync 200+ ms here), then creates, renames and
unlinks 200 files, mkdir/rmdir, chmod, stat, and creates and unlinks a file
with a hostile name. fsslower 0 must report every one of them with its
full path, operation and ext4; fsslower 100 exactly the fsyncs (the fast
calls stay below the threshold); bpftrace counts the same slow fsyncs.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

import fsfix
from ktlib import KTRACE, Ktrace, at_exit, check, check_no_leak, log, main, run_ktrace

# bpftrace: fsync calls of comm fswriter and how many took >= $1 ms
REF_BT = r"""
tracepoint:syscalls:sys_enter_fsync /comm == "fswriter"/ { @s[tid] = nsecs; }
tracepoint:syscalls:sys_exit_fsync /@s[tid]/ {
	@n = count();
	if (nsecs - @s[tid] >= $1 * 1000000) { @slow = count(); }
	delete(@s[tid]);
}
"""


def bt_value(text, name):
    for line in (text or "").splitlines():
        if line.startswith("@%s: " % name):
            return int(line.split()[1])
    return 0


def ours(evs, pid, d):
    return [e for e in evs if e["pid"] == pid and e["path"].startswith(d + "/")]


def test_usage():
    for args, what in ((["x"], "MIN_MS"), (["1x"], "MIN_MS"), (["1", "2"], "unexpected"),
                       (["--fstype", ""], "--fstype"), (["--fstype", "a/b"], "--fstype")):
        r = run_ktrace("fsslower", *args)
        check(r.returncode == 2 and what in r.stderr,
              "fsslower %s: usage error (2) naming %s" % (" ".join(args), what), r.stderr)


def test_writer():
    mnt, cg = fsfix.ext4_mount()
    d = fsfix.unique_dir(mnt, "slower")
    bt = fsfix.Bpftrace(REF_BT, 100)
    kt_all = Ktrace("fsslower", "0", "-n", "fswriter", "-j")
    kt_slow = Ktrace("fsslower", "100", "-n", "fswriter", "-j", env={"KTRACE_ATTACH": "raw_tp"})
    tape = os.path.join(tempfile.mkdtemp(prefix="kt-fstape-"), "fsslower.tape")
    at_exit(shutil.rmtree, os.path.dirname(tape), True)
    kt_text = Ktrace("fsslower", "0", "-n", "fswriter", "--fstype", "ext4", "--record", tape)
    kt_tmpfs = Ktrace("fsslower", "0", "-n", "fswriter", "--fstype", "tmpfs", "-j")
    w = fsfix.Writer(d, cg)
    log("the writer took %.2fs" % w.run())
    time.sleep(0.3)
    for k in (kt_all, kt_slow, kt_text, kt_tmpfs):
        check(k.stop() == 0, "exit status 0 (%s)" % " ".join(k.args[1:]), k.stderr())
    ref = bt.stop()

    meta = kt_all.records("meta")[0]
    check(meta.get("layer") == "syscall", "meta names the layer that ran (syscall)", meta)
    evs = ours(kt_all.records("event"), w.pid, d)
    by = {}
    for e in evs:
        by.setdefault(e["op"], []).append(e)
    n = fsfix.NFILES
    data = d + "/data"
    check(all(e["fstype"] == "ext4" for e in evs), "every call in the ext4 mount says ext4",
          [e for e in evs if e["fstype"] != "ext4"][:3])
    big = [e for e in by.get("write", []) if e["path"] == data]
    check(len(big) == 3 and [e["bytes"] for e in big] == [65536] * 3 and
          [e["offset"] for e in big] == [0, 65536, 131072],
          "3 writes of 64 KiB to data at offsets 0, 64K, 128K", big)
    syncs = [e for e in by.get("fsync", []) if e["path"] == data]
    check(len(syncs) == 3, "3 fsyncs of %s" % data, by.get("fsync"))
    check(all(e["lat_ms"] >= 150 for e in syncs), "throttled: each fsync takes >= 150 ms",
          [e["lat_ms"] for e in syncs])
    creates = sorted(e["path"] for e in by.get("create", []))
    want = sorted([d + "/f%03d" % i for i in range(n)] + [data, d + "/" + fsfix.HOSTILE])
    check(creates == want, "creates: data, f000..f%03d and the hostile name, by full path" % (n - 1),
          creates[:5])
    ren = by.get("rename", [])
    check(len(ren) == n and all(e["new_path"] == d + "/g" + e["path"][-3:] and
                                e["path"] == d + "/f" + e["path"][-3:] for e in ren),
          "%d renames fNNN -> gNNN, both paths absolute" % n, ren[:3])
    unl = sorted(e["path"] for e in by.get("unlink", []))
    check(unl == sorted([d + "/g%03d" % i for i in range(n)] + [d + "/" + fsfix.HOSTILE]),
          "%d unlinks of gNNN and the hostile name" % (n + 1), unl[:5])
    check([e["path"] for e in by.get("mkdir", [])] == [d + "/sub"] and
          [e["path"] for e in by.get("rmdir", [])] == [d + "/sub"], "mkdir and rmdir of sub",
          (by.get("mkdir"), by.get("rmdir")))
    check(any(e["path"] == data and e["syscall"] in ("chmod", "fchmodat") for e in by.get("setattr", [])),
          "chmod of data is a setattr", by.get("setattr"))
    check(any(e["path"] == data for e in by.get("getattr", [])), "stat of data is a getattr",
          by.get("getattr"))
    small = [e for e in by.get("write", []) if e["path"] != data]
    check(len(small) == n + 1 and all(e["bytes"] in (16, 1) for e in small),
          "one small write per created file", small[:3])

    slow = kt_slow.records("event")
    meta = kt_slow.records("meta")[0]
    check(all(a["type"] == "raw_tp" for a in meta["attach"]), "KTRACE_ATTACH=raw_tp: raw_tp ran",
          meta["attach"])
    check(all(e["lat_ms"] >= 100 for e in slow), "fsslower 100: nothing under 100 ms",
          [e for e in slow if e["lat_ms"] < 100])
    slow_ours = ours(slow, w.pid, d)
    check(sorted(e["op"] for e in slow_ours) == ["fsync"] * 3 and
          all(e["path"] == data for e in slow_ours),
          "fsslower 100: exactly the 3 fsyncs of data; the fast calls stay below", slow_ours)
    fast = [e for e in evs if e["op"] in ("create", "rename", "unlink", "mkdir", "rmdir")]
    check(all(e["lat_ms"] < 100 for e in fast), "the metadata calls are fast (< 100 ms)",
          [e for e in fast if e["lat_ms"] >= 100][:3])
    if ref is not None:
        check(bt_value(ref, "n") == 3 and bt_value(ref, "slow") == len(slow_ours),
              "bpftrace: 3 fsyncs, as many >= 100 ms as fsslower shows (%d, %d)"
              % (bt_value(ref, "slow"), len(slow_ours)), ref)
    else:
        log("no bpftrace: the cross-check is skipped")

    check(ours(kt_tmpfs.records("event"), w.pid, d) == [], "--fstype tmpfs: none of the ext4 calls",
          ours(kt_tmpfs.records("event"), w.pid, d)[:3])
    raw = kt_text.stdout_bytes()
    check(b"\x1b" not in raw, "text: no raw escape byte (the hostile name is escaped)")
    text = kt_text.stdout()
    check("evil\\n\\x1b[31mred" in text, "text: the hostile name as evil\\n\\x1b[31mred")
    lines = text.splitlines()
    check(lines and lines[0].split()[:4] == ["COMM", "PID", "OP", "BYTES"] and "FILE" in lines[0],
          "text header", lines[:1])
    ren_lines = [l for l in lines if " rename " in l and (d + "/f000 -> " + d + "/g000") in l]
    check(len(ren_lines) == 1, "text: a rename shows OLD -> NEW", ren_lines)
    check(sum(1 for l in lines if " create " in l and l.endswith("ext4    " + d + "/f007")) == 1,
          "text: create of f007 with its fstype and path")
    r = subprocess.run([KTRACE, "replay", tape], capture_output=True)
    check(r.returncode == 0 and r.stdout == raw,
          "--record: the replay prints what the live text run printed, byte for byte",
          r.stderr.decode(errors="replace") + repr(r.stdout[:500]))
    check_no_leak(kt_all)


def test_self():
    """ktrace never traces itself: writing its records to a file would
    report its own writes, each making another record."""
    d = tempfile.mkdtemp(prefix="kt-fsself-", dir="/var/tmp")
    at_exit(shutil.rmtree, d, True)
    out = os.path.join(d, "out.json")
    kt = Ktrace("fsslower", "0", "-n", "ktrace", "-j", "-o", out)
    time.sleep(1)
    check(kt.stop() == 0, "fsslower -o FILE: exit status 0", kt.stderr())
    with open(out) as f:
        recs = [json.loads(l) for l in f if l.strip()]
    mine = [r for r in recs if r.get("type") == "event" and r.get("pid") == kt.pid]
    check(recs and recs[0]["type"] == "meta" and not mine,
          "fsslower does not report its own calls (its writes to -o FILE)", mine[:3])


def run():
    test_usage()
    test_self()
    test_writer()


main(run)
