#!/usr/bin/env python3
"""ktrace fsdist: latency histograms per operation and file-system type.

The fsslower writer on a throttled ext4 (3 fsyncs of 200+ ms, 200 files
created, renamed and unlinked): fsdist must count exactly its 3 fsyncs, all
slow, and its 204 writes under ext4, in usecs and with -m in msecs (on
raw_tp); bpftrace timing the same fsyncs must put them in the same log2
buckets.
"""
import math
import time

import fsfix
from ktlib import Ktrace, check, check_no_leak, log, main, run_ktrace

# bpftrace: each fsync of comm fswriter, its latency in microseconds
REF_BT = r"""
tracepoint:syscalls:sys_enter_fsync /comm == "fswriter"/ { @s[tid] = nsecs; }
tracepoint:syscalls:sys_exit_fsync /@s[tid]/ {
	printf("fsync_us %llu\n", (nsecs - @s[tid]) / 1000);
	delete(@s[tid]);
}
"""


def hists(kt):
    return {(h["key"]["fstype"], h["key"]["op"]): h for h in kt.records("hist")}


def counted(h):
    return [(b["min"], b["max"], b["count"]) for b in h["buckets"] if b["count"]]


def test_usage():
    r = run_ktrace("fsdist", "--fstype", "", "-j")
    check(r.returncode == 2 and "--fstype" in r.stderr, "--fstype '': usage error (2)", r.stderr)
    r = run_ktrace("fsdist", "-x")
    check(r.returncode == 2, "fsdist -x: usage error (2)", r.stderr)
    r = run_ktrace("fsdist", "1", "1", "-j", "-n", "kt-nosuch")
    check(r.returncode == 0 and '"stopped_by":"count"' in r.stdout,
          "fsdist 1 1: one interval, then stops by count", r.stdout[-300:] + r.stderr)


def same_buckets(ref_us, ktrace_buckets):
    """bpftrace's latencies fall into ktrace's buckets (a value within 2% of
    a power of two may land on either side: the two tools time the call at
    slightly different points)."""
    left = {(lo, hi): n for lo, hi, n in ktrace_buckets}
    for v in sorted(ref_us):
        slot = int(math.log2(v)) if v > 1 else 0
        cands = [slot]
        for s in (slot - 1, slot + 1):
            if s >= 0 and abs(v - 2 ** max(slot, s)) <= 0.02 * v:
                cands.append(s)
        for s in cands:
            key = (2 ** s if s else 0, 2 ** (s + 1) - 1)
            if left.get(key):
                left[key] -= 1
                break
        else:
            return False
    return not any(left.values())


def test_writer():
    mnt, cg = fsfix.ext4_mount()
    d = fsfix.unique_dir(mnt, "dist")
    bt = fsfix.Bpftrace(REF_BT)
    kt = Ktrace("fsdist", "-n", "fswriter", "-j")
    kt_ms = Ktrace("fsdist", "-m", "-n", "fswriter", "--fstype", "ext4", "-j",
                   env={"KTRACE_ATTACH": "raw_tp"})
    w = fsfix.Writer(d, cg)
    log("the writer took %.2fs" % w.run())
    time.sleep(0.3)
    for k in (kt, kt_ms):
        check(k.stop() == 0, "exit status 0 (%s)" % " ".join(k.args[1:]), k.stderr())
    ref = bt.stop()

    meta = kt.records("meta")[0]
    check(meta.get("layer") == "syscall", "meta names the layer (syscall)", meta)
    h = hists(kt)
    check(all(x["unit"] == "usecs" for x in h.values()), "unit usecs", list(h))
    fs = h.get(("ext4", "fsync"))
    check(fs is not None and fs["count"] == 3, "ext4 fsync: exactly the writer's 3 fsyncs",
          fs and counted(fs))
    check(fs is not None and all(lo >= 65536 for lo, _, _ in counted(fs)),
          "ext4 fsync: all in buckets of 64 ms and more (throttled)", fs and counted(fs))
    wr = h.get(("ext4", "write"))
    check(wr is not None and wr["count"] == 3 + fsfix.NFILES + 1,
          "ext4 write: 3 + %d + 1 writes (pipes are not counted)" % fsfix.NFILES,
          wr and wr["count"])
    op = h.get(("ext4", "open"))
    check(op is not None and op["count"] >= fsfix.NFILES + 2,
          "ext4 open: at least the %d creates and data" % (fsfix.NFILES + 2), op and op["count"])
    check(("ext4", "getattr") in h, "ext4 getattr: the stat of data", list(h))
    check(not any(k[1] in ("rename", "unlink", "mkdir") for k in h),
          "only read, write, open, fsync, getattr", list(h))
    if ref is not None:
        ref_us = [int(l.split()[1]) for l in ref.splitlines() if l.startswith("fsync_us ")]
        check(len(ref_us) == 3 and fs is not None and same_buckets(ref_us, counted(fs)),
              "bpftrace times the same 3 fsyncs into the same log2 buckets (%s vs %s)"
              % (ref_us, fs and counted(fs)))
    else:
        log("no bpftrace: the cross-check is skipped")

    hm = hists(kt_ms)
    meta = kt_ms.records("meta")[0]
    check(all(a["type"] == "raw_tp" for a in meta["attach"]), "KTRACE_ATTACH=raw_tp ran",
          meta["attach"])
    check(all(k[0] == "ext4" for k in hm) and all(x["unit"] == "msecs" for x in hm.values()),
          "-m --fstype ext4: ext4 only, in msecs", list(hm))
    fsm = hm.get(("ext4", "fsync"))
    check(fsm is not None and fsm["count"] == 3 and all(lo >= 64 for lo, _, _ in counted(fsm)),
          "-m: 3 fsyncs in buckets of 64 ms and more", fsm and counted(fsm))
    check_no_leak(kt)


def run():
    test_usage()
    test_writer()


main(run)
