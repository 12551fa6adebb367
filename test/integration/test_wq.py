#!/usr/bin/env python3
"""wq: work items per work function and workqueue.

1. While `ktrace wq -j` and a bpftrace counter of workqueue_execute_end by
   function run, three rounds of `dd` (16 MB to a file on /) + `sync`
   wake the flusher: ktrace shows wb_workfn on the "writeback" workqueue
   with count >= 1, a run time and a queueing delay; its wb_workfn count
   matches bpftrace's (within 2: the two stop a few ms apart), and no
   function has more runs in ktrace than in bpftrace, which started first
   and stopped last.
2. Every row: queued <= count, run_max_ns <= run_total_ns, a function name
   and its address; rows without a workqueue name have queued == 0.
3. Text with --hist -m: the table, the run-time histograms in msecs; an
   option wq does not have is a usage error (exit 2).
"""
import re
import shutil
import tempfile
import time

import ktlib
from ktlib import check, check_no_leak, Ktrace

REF_BT = r"""
tracepoint:workqueue:workqueue_execute_end { @runs[ksym(args->function)] = count(); }
"""




def bpftrace_stop(p, out):
    """The @runs map as {function: count}."""
    text = ktlib.bpftrace_stop(p, out)
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^@runs\[([^\]]+)\]: (\d+)$", text, re.M)}


def writeback(rounds=3):
    d = tempfile.mkdtemp(prefix="kt-wq-", dir="/var/tmp")
    ktlib.at_exit(shutil.rmtree, d, True)
    for i in range(rounds):
        ktlib.sh(["dd", "if=/dev/zero", "of=%s/f%d" % (d, i), "bs=1M", "count=16"])
        ktlib.sh(["sync"])
    time.sleep(0.5)


def rows_of(kt):
    rows = []
    for t in kt.records("table"):
        if t.get("name") == "work":
            rows += t["rows"]
    return rows


def json_test():
    ref = None
    if shutil.which("bpftrace"):
        ktlib.ensure_tracefs()
        ref = ktlib.bpftrace_start(REF_BT)
    else:
        ktlib.log("no bpftrace: wq runs without its cross-check")
    kt = Ktrace("wq", "-j")
    writeback()
    # stop both back to back: the same interval within a few ms
    kt.stop()
    theirs = bpftrace_stop(*ref) if ref else {}
    check(kt.rc == 0, "wq -j exits 0", kt.stderr())
    meta = kt.records("meta")
    check(meta and len(meta[0]["attach"]) == 3 and
          all(a.get("type") in ("tp_btf", "raw_tp") for a in meta[0]["attach"]),
          "meta names a tp_btf or raw_tp attachment for each of the three hooks", meta)
    rows = rows_of(kt)
    wb = [r for r in rows if r["func"] == "wb_workfn"]
    check(any(r["workqueue"] == "writeback" and r["count"] >= 1 and r["run_total_ns"] > 0
              and r["queued"] >= 1 and r["delay_max_ns"] > 0 for r in wb),
          "dd + sync: wb_workfn on workqueue writeback with a count, a run time and a delay",
          wb or rows[:10])
    for r in rows:
        if not check(r["queued"] <= r["count"] and r["run_max_ns"] <= r["run_total_ns"]
                     and r["func"] and r["func_addr"].startswith("0x")
                     and (r["workqueue"] is not None or r["queued"] == 0)
                     and r["delay_max_ns"] <= r["delay_total_ns"],
                     "row %s/%s is consistent" % (r["func"], r["workqueue"]), r):
            break
    if ref:
        mine = sum(r["count"] for r in wb)
        bt = theirs.get("wb_workfn", 0)
        check(bt >= 1 and abs(mine - bt) <= 2,
              "wb_workfn runs match bpftrace within 2 (ktrace %d, bpftrace %d)" % (mine, bt))
        # bpftrace ran from before ktrace started to after it stopped: per
        # function, ktrace cannot have seen (many) more runs than bpftrace
        mine_by = {}
        for r in rows:
            mine_by[r["func"]] = mine_by.get(r["func"], 0) + r["count"]
        over = {f: (n, theirs.get(f, 0)) for f, n in mine_by.items() if n > theirs.get(f, 0) + 2}
        check(not over and sum(mine_by.values()) > 0,
              "no function has more runs in ktrace than in bpftrace's longer window "
              "(ktrace %d, bpftrace %d in all)" % (sum(mine_by.values()), sum(theirs.values())),
              over)
    check_no_leak(kt)


def text_test():
    kt = Ktrace("wq", "--hist", "-m", "2", "1")
    writeback(1)
    kt.wait(60)
    out = kt.stdout()
    check(kt.rc == 0 and "Work items:" in out and "FUNCTION" in out and "WORKQUEUE" in out
          and "RUN_msecs" in out and "msecs" in out and "wb_workfn" in out,
          "wq --hist -m 2 1 prints the table and msecs histograms in text", out + kt.stderr())
    check_no_leak(kt)
    r = ktlib.run_ktrace("wq", "--per-cpu")
    check(r.returncode == 2 and "per-cpu" in r.stderr,
          "--per-cpu is not a wq option: usage error naming it", r.stderr)


def main():
    json_test()
    text_test()


ktlib.main(main)
