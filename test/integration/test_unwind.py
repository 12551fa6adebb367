#!/usr/bin/env python3
"""profile and offcpu --unwind dwarf: user stacks of code built without frame pointers.

A program compiled here with -O2 -fomit-frame-pointer spins in
main -> kb_a -> kb_b -> kb_c: at least 90% of its samples unwind to exactly
that call path (leaf first: kb_c, kb_b, kb_a, main), and the summary says at
least 90% of the user stacks reach a known root. Debian's xz (stripped, no
frame pointers, no debug info) compresses random data while ktrace and
`perf record --call-graph dwarf` sample it at the same time: ktrace's share
of samples reaching __libc_start_main is at least 90% and within 10 points
of perf's (or better). offcpu --unwind dwarf charges the three 200 ms naps
of another such program to main -> kb_nap. Option errors (--record, -K, a
bad --stack-copy or mode) are usage errors.
"""
import os
import shutil
import subprocess
import tempfile
import time

import ktlib
from ktlib import check, check_no_leak, Ktrace

KB_SRC = r"""
#include <stdlib.h>
#include <time.h>
static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}
volatile unsigned long sink;
__attribute__((noinline)) void kb_c(void) { for (unsigned long i = 0; i < 200000; i++) sink += i * i; }
__attribute__((noinline)) void kb_b(void) { kb_c(); sink++; }
__attribute__((noinline)) void kb_a(void) { kb_b(); sink++; }
int main(int argc, char **argv)
{
	double end = now() + (argc > 1 ? atof(argv[1]) : 3);
	while (now() < end)
		kb_a();
	return 0;
}
"""


NAP_SRC = r"""
#include <time.h>
__attribute__((noinline)) void kb_nap(void)
{
	struct timespec t = { 0, 200000000 };
	nanosleep(&t, 0);
	__asm__ volatile("" ::: "memory");
}
int main(void)
{
	for (int i = 0; i < 3; i++)
		kb_nap();
	return 0;
}
"""


def build(tmp, name, text):
    src = os.path.join(tmp, name + ".c")
    exe = os.path.join(tmp, name)
    with open(src, "w") as f:
        f.write(text)
    ktlib.sh(["gcc", "-O2", "-fomit-frame-pointer", "-o", exe, src])
    return exe


def build_kb(tmp):
    return build(tmp, "kb", KB_SRC)


def user_syms(r):
    return [f.get("symbol") for f in r["user_frames"]]


def kb_test(tmp):
    kb = subprocess.Popen([build_kb(tmp), "4"])
    ktlib.at_exit(lambda: kb.poll() is None and (kb.kill(), kb.wait()))
    kt = Ktrace("profile", "--unwind", "dwarf", "-p", kb.pid, "-F", "99", "-j", "3")
    kt.wait(60)
    check(kt.rc == 0, "profile --unwind dwarf -p exits 0", kt.stderr())
    meta = kt.records("meta")
    check(meta and meta[0].get("unwind") == "dwarf", "the meta record says unwind: dwarf", meta)
    recs = kt.records("stacks")
    total = sum(r["count"] for r in recs)
    path = sum(r["count"] for r in recs if user_syms(r)[:4] == ["kb_c", "kb_b", "kb_a", "main"])
    check(total >= 50, "at least 50 samples of the spinning program in 3 s at 99 Hz (got %d)" % total)
    check(path * 10 >= total * 9, "%d of %d samples (>= 90%%) unwind to main;kb_a;kb_b;kb_c"
          % (path, total), [(r["count"], user_syms(r)) for r in recs[:5]])
    check(all(r.get("user_stack") in ("complete", "truncated") for r in recs if r["user_frames"]),
          "each stack says whether its user stack is complete or truncated")
    summ = kt.records("summary")
    us = summ[-1].get("user_stacks", {}) if summ else {}
    check(us.get("total") == total and us.get("rooted_share", 0) >= 0.9,
          "summary user_stacks: total %s, rooted_share %s (>= 0.9)"
          % (us.get("total"), us.get("rooted_share")), summ)
    check_no_leak(kt)


def rooted_share_perf(script_out):
    samples = [s for s in script_out.split("\n\n") if s.strip()]
    return len(samples), sum("__libc_start_main" in s for s in samples)


