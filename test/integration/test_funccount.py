#!/usr/bin/env python3
"""funccount: calls per function, counted in the kernel.

The workload `funcs` (test/workloads/funcs.c) waits for a line on stdin, so
ktrace attaches to it by pid before it calls anything:
1. 500 getppid() calls: 'c:getpp*' -p shows getppid 500, and bpftrace's
   uprobe on the same libc function of the same run counts 500 too.
2. A wildcard over the workload's own functions ('[lr]e*': rec, leap): rec
   4 times (recursion), leap 3 times; --top 1 keeps only rec.
3. Intervals: five 300 ms naps counted every second add up to 5, over
   more than one table.
4. 'c:strl*' matches strlen, an IFUNC: with -p the implementation the
   process uses counts its 300 calls; without -p it is left out, said so.
5. Errors: a pattern that matches nothing (exit 1, naming the file and the
   tables searched), a kernel pattern on a kernel without kprobes (exit 1,
   naming kprobe), a missing pattern (exit 2).
"""
import re
import shutil
import subprocess
import time

import ktlib
from ktlib import check, check_no_leak, Ktrace, run_ktrace, workload

FUNCS = workload("funcs")


def start_funcs(*steps):
    p = subprocess.Popen([FUNCS] + [str(s) for s in steps], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    ktlib.at_exit(lambda: p.poll() is None and (p.kill(), p.wait()))
    # ready once the loader has mapped libc (ktrace looks `c` up in the maps)
    end = time.time() + 10
    while time.time() < end:
        with open("/proc/%d/maps" % p.pid) as f:
            if "/libc" in f.read():
                break
        time.sleep(0.01)
    return p


def finish_funcs(p):
    out, _ = p.communicate("go\n", timeout=30)
    return out.strip()


def counts(kt):
    c = {}
    for t in kt.records("table"):
        for r in t["rows"]:
            c[r["function"]] = c.get(r["function"], 0) + r["count"]
    return c




def bpftrace_stop(p, out):
    text = ktlib.bpftrace_stop(p, out)
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^@(\w+): (\d+)$", text, re.M)}


def getppid_test():
    w = start_funcs("getppid", 500)
    kt = Ktrace("funccount", "-j", "-p", w.pid, "c:getpp*")
    libc = kt.records("meta")[0].get("binary", "")
    bt = None
    if shutil.which("bpftrace") and libc:
        bt = ktlib.bpftrace_start("uprobe:%s:getppid /pid == %d/ { @n = count(); }" % (libc, w.pid))
    check(finish_funcs(w) == "getppid 500", "workload called getppid 500 times")
    kt.stop()
    check(kt.rc == 0, "funccount -p exits 0", kt.stderr())
    c = counts(kt)
    check(c == {"getppid": 500}, "getppid counted 500 times, nothing else matched", c)
    at = kt.records("meta")[0]["attach"]
    check(at[0]["type"] == "uprobe", "attached by uprobe", at)
    check(kt.records("summary")[0].get("stopped_by") == "signal", "summary at the end")
    check_no_leak(kt)
    if bt:
        ref = bpftrace_stop(*bt)
        check(ref.get("n") == c.get("getppid"), "bpftrace counts the same getppid calls", (ref, c))
    else:
        ktlib.log("bpftrace not installed: cross-check skipped")


def wildcard_test():
    w = start_funcs("recurse", 4, "jump", 3)
    kt = Ktrace("funccount", "-j", "-p", w.pid, FUNCS + ":[lr]e*")
    top = Ktrace("funccount", "-j", "--top", "1", "-p", w.pid, FUNCS + ":[lr]e*")
    check(finish_funcs(w) == "recurse 4 jump 3", "workload recursed and jumped")
    kt.stop()
    top.stop()
    c = counts(kt)
    check(c == {"rec": 4, "leap": 3}, "rec 4 and leap 3 (below, nap, main not matched)", c)
    t = top.records("table")
    check(len(t) == 1 and [r["function"] for r in t[0]["rows"]] == ["rec"],
          "--top 1 keeps the most called, rec", t)


def interval_test():
    w = start_funcs("nap", 5, 300)
    kt = Ktrace("funccount", "-j", "-p", w.pid, FUNCS + ":nap", "1")
    check(finish_funcs(w) == "nap 5", "workload napped 5 times")
    time.sleep(1.2)
    kt.stop()
    tables = kt.records("table")
    check(len(tables) >= 2, "more than one interval's table (%d)" % len(tables))
    check(counts(kt).get("nap") == 5, "the intervals add up to 5 naps", tables)


def ifunc_test():
    w = start_funcs("strlen", 300)
    kt = Ktrace("funccount", "-j", "-p", w.pid, "c:strl*")
    check(finish_funcs(w) == "strlen 300", "workload called strlen 300 times")
    kt.stop()
    check(counts(kt).get("strlen") == 300 and "IFUNC" in kt.stderr(),
          "strlen (IFUNC) counted 300 times in the implementation, and said so", (counts(kt), kt.stderr()))
    r = run_ktrace("funccount", "-d", "1", "c:strl*")
    check(r.returncode == 2 and "IFUNC" in r.stderr and "-p" in r.stderr,
          "IFUNCs without -p: left out, said so", r.stderr)


def error_test():
    r = run_ktrace("funccount", "-d", "1", FUNCS + ":zz_no_such*")
    check(r.returncode == 1 and "zz_no_such*" in r.stderr and FUNCS in r.stderr and ".symtab" in r.stderr,
          "no match: exit 1 naming the pattern, the file and the tables", r.stderr)
    r = run_ktrace("funccount", "-d", "1")
    check(r.returncode == 2 and "missing the pattern" in r.stderr, "no pattern: usage error", r.stderr)
    r = run_ktrace("funccount", "-d", "1", "--top", "0", "c:getppid")
    check(r.returncode == 2 and "--top" in r.stderr, "--top 0: usage error", r.stderr)
    r = run_ktrace("funccount", "-d", "1", "--record", "/nonexistent/t.tape", "c:getppid")
    check(r.returncode == 2 and "--record" in r.stderr, "--record refused: usage error", r.stderr)
    r = run_ktrace("funccount", "-d", "1", "k:vfs_rea*")
    if r.returncode == 0:
        ktlib.log("this kernel has kprobes: k: error case skipped")
    else:
        check(r.returncode == 1 and "kprobe" in r.stderr, "k:vfs_rea* without kprobes: exit 1 naming kprobe",
              r.stderr)


def main():
    getppid_test()
    wildcard_test()
    interval_test()
    ifunc_test()
    error_test()


ktlib.main(main)
