#!/usr/bin/env python3
"""runqlat: run-queue latency of the task that waits.

1. A spinner in a cgroup-v1 cpu cgroup with a 10 ms / 100 ms quota waits
   about 90 ms each period: -P -m shows >= 5 waits of >= 32 ms under its pid,
   and -p keeps only that pid.
2. Wakeup to run: a task sleeping 50 ms on CPU 1 while a SCHED_FIFO spinner
   holds CPU 1 for 0.4 s waits about 350 ms after its wakeup: -p on the
   sleeper shows a wait of >= 256 ms (and the filter is on the woken task,
   not on the timer interrupt or the spinner that is current at wakeup).
3. A quota-throttled spinner that renames itself halfway (prctl
   PR_SET_NAME) stays one histogram under -P and -L, named by its latest
   name, and its waits of >= 32 ms match bpftrace's count on the same run.
"""
import os
import re
import shutil
import subprocess
import time

import ktlib
from ktlib import check, check_no_leak, Ktrace, workload


def held(argv):
    """argv started but held at a shell `read` until released: its pid is known before it runs."""
    p = subprocess.Popen(["sh", "-c", 'read x; exec "$@"', "held"] + list(argv),
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    ktlib.at_exit(lambda: p.poll() is None and (p.kill(), p.wait()))
    return p


def release(p):
    p.stdin.write(b"go\n")
    p.stdin.close()


def slow_waits(recs, pid, min_ms):
    n = 0
    for r in recs:
        if r.get("key", {}).get("pid") != pid:
            continue
        for b in r["buckets"]:
            if b["min"] >= min_ms:
                n += b["count"]
    return n


def quota_test():
    if not os.path.isdir("/sys/fs/cgroup/cpu"):
        ktlib.log("no cgroup-v1 cpu controller: quota part skipped")
        return
    cg = ktlib.cgroup_v1("cpu", "runq", {"cpu.cfs_period_us": 100000, "cpu.cfs_quota_us": 10000})
    sp = held(ktlib.in_cgroup(cg, [workload("spinner"), "1.2"]))
    kt = Ktrace("runqlat", "-j", "-m", "-P", "-p", sp.pid)
    release(sp)
    sp.wait(30)
    kt.stop()
    check(kt.rc == 0, "runqlat -P -p exits 0", kt.stderr())
    recs = kt.records("hist")
    mine = [r for r in recs if r.get("key", {}).get("pid") == sp.pid]
    # the pid was the holding shell before its exec: one section, named by the latest name
    check(any(r["key"].get("comm") == "spinner" for r in mine),
          "per-process histogram of the spinner (pid %d) names its comm" % sp.pid, recs)
    n = slow_waits(recs, sp.pid, 32)
    check(n >= 5, "quota-throttled spinner waited >= 32 ms at least 5 times (got %d)" % n, mine)
    others = [r["key"] for r in recs if r.get("key", {}).get("pid") != sp.pid]
    check(not others, "-p keeps only pid %d" % sp.pid, others)
    check(all(r["unit"] == "msecs" for r in recs), "-m gives msecs")
    check_no_leak(kt)


def fifo_test():
    if os.cpu_count() < 2:
        ktlib.log("needs 2 CPUs: wakeup part skipped")
        return
    ktlib.require_tool("chrt", "util-linux")
    nap = held(["taskset", "-c", "1", workload("napper"), "1", "50000"])
    kt = Ktrace("runqlat", "-j", "-m", "-p", nap.pid)
    release(nap)
    time.sleep(0.02)
    fifo = subprocess.Popen(["taskset", "-c", "1", "chrt", "-f", "10", workload("spinner"), "0.4"])
    ktlib.at_exit(lambda: fifo.poll() is None and (fifo.kill(), fifo.wait()))
    fifo.wait(30)
    nap.wait(30)
    kt.stop()
    check(kt.rc == 0, "runqlat -p (napper) exits 0", kt.stderr())
    recs = kt.records("hist")
    n = sum(b["count"] for r in recs for b in r["buckets"] if b["min"] >= 256)
    check(n >= 1, "the sleeper woken behind a SCHED_FIFO spinner waited >= 256 ms", recs)
    check_no_leak(kt)


def cgroup_test():
    base = "/sys/fs/cgroup/unified"
    if not os.path.exists(os.path.join(base, "cgroup.procs")):
        ktlib.log("no cgroup-v2 hierarchy at %s: -c part skipped" % base)
        return
    cg = os.path.join(base, ktlib.UNIQUE + "_runq")
    os.makedirs(cg, exist_ok=True)
    ktlib.at_exit(lambda: os.path.isdir(cg) and os.rmdir(cg))
    # napper in the cgroup, a second one outside: only the first may appear
    inside = held(ktlib.in_cgroup(cg, [workload("napper"), "200", "2000"]))
    outside = held([workload("napper"), "200", "2000"])
    kt = Ktrace("runqlat", "-j", "-P", "--cgroup", cg)
    release(inside)
    release(outside)
    inside.wait(30)
    outside.wait(30)
    kt.stop()
    pids = {r["key"].get("pid") for r in kt.records("hist")}
    check(inside.pid in pids, "-c: the task in the cgroup is there", pids)
    check(outside.pid not in pids and pids <= {inside.pid},
          "-c: nothing outside the cgroup (the waker is not what is filtered)", pids)
    check_no_leak(kt)


def pidns_test():
    if not ktlib.shutil.which("unshare"):
        ktlib.log("no unshare: --pidnss part skipped")
        return
    ours = os.stat("/proc/self/ns/pid").st_ino
    kt = Ktrace("runqlat", "-j", "--pidnss")
    p = subprocess.Popen(["unshare", "-p", "-f", "--mount-proc", workload("napper"), "100", "2000"])
    p.wait(30)
    kt.stop()
    keys = {r["key"].get("pidns") for r in kt.records("hist")}
    check(ours in keys, "--pidnss shows the host PID namespace (%d)" % ours, keys)
    check(len(keys - {ours}) >= 1, "--pidnss shows the napper's new PID namespace", keys)
    check_no_leak(kt)


def text_test():
    kt = Ktrace("runqlat", "-L", "1", "1")
    kt.wait(60)
    out = kt.stdout()
    check(kt.rc == 0 and "usecs" in out and "tid = " in out,
          "runqlat -L 1 1 prints per-thread text histograms", out[-2000:] + kt.stderr())
    check_no_leak(kt)
    r = ktlib.run_ktrace("runqlat", "-P", "-L")
    check(r.returncode == 2, "-P with -L is a usage error (exit 2)", r.stderr)
    r = ktlib.run_ktrace("runqlat", "-p", "abc")
    check(r.returncode == 2, "-p abc is a usage error (exit 2)", r.stderr)


# Waits of one pid (from wakeup, or from being switched out runnable, to
# running), counted when >= 32 ms. A preempted task shows prev_state 256
# (TASK_REPORT_MAX, "R+") here, so the low byte is the state.
REF_BT = r"""
tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new /args->pid == $1/ {
	@q[args->pid] = nsecs;
}
tracepoint:sched:sched_switch {
	if (args->prev_pid == $1 && (args->prev_state & 0xff) == 0) { @q[args->prev_pid] = nsecs; }
	if (args->next_pid == $1 && @q[args->next_pid] != 0) {
		@waits = count();
		if (nsecs - @q[args->next_pid] >= 32000000) { @slow = count(); }
		delete(@q[args->next_pid]);
	}
}
END { clear(@q); }
"""




def bpftrace_stop(p, out):
    text = ktlib.bpftrace_stop(p, out)
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^@(\w+): (\d+)$", text, re.M)}


def rename_test():
    if not os.path.isdir("/sys/fs/cgroup/cpu"):
        ktlib.log("no cgroup-v1 cpu controller: rename part skipped")
        return
    if not shutil.which("bpftrace"):
        ktlib.log("no bpftrace: rename part runs without its cross-check")
    cg = ktlib.cgroup_v1("cpu", "rename", {"cpu.cfs_period_us": 100000, "cpu.cfs_quota_us": 10000})
    new = "kt-renamed"
    sp = held(ktlib.in_cgroup(cg, [workload("renamer"), "1.2", new]))
    ref = ktlib.bpftrace_start(REF_BT, sp.pid) if shutil.which("bpftrace") else None
    kt_p = Ktrace("runqlat", "-j", "-m", "-P", "-p", sp.pid)
    kt_l = Ktrace("runqlat", "-j", "-m", "-L", "-t", sp.pid)
    release(sp)
    sp.wait(30)
    time.sleep(0.2)
    kt_p.stop()
    kt_l.stop()
    counts = bpftrace_stop(*ref) if ref else {}
    for kt, what in ((kt_p, "pid"), (kt_l, "tid")):
        recs = [r for r in kt.records("hist") if r.get("key", {}).get(what) == sp.pid]
        check(kt.rc == 0, "runqlat -%s exits 0" % ("P" if what == "pid" else "L"), kt.stderr())
        check(len(recs) == 1, "a task renamed mid-run is one histogram per %s (got %d)"
              % (what, len(recs)), recs)
        check(recs and recs[0]["key"].get("comm") == new,
              "its histogram carries the latest name %r" % new, recs)
        n = slow_waits(recs, sp.pid, 32) if what == "pid" else \
            sum(b["count"] for r in recs for b in r["buckets"] if b["min"] >= 32)
        check(n >= 5, "per %s: the throttled renamer waited >= 32 ms at least 5 times (got %d)"
              % (what, n), recs)
        if ref:
            ref_slow = counts.get("slow", 0)
            check(abs(n - ref_slow) <= max(2, ref_slow * 0.2),
                  "per %s: waits >= 32 ms match bpftrace (ktrace %d, bpftrace %d)"
                  % (what, n, ref_slow))
        check_no_leak(kt)


def main():
    rename_test()
    quota_test()
    fifo_test()
    cgroup_test()
    pidns_test()
    text_test()


ktlib.main(main)
