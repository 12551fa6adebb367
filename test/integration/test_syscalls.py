#!/usr/bin/env python3
"""syscalls: per-call counts, errors and latency of the calling task.

A workload (sysmix) makes 5000 getppid() and 300 openat() of a missing path
(ENOENT), started after every ktrace is attached. On that one run:
1. -p: getppid counted 5000 times (plus at most a little noise), equal to
   bpftrace's raw_syscalls:sys_enter count for that pid and call number;
   openat has >= 300 errors; latencies are there (total >= max > 0).
2. -x: only failed calls: openat >= 300 errors, every row count == errors,
   no getppid.
3. --errno ENOENT (by name) and --errno 2 (number): openat >= 300.
4. --syscall getppid: getppid and nothing else; -P: the row names the pid
   and its comm; --top 1: one row; --sort time: rows by decreasing total
   time (by default, by decreasing count).
5. Text: a table with the getppid row; usage errors exit 2.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import ktlib
from ktlib import check, check_no_leak, Ktrace, workload

N_PPID = 5000
N_OPEN = 300

REF_BT = """
tracepoint:raw_syscalls:sys_enter /pid == $1/ { @[args->id] = count(); }
"""


def bpftrace_start(script, arg):
    d = tempfile.mkdtemp(prefix="kt-bt-")
    ktlib.at_exit(shutil.rmtree, d, True)
    path = os.path.join(d, "ref.bt")
    with open(path, "w") as f:
        f.write(script)
    out = open(os.path.join(d, "out"), "w+")
    p = subprocess.Popen(["bpftrace", path, str(arg)], stdout=out, stderr=subprocess.STDOUT)
    ktlib.at_exit(lambda: p.poll() is None and (p.kill(), p.wait()))
    end = time.time() + 60
    while True:
        out.seek(0)
        if "Attaching" in out.read():
            break
        if p.poll() is not None or time.time() > end:
            out.seek(0)
            raise RuntimeError("bpftrace did not start:\n" + out.read())
        time.sleep(0.1)
    time.sleep(1)  # "Attaching" comes before the probes are in
    return p, out


def bpftrace_stop(p, out):
    p.send_signal(signal.SIGINT)
    p.wait(60)
    out.seek(0)
    return {int(m.group(1)): int(m.group(2))
            for m in re.finditer(r"^@\[(\d+)\]: (\d+)$", out.read(), re.M)}


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
    w = subprocess.Popen([workload("sysmix"), str(N_PPID), str(N_OPEN), missing],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ktlib.at_exit(lambda: w.poll() is None and (w.kill(), w.wait()))
    pid = w.pid
    bt = bpftrace_start(REF_BT, pid) if shutil.which("bpftrace") else None
    if not bt:
        ktlib.log("no bpftrace: the count runs without its cross-check")
    kt = Ktrace("syscalls", "-j", "-p", pid, "--top", "0")
    kx = Ktrace("syscalls", "-j", "-x", "-p", pid)
    ke = Ktrace("syscalls", "-j", "--errno", "ENOENT", "-p", pid)
    ke2 = Ktrace("syscalls", "-j", "--errno", "2", "-p", pid)
    ks = Ktrace("syscalls", "-j", "-P", "--syscall", "getppid,getpid", "-p", pid)
    kl = Ktrace("syscalls", "-j", "--sort", "time", "--top", "1", "-p", pid)
    kta = Ktrace("syscalls", "-j", "--sort", "time", "--top", "0", "-p", pid)
    ktx = Ktrace("syscalls", "-p", pid)
    out, _ = w.communicate("go\n", timeout=60)
    check(w.returncode == 0 and "enoent %d" % N_OPEN in out, "sysmix ran", out)
    time.sleep(0.2)
    all_k = (kt, kx, ke, ke2, ks, kl, kta, ktx)
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
    for bad in (["--errno", "ENOPE"], ["--syscall", "nosuchcall"], ["--sort", "size"],
                ["--top", "x"]):
        r = ktlib.run_ktrace("syscalls", *bad, "1", "1")
        check(r.returncode == 2, "syscalls %s is a usage error (exit 2)" % " ".join(bad), r.stderr)
    for k in all_k:
        check_no_leak(k)


ktlib.main(main)
