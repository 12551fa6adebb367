#!/usr/bin/env python3
"""syscalls: per-call counts, errors and latency of the calling task.

A workload (sysmix) makes 5000 getppid() and 300 openat() of a missing path
(ENOENT), then a second thread sleeps 10 times 50 ms (clock_nanosleep),
started after every ktrace is attached. On that one run:
1. -p: getppid counted 5000 times (plus at most a little noise), equal to
   bpftrace's raw_syscalls:sys_enter count for that pid and call number;
   openat has >= 300 errors; latencies are there (total >= max > 0).
2. -x: only failed calls: openat >= 300 errors, every row count == errors,
   no getppid.
3. --errno ENOENT (by name) and --errno 2 (number): openat >= 300.
4. --syscall getppid: getppid and nothing else; -P: the row names the pid
   and its comm; --top 1: one row; --sort time: rows by decreasing total
   time (by default, by decreasing count).
5. Text: a table with the getppid row, and with --hist the histogram of
   clock_nanosleep; usage errors exit 2.
6. --slower 30: exactly the 10 sleeps as clock_nanosleep events of the
   sleeping thread (pid and tid), 50-200 ms each, ret 0; no getppid; no loss.
8. Intervals (1 s): the getppid counts of all the tables add up to 5000
   (each table has what happened since the last one), and the sleeps'
   maximum is never below 50 ms where clock_nanosleep shows up.
7. --hist: clock_nanosleep's histogram counts 10 calls, all at >= 32768 usecs,
   and its 32768-65535 bucket holds the sleeps --slower timed below 65.536 ms
   (+-1 for a call on the edge); getppid's 5000 calls are under 1 ms.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time

import ktlib
from ktlib import check, check_no_leak, Ktrace, workload

N_PPID = 5000
N_OPEN = 300
N_SLEEP, SLEEP_MS = 10, 50

REF_BT = """
tracepoint:raw_syscalls:sys_enter /pid == $1/ { @[args->id] = count(); }
"""




def bpftrace_stop(p, out):
    text = ktlib.bpftrace_stop(p, out)
    return {int(m.group(1)): int(m.group(2))
            for m in re.finditer(r"^@\[(\d+)\]: (\d+)$", text, re.M)}


def rows(kt):
    out = []
    for r in kt.records("table"):
        check(r.get("name") == "syscalls", "the table is named syscalls", r)
        out.extend(r["rows"])
    return out


def by_name(rs, name):
    return [r for r in rs if r["syscall"] == name]


def main():
    ktlib.require_root()
    d = tempfile.mkdtemp(prefix="kt-sys-")
    ktlib.at_exit(shutil.rmtree, d, True)
    missing = os.path.join(d, "does-not-exist")
    w = subprocess.Popen([workload("sysmix"), str(N_PPID), str(N_OPEN), missing, str(N_SLEEP),
                          str(SLEEP_MS)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ktlib.at_exit(lambda: w.poll() is None and (w.kill(), w.wait()))
    pid = w.pid
    bt = ktlib.bpftrace_start(REF_BT, pid) if shutil.which("bpftrace") else None
    if not bt:
        ktlib.log("no bpftrace: the count runs without its cross-check")
    kt = Ktrace("syscalls", "-j", "-p", pid, "--top", "0")
    kx = Ktrace("syscalls", "-j", "-x", "-p", pid)
    ke = Ktrace("syscalls", "-j", "--errno", "ENOENT", "-p", pid)
    ke2 = Ktrace("syscalls", "-j", "--errno", "2", "-p", pid)
    ks = Ktrace("syscalls", "-j", "-P", "--syscall", "getppid,getpid", "-p", pid)
    kl = Ktrace("syscalls", "-j", "--sort", "time", "--top", "1", "-p", pid)
    kta = Ktrace("syscalls", "-j", "--sort", "time", "--top", "0", "-p", pid)
    ktx = Ktrace("syscalls", "--hist", "-p", pid)
    ksl = Ktrace("syscalls", "-j", "--slower", "30", "-p", pid)
    ksx = Ktrace("syscalls", "--slower", "30", "-p", pid)
    kh = Ktrace("syscalls", "-j", "--hist", "--top", "0", "-p", pid)
    kiv = Ktrace("syscalls", "-j", "--syscall", "getppid,clock_nanosleep", "-p", pid, "1")
    out, _ = w.communicate("go\n", timeout=60)
    check(w.returncode == 0 and "enoent %d" % N_OPEN in out, "sysmix ran", out)
    m = re.search(r"^sleeper (\d+)$", out, re.M)
    check(m, "sysmix names its sleeping thread", out)
    sleeper = int(m.group(1))
    time.sleep(0.2)
    end = time.time() + 10
    while len(kiv.records("table")) < 3 and time.time() < end:
        time.sleep(0.2)
    all_k = (kt, kx, ke, ke2, ks, kl, kta, ktx, ksl, ksx, kh, kiv)
    for k in all_k:
        k.stop()
        check(k.rc == 0, "%s exits 0" % " ".join(k.args[1:]), k.stderr())
    ref = bpftrace_stop(*bt) if bt else None

    # 1. plain -p
    rs = rows(kt)
    pp = by_name(rs, "getppid")
    check(len(pp) == 1, "-p: one getppid row", rs)
    n = pp[0]["count"]
    check(N_PPID <= n <= N_PPID + 10, "-p: getppid counted %d times (got %d)" % (N_PPID, n), pp)
    check(pp[0]["errors"] == 0, "-p: getppid never fails", pp)
    check(pp[0]["total_us"] >= pp[0]["max_us"] > 0, "-p: getppid has a total >= max > 0", pp)
    op = by_name(rs, "openat")
    check(len(op) == 1 and op[0]["errors"] >= N_OPEN,
          "-p: openat has >= %d errors" % N_OPEN, op)
    if ref is not None:
        nr = pp[0]["syscall_raw"]
        check(ref.get(nr) == n, "getppid (%d) count %d equals bpftrace's %s" % (nr, n, ref.get(nr)),
              ref)
    # 2. -x
    rs = rows(kx)
    op = by_name(rs, "openat")
    check(len(op) == 1 and op[0]["errors"] >= N_OPEN, "-x: openat has >= %d errors" % N_OPEN, rs)
    check(all(r["count"] == r["errors"] for r in rs), "-x: only failed calls are counted", rs)
    check(not by_name(rs, "getppid"), "-x: no getppid (it never fails)", rs)
    # 3. --errno
    for k, how in ((ke, "ENOENT"), (ke2, "2")):
        rs = rows(k)
        op = by_name(rs, "openat")
        check(len(op) == 1 and op[0]["count"] >= N_OPEN and op[0]["errors"] == op[0]["count"],
              "--errno %s: openat >= %d" % (how, N_OPEN), rs)
        check(not by_name(rs, "getppid"), "--errno %s: no getppid" % how, rs)
    # 4. --syscall, -P, --sort time --top 1
    rs = rows(ks)
    check({r["syscall"] for r in rs} <= {"getppid", "getpid"} and by_name(rs, "getppid"),
          "--syscall getppid,getpid: only those", rs)
    pp = by_name(rs, "getppid")
    check(pp[0]["pid"] == pid and pp[0]["comm"] == "sysmix" and pp[0]["count"] >= N_PPID,
          "-P: the row names pid %d and sysmix" % pid, pp)
    rs = rows(kl)
    check(len(rs) == 1, "--top 1: one row", rs)
    rs = rows(kta)
    check(len(rs) >= 2 and all(a["total_us"] >= b["total_us"] for a, b in zip(rs, rs[1:])),
          "--sort time: rows in decreasing total time", rs)
    rs = rows(kt)
    check(all(a["count"] >= b["count"] for a, b in zip(rs, rs[1:])),
          "default: rows in decreasing count", rs)
    # 5. text
    txt = ktx.stdout()
    check(re.search(r"^SYSCALL\s+COUNT\s+ERRORS\s+TOTAL_us\s+MAX_us", txt, re.M), "text header", txt)
    m = re.search(r"^getppid\s+(\d+)\s+0\s", txt, re.M)
    check(m and int(m.group(1)) >= N_PPID, "text: getppid row", txt)
    check(re.search(r"^syscall = 'clock_nanosleep'$", txt, re.M) and
          re.search(r"^\s+32768 -> 65535\s+: \d+", txt, re.M), "text: --hist of clock_nanosleep", txt)
    # 6. --slower 30
    ev = ksl.records("event")
    sl = [e for e in ev if e["syscall"] in ("clock_nanosleep", "nanosleep")]
    check(len(sl) == N_SLEEP, "--slower 30: %d sleeps (got %d)" % (N_SLEEP, len(sl)), ev)
    for e in sl:
        check(e["pid"] == pid and e["tid"] == sleeper and e["comm"] == "sysmix",
              "--slower: a sleep of pid %d tid %d" % (pid, sleeper), e)
        check(SLEEP_MS <= e["lat_ms"] <= 200 and e["lat_ns"] >= SLEEP_MS * 1000000,
              "--slower: a sleep took 50-200 ms", e)
        check(e["ret"] == 0 and e["errno"] is None, "--slower: a sleep returned 0", e)
    check(all(e["lat_ms"] >= 30 for e in ev), "--slower: nothing faster than 30 ms", ev)
    check(not [e for e in ev if e["syscall"] == "getppid"], "--slower: no getppid", ev)
    summ = ksl.records("summary")
    check(summ and summ[-1]["lost"] == 0 and summ[-1]["events"] == len(ev),
          "--slower: every event delivered, none lost", summ)
    txt = ksx.stdout()
    check(re.search(r"^\s*PID\s+TID\s+COMM\s+SYSCALL\s+RET\s+LAT\(ms\)", txt, re.M),
          "--slower text header", txt)
    lines = re.findall(r"^\s*%d\s+%d\s+sysmix\s+clock_nanosleep\s+0\s+([\d.]+)$" % (pid, sleeper),
                       txt, re.M)
    check(len(lines) == N_SLEEP, "--slower text: %d sleep lines" % N_SLEEP, txt)
    # 8. intervals
    tabs = kiv.records("table")
    check(len(tabs) >= 3, "1 s intervals: at least 3 tables", tabs)
    per = [sum(r["count"] for r in t["rows"] if r["syscall"] == "getppid") for t in tabs]
    check(N_PPID <= sum(per) <= N_PPID + 10 and max(per) >= N_PPID // 2,
          "intervals: getppid counts add up to %d (got %s)" % (N_PPID, per), tabs)
    sl_rows = [r for t in tabs for r in t["rows"] if r["syscall"] == "clock_nanosleep"]
    check(sum(r["count"] for r in sl_rows) == N_SLEEP and
          all(r["max_us"] >= SLEEP_MS * 1000 for r in sl_rows),
          "intervals: %d sleeps, each interval's max >= 50 ms" % N_SLEEP, sl_rows)
    # 7. --hist
    hs = {h["key"]["syscall"]: h for h in kh.records("hist")}
    check("clock_nanosleep" in hs and "getppid" in hs, "--hist: a histogram per call", hs.keys())
    h = hs["clock_nanosleep"]
    check(h["unit"] == "usecs" and h["count"] == N_SLEEP, "--hist: clock_nanosleep 10 calls", h)
    check(all(b["count"] == 0 or b["min"] >= 32768 for b in h["buckets"]),
          "--hist: every sleep >= 32768 usecs", h)
    b15 = [b["count"] for b in h["buckets"] if b["min"] == 32768 and b["max"] == 65535]
    fast = len([e for e in sl if e["lat_ns"] < 65536000])
    check(b15 and abs(b15[0] - fast) <= 1,
          "--hist: the 32768-65535 bucket has the %d sleeps under 65.536 ms" % fast, h)
    pp = [r for r in rows(kh) if r["syscall"] == "getppid"]
    check(pp and hs["getppid"]["count"] == pp[0]["count"] >= N_PPID,
          "--hist: getppid's histogram counts its calls", hs["getppid"])
    check(all(b["count"] == 0 or b["max"] < 1024 for b in hs["getppid"]["buckets"]) or
          sum(b["count"] for b in hs["getppid"]["buckets"] if b["max"] >= 1024) <= 5,
          "--hist: getppid is fast", hs["getppid"])
    for bad in (["--errno", "ENOPE"], ["--syscall", "nosuchcall"], ["--sort", "size"],
                ["--top", "x"], ["--slower", "x"], ["--slower", "-1"], ["--slower", "30", "--hist"],
                ["--slower", "30", "-P"], ["--slower", "30", "--top", "3"]):
        r = ktlib.run_ktrace("syscalls", *bad, "1", "1")
        check(r.returncode == 2, "syscalls %s is a usage error (exit 2)" % " ".join(bad), r.stderr)
    r = ktlib.run_ktrace("syscalls", "--slower", "30", "5")
    check(r.returncode == 2 and "--slower" in r.stderr, "--slower with an interval: exit 2",
          r.stderr)
    for k in all_k:
        check_no_leak(k)


ktlib.main(main)