def xz_test(tmp):
    xz = shutil.which("xz")
    perf = shutil.which("perf")
    if not xz or not perf:
        ktlib.log("xz or perf missing: the xz cross-check is skipped")
        return
    data = os.path.join(tmp, "random")
    with open(data, "wb") as f:
        f.write(os.urandom(48 << 20))
    proc = subprocess.Popen([xz, "-T1", "-6", "-c", data], stdout=subprocess.DEVNULL)
    ktlib.at_exit(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
    pdata = os.path.join(tmp, "perf.data")
    kt = Ktrace("profile", "--unwind", "dwarf", "-p", proc.pid, "-F", "99", "-j", "3")
    pr = subprocess.Popen([perf, "record", "-q", "-o", pdata, "--call-graph", "dwarf", "-F", "99",
                           "-p", str(proc.pid), "--", "sleep", "3"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ktlib.at_exit(lambda: pr.poll() is None and (pr.kill(), pr.wait()))
    kt.wait(60)
    pr.wait(60)
    alive = proc.poll() is None
    proc.kill()
    proc.wait()
    check(kt.rc == 0, "profile --unwind dwarf of xz exits 0", kt.stderr())
    check(alive, "xz was still compressing when both profilers stopped")
    recs = kt.records("stacks")
    total = sum(r["count"] for r in recs)
    rooted = sum(r["count"] for r in recs if "__libc_start_main" in user_syms(r))
    check(total >= 50, "at least 50 samples of xz (got %d)" % total)
    share = rooted / total if total else 0
    check(share >= 0.9, "%d of %d xz samples (%.0f%%, >= 90%%) reach __libc_start_main"
          % (rooted, total, 100 * share), [(r["count"], user_syms(r)) for r in recs[:3]])
    ps = subprocess.run([perf, "script", "-i", pdata], capture_output=True, text=True, timeout=120)
    pn, prooted = rooted_share_perf(ps.stdout)
    if pn < 50:
        ktlib.log("perf recorded %d samples only (%s): no cross-check" % (pn, pr.stderr.read()[-300:]))
        return
    pshare = prooted / pn
    ktlib.log("xz: ktrace %d/%d reach __libc_start_main, perf --call-graph dwarf %d/%d"
              % (rooted, total, prooted, pn))
    check(share >= pshare - 0.10, "ktrace's share (%.0f%%) is within 10 points of perf's (%.0f%%) or better"
          % (100 * share, 100 * pshare))


def offcpu_test(tmp):
    # held until ktrace is attached: `read` returns once a line is written
    nap = subprocess.Popen(["sh", "-c", 'read x; exec "$0"', build(tmp, "nap", NAP_SRC)],
                           stdin=subprocess.PIPE)
    ktlib.at_exit(lambda: nap.poll() is None and (nap.kill(), nap.wait()))
    kt = Ktrace("offcpu", "--unwind", "dwarf", "-p", nap.pid, "-j")
    nap.stdin.write(b"go\n")
    nap.stdin.close()
    nap.wait(30)
    kt.wait(30)
    check(kt.rc == 0, "offcpu --unwind dwarf -p exits 0 when the process exits", kt.stderr())
    recs = kt.records("stacks")
    naps = [r for r in recs if "kb_nap" in user_syms(r)
            and user_syms(r)[user_syms(r).index("kb_nap") + 1:][:1] == ["main"]]
    us = sum(r["total_us"] for r in naps)
    check(550000 <= us <= 700000, "the three 200 ms naps (%d us) are charged to main;kb_nap" % us,
          [(r["total_us"], user_syms(r)) for r in recs[:6]])
    check(all(r.get("user_stack") == "complete" for r in naps), "their user stacks are complete")
    check_no_leak(kt)


def usage_test():
    for args, what in ((["--unwind", "dwarf", "--record", "/tmp/%s.tape" % ktlib.UNIQUE],
                        "--record with --unwind dwarf"),
                       (["--unwind", "dwarf", "-K"], "--unwind dwarf with -K"),
                       (["--unwind", "frames"], "--unwind frames"),
                       (["--unwind", "dwarf", "--stack-copy", "100"], "--stack-copy 100"),
                       (["--unwind", "dwarf", "--stack-copy", "20000"], "--stack-copy 20000")):
        r = ktlib.run_ktrace("profile", *args, "1")
        check(r.returncode == 2, "%s is a usage error (exit 2)" % what, r.stderr)
    check(not os.path.exists("/tmp/%s.tape" % ktlib.UNIQUE), "the refused --record wrote no tape")
    r = ktlib.run_ktrace("offcpu", "--unwind", "dwarf", "--record", "/tmp/%s.tape" % ktlib.UNIQUE, "1")
    check(r.returncode == 2, "offcpu: --record with --unwind dwarf is a usage error (exit 2)", r.stderr)


def main():
    tmp = tempfile.mkdtemp(prefix="kt-unwind-")
    ktlib.at_exit(shutil.rmtree, tmp, True)
    usage_test()
    kb_test(tmp)
    offcpu_test(tmp)
    xz_test(tmp)


ktlib.main(main)
