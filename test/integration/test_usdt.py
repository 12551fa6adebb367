#!/usr/bin/env python3
"""usdt: USDT probes of the workload `funcs` (test/workloads/funcs.c, built
with sys/sdt.h; every probe has a semaphore). It waits for a line on stdin,
so ktrace attaches to it by pid before any probe fires.
1. --list BINARY and --list -p PID show funcs:start, funcs:done and
   funcs:query with their sites, semaphores and argument specs, the same
   as readelf -n reads from .note.stapsdt.
2. Counting: 5 naps (start, done) and 30 queries: funcs:* counts start 5,
   done 5, query 30; query is an is-enabled probe, and the workload says
   its semaphore was raised for all 30 (ktrace enabled it).
3. --arg 1 on funcs:query (arguments 0, 10, ..., 290): the histogram holds
   30 values, bucket by bucket the same as computed here.
4. --latency funcs:start funcs:done around ten 20 ms naps: 10 intervals in
   16-31 ms (at least 8 under load), none at 64 ms; bpftrace's usdt probes
   on the same run agree.
5. Errors: a missing probe (exit 1, naming the note section and --list),
   a malformed target and --list without a binary (exit 2).
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
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


def readelf_probes():
    out = ktlib.sh(["readelf", "-n", FUNCS]).stdout
    probes = {}
    for m in re.finditer(r"Provider: (\S+)\s+Name: (\S+)\s+Location: (0x[0-9a-f]+), Base: 0x[0-9a-f]+, "
                         r"Semaphore: (0x[0-9a-f]+)\s+Arguments: ([^\n]*)", out):
        probes["%s:%s" % (m.group(1), m.group(2))] = (int(m.group(4), 16), m.group(5).strip())
    return probes


def list_test():
    ref = readelf_probes()
    check(set(ref) == {"funcs:start", "funcs:done", "funcs:query"}, "readelf sees the 3 probes", ref)
    w = start_funcs("nap", 1, 1)
    for args in (["--list", FUNCS], ["--list", "-p", w.pid]):
        r = run_ktrace("usdt", "-j", *args)
        check(r.returncode == 0, "usdt %s exits 0" % " ".join(map(str, args)), r.stderr)
        rows = [x for line in r.stdout.splitlines() if '"table"' in line
                for x in __import__("json").loads(line)["rows"]]
        got = {"%s:%s" % (x["provider"], x["probe"]): (int(x["semaphore"], 16), x["args"]) for x in rows
               if x["binary"] == FUNCS}
        check(got == ref, "usdt %s: probes, semaphores and args as readelf -n" % args[0], (got, ref))
        check(all(x["sites"] == 1 for x in rows), "one site each", rows)
    finish_funcs(w)


def count_test():
    w = start_funcs("nap", 5, 1, "query", 30)
    kt = Ktrace("usdt", "-j", "-p", w.pid, "u:%s:funcs:*" % FUNCS)
    out = finish_funcs(w)
    kt.stop()
    check(kt.rc == 0, "usdt -p exits 0", kt.stderr())
    check(out == "nap 5 query 30 enabled 30", "the query semaphore was raised for all 30 (%s)" % out)
    c = {}
    for t in kt.records("table"):
        for r in t["rows"]:
            c[r["probe"]] = c.get(r["probe"], 0) + r["count"]
    check(c == {"funcs:start": 5, "funcs:done": 5, "funcs:query": 30}, "hits per probe", c)
    check_no_leak(kt)
    # without ktrace the semaphore stays down
    w = start_funcs("query", 30)
    check(finish_funcs(w) == "query 30 enabled 0", "semaphore down when nothing traces")


def arg_test():
    w = start_funcs("query", 30)
    kt = Ktrace("usdt", "-j", "--arg", "1", "-p", w.pid, "u:%s:funcs:query" % FUNCS)
    finish_funcs(w)
    kt.stop()
    hs = [h for h in kt.records("hist") if h["key"] == {"probe": "funcs:query"}]
    check(len(hs) == 1 and hs[0]["unit"] == "arg1", "one arg1 histogram for funcs:query", hs)
    want = {}
    for i in range(30):
        v = i * 10
        b = v.bit_length() - 1 if v > 1 else 0
        want[b] = want.get(b, 0) + 1
    got = {}
    for i, b in enumerate(hs[0]["buckets"]):
        if b["count"]:
            got[i] = b["count"]
    check(got == want, "bucket counts of 0, 10, ..., 290", (got, want))


def latency_test():
    w = start_funcs("nap", 10, 20)
    bt = None
    if shutil.which("bpftrace"):
        d = tempfile.mkdtemp(prefix="kt-bt-")
        ktlib.at_exit(shutil.rmtree, d, True)
        script = os.path.join(d, "lat.bt")
        with open(script, "w") as f:
            f.write("usdt:%s:funcs:start /pid == %d/ { @s[tid] = nsecs; }\n"
                    "usdt:%s:funcs:done /pid == %d && @s[tid]/ { $ms = (nsecs - @s[tid]) / 1000000; @n = count();\n"
                    "  if ($ms >= 16 && $ms < 32) { @b16 = count(); } delete(@s[tid]); }\n"
                    "END { clear(@s); }\n" % (FUNCS, w.pid, FUNCS, w.pid))
        out = open(os.path.join(d, "out"), "w+")
        p = subprocess.Popen(["bpftrace", script], stdout=out, stderr=subprocess.STDOUT)
        ktlib.at_exit(lambda: p.poll() is None and (p.kill(), p.wait()))
        end = time.time() + 60
        while "Attaching" not in open(out.name).read():
            if p.poll() is not None or time.time() > end:
                raise RuntimeError("bpftrace did not start:\n" + open(out.name).read())
            time.sleep(0.1)
        time.sleep(1)
        bt = (p, out)
    kt = Ktrace("usdt", "-j", "-m", "-p", w.pid, "--latency", "funcs:start", "u:%s:funcs:done" % FUNCS)
    check(finish_funcs(w) == "nap 10", "workload napped 10 times")
    kt.stop()
    hs = kt.records("hist")
    check(len(hs) == 1 and hs[0]["key"] == {"start": "funcs:start", "end": "funcs:done"} and hs[0]["unit"] == "msecs",
          "one msecs histogram from start to done", hs)
    n16 = sum(b["count"] for b in hs[0]["buckets"] if b["min"] == 16)
    n32 = sum(b["count"] for b in hs[0]["buckets"] if b["min"] >= 32)
    n64 = sum(b["count"] for b in hs[0]["buckets"] if b["min"] >= 64)
    # a loaded 2-CPU machine may wake one or two sleeps past 32 ms
    check(n16 >= 8 and n16 + n32 == 10 and n64 == 0 and hs[0]["count"] == 10,
          "10 intervals of 16-63 ms, at least 8 in 16-31 ms, none at 64", hs[0])
    if bt:
        bt[0].send_signal(signal.SIGINT)
        bt[0].wait(60)
        ref = {m.group(1): int(m.group(2)) for m in
               re.finditer(r"^@(\w+): (\d+)$", open(bt[1].name).read(), re.M)}
        check(ref.get("n") == 10 and ref.get("b16") == n16, "bpftrace's usdt probes agree", (ref, n16))


def error_test():
    r = run_ktrace("usdt", "-d", "1", "u:%s:funcs:nosuch" % FUNCS)
    check(r.returncode == 1 and "funcs:nosuch" in r.stderr and ".note.stapsdt" in r.stderr and "--list" in r.stderr,
          "missing probe: exit 1 naming where it looked", r.stderr)
    r = run_ktrace("usdt", "-d", "1", "u:%s:nosuch" % FUNCS)
    check(r.returncode == 2 and "u:BINARY:PROVIDER:PROBE" in r.stderr, "malformed target: usage error", r.stderr)
    r = run_ktrace("usdt", "--list")
    check(r.returncode == 2 and "--list" in r.stderr, "--list without a binary: usage error", r.stderr)
    r = run_ktrace("usdt", "-d", "1", "--record", "/nonexistent/t.tape", "u:%s:funcs:query" % FUNCS)
    check(r.returncode == 2 and "--record" in r.stderr, "--record refused: usage error", r.stderr)
    r = run_ktrace("usdt", "--list", "/etc/passwd")
    check(r.returncode == 1 and "not an ELF" in r.stderr, "--list on a non-ELF: exit 1", r.stderr)


def main():
    list_test()
    count_test()
    arg_test()
    latency_test()
    error_test()


ktlib.main(main)
