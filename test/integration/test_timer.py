#!/usr/bin/env python3
"""timer: timer expiries per callback.

1. `ktrace timer -j` runs; inside its run a bpftrace counter of
   hrtimer_expire_entry and timer_expire_entry by callback runs, and ten
   `sleep 0.1` in a row: ktrace shows hrtimer_wakeup (an hrtimer) with
   count >= 10 and a lateness for each, and, since bpftrace's window lies
   inside ktrace's, no callback has fewer expiries in ktrace than in
   bpftrace (within 2), hrtimer_wakeup included.
2. Timer-wheel timers (the vmstat and writeback delayed works fire every
   second or so) show up as type "timer" with a lateness in whole jiffies of
   the HZ that meta reports, which is the kernel config's CONFIG_HZ.
3. Text with --hist -m: the table and msecs lateness histograms; an option
   timer does not have is a usage error (exit 2).
"""
import gzip
import os
import re
import shutil
import time

import ktlib
from ktlib import check, check_no_leak, Ktrace

REF_BT = r"""
tracepoint:timer:hrtimer_expire_entry { @runs[ksym(args->function)] = count(); }
tracepoint:timer:timer_expire_entry { @runs[ksym(args->function)] = count(); }
"""




def bpftrace_stop(p, out):
    text = ktlib.bpftrace_stop(p, out)
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^@runs\[([^\]]+)\]: (\d+)$", text, re.M)}


def config_hz():
    """CONFIG_HZ from the kernel's config, or None."""
    for path in ("/boot/config-" + os.uname().release, "/proc/config.gz"):
        try:
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rt") as f:
                for line in f:
                    if line.startswith("CONFIG_HZ="):
                        return int(line.split("=")[1])
        except OSError:
            pass
    return None


def sleeps(n=10):
    for _ in range(n):
        ktlib.sh(["sleep", "0.1"])


def rows_of(kt):
    rows = []
    for t in kt.records("table"):
        if t.get("name") == "timers":
            rows += t["rows"]
    return rows


def json_test():
    kt = Ktrace("timer", "-j")
    ref = None
    if shutil.which("bpftrace"):
        ktlib.ensure_tracefs()
        ref = ktlib.bpftrace_start(REF_BT)
    else:
        ktlib.log("no bpftrace: timer runs without its cross-check")
    sleeps()
    time.sleep(1.5)  # a wheel timer or two
    theirs = bpftrace_stop(*ref) if ref else {}
    kt.stop()
    check(kt.rc == 0, "timer -j exits 0", kt.stderr())
    meta = kt.records("meta")
    check(meta and len(meta[0]["attach"]) == 4 and
          all(a.get("type") in ("tp_btf", "raw_tp") for a in meta[0]["attach"]),
          "meta names a tp_btf or raw_tp attachment for each of the four hooks", meta)
    rows = rows_of(kt)
    wake = [r for r in rows if r["func"] == "hrtimer_wakeup"]
    check(len(wake) == 1 and wake[0]["type"] == "hrtimer" and wake[0]["type_raw"] == 0
          and wake[0]["count"] >= 10,
          "ten sleeps: hrtimer_wakeup, an hrtimer, expired at least 10 times", wake or rows[:10])
    check(wake and wake[0]["late_count"] == wake[0]["count"] and wake[0]["late_max_ns"] > 0
          and 0 < wake[0]["late_total_ns"] / wake[0]["late_count"] < 50e6,
          "hrtimer_wakeup: a lateness for every expiry, on average under 50 ms", wake)
    for r in rows:
        if not check(r["run_max_ns"] <= r["run_total_ns"] and r["late_count"] <= r["count"]
                     and r["late_max_ns"] <= r["late_total_ns"] and r["func_addr"].startswith("0x")
                     and r["type"] in ("hrtimer", "timer"),
                     "row %s/%s is consistent" % (r["func"], r["type"]), r):
            break
    hz = config_hz()
    if hz:
        check(meta and meta[0].get("hz", "").split(" ")[0] == str(hz),
              "meta's hz is the kernel config's CONFIG_HZ=%d" % hz, meta and meta[0].get("hz"))
        wheel = [r for r in rows if r["type"] == "timer" and r["late_count"] > 0]
        jiffy = 10**9 // hz
        check(wheel and all(r["late_max_ns"] % jiffy == 0 for r in wheel),
              "wheel timers have a lateness in whole jiffies of %d ns" % jiffy, wheel[:5])
    else:
        ktlib.log("no kernel config: HZ not cross-checked")
    if ref:
        mine = {}
        for r in rows:
            mine[r["func"]] = mine.get(r["func"], 0) + r["count"]
        short = {f: (mine.get(f, 0), n) for f, n in theirs.items() if mine.get(f, 0) < n - 2}
        check(theirs.get("hrtimer_wakeup", 0) >= 10 and not short,
              "no callback has fewer expiries in ktrace than in bpftrace's shorter window "
              "(hrtimer_wakeup: ktrace %d, bpftrace %d)"
              % (mine.get("hrtimer_wakeup", 0), theirs.get("hrtimer_wakeup", 0)), short)
    check_no_leak(kt)


def text_test():
    kt = Ktrace("timer", "--hist", "-m", "2", "1")
    sleeps(3)
    kt.wait(60)
    out = kt.stdout()
    check(kt.rc == 0 and "Timer expiries:" in out and "FUNCTION" in out and "LATE_MAX" in out
          and "hrtimer_wakeup" in out and "msecs" in out,
          "timer --hist -m 2 1 prints the table and msecs histograms in text", out + kt.stderr())
    check_no_leak(kt)
    r = ktlib.run_ktrace("timer", "--per-cpu")
    check(r.returncode == 2 and "per-cpu" in r.stderr,
          "--per-cpu is not a timer option: usage error naming it", r.stderr)


def main():
    json_test()
    text_test()


ktlib.main(main)
