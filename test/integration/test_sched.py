#!/usr/bin/env python3
"""sched: context switches, migrations and on-CPU time per task.

The workloads (schedmix) wait in read() before and after their work, so
their own counts (/proc/PID/status voluntary_ctxt_switches and
nonvoluntary_ctxt_switches, /proc/PID/schedstat's on-CPU time,
/proc/PID/sched se.nr_migrations) taken while they are blocked frame exactly
the switches ktrace sees between its start and its stop.
1. A task that sleeps 10 times 50 ms, a 1 s spinner and two 1 s spinners
   pinned to CPU 1, under -n schedmix: each thread's voluntary and
   involuntary switches equal the kernel's own counts, the sleeper has
   >= 10 voluntary, the pinned spinners preempt each other (involuntary
   > 0), the total equals bpftrace's sched_switch count per pid, on-CPU time
   is within 10% of schedstat's, the 1 s spinner's at most 1.1 s.
   -P gives the same numbers per process; --sort time --top 2: two rows by
   decreasing on-CPU time; the text table has the header and the rows.
2. A spinner pinned to CPU 0 moved with `taskset -p` to CPU 1 and back, 20
   times: -p PID --matrix shows exactly 20 migrations for its tid, the same
   as se.nr_migrations and bpftrace's sched_migrate_task count, and the
   matrix has 10 from 0 to 1 and 10 from 1 to 0.
3. Usage errors exit 2.
"""
import os
import re
import shutil
import signal
import subprocess
import time

import ktlib
from ktlib import check, check_no_leak, Ktrace, workload

N_SLEEP = 10
N_MOVES = 20

# sched_migrate_task's comm is a __data_loc string since 6.10: the pid is an argument
SWITCH_BT = """
tracepoint:sched:sched_switch /args->prev_comm == "schedmix"/ { @s[args->prev_pid] = count(); }
"""
MIGRATE_BT = """
tracepoint:sched:sched_migrate_task /args->pid == $1 && args->orig_cpu != args->dest_cpu/
{ @m[args->pid] = count(); }
"""


def bpftrace_start(script, *args):
    """bpftrace running script, once its probes are in; None without bpftrace."""
    if not shutil.which("bpftrace"):
        ktlib.log("no bpftrace: the counts are checked without it")
        return None
    return ktlib.bpftrace_start(script, *args)


def bpftrace_stop(bt):
    if bt is None:
        return None
    p, out = bt
    text = ktlib.bpftrace_stop(p, out)
    ref = {"s": {}, "m": {}}
    for m in re.finditer(r"^@([sm])\[(\d+)\]: (\d+)$", text, re.M):
        ref[m.group(1)][int(m.group(2))] = int(m.group(3))
    return ref


def start(*argv):
    p = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ktlib.at_exit(lambda: p.poll() is None and (p.kill(), p.wait()))
    line = p.stdout.readline()
    check(line == "ready\n", "%s is ready" % " ".join(argv), line)
    return p


def own_counts(pid):
    """(state, voluntary, involuntary, on-CPU ns) from the kernel's own accounting."""
    with open("/proc/%d/status" % pid) as f:
        st = f.read()
    with open("/proc/%d/schedstat" % pid) as f:
        oncpu = int(f.read().split()[0])
    state = re.search(r"^State:\s+(\S)", st, re.M).group(1)
    vol = int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", st, re.M).group(1))
    inv = int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", st, re.M).group(1))
    return state, vol, inv, oncpu


def steal_ms():
    """Time stolen by the hypervisor from all CPUs so far (/proc/stat), in ms."""
    with open("/proc/stat") as f:
        cpu = f.readline().split()
    return int(cpu[8]) * 1000 / os.sysconf("SC_CLK_TCK")


def settled(procs):
    """Each process's counts once it is blocked (state S) and they stay put for 100 ms."""
    end = time.time() + 20
    prev = None
    while time.time() < end:
        cur = {p.pid: own_counts(p.pid) for p in procs}
        if prev == cur and all(c[0] == "S" for c in cur.values()):
            return cur
        prev = cur
        time.sleep(0.1)
    raise AssertionError("the workloads did not settle blocked: %r" % cur)


def table(kt, name):
    out = [r for r in kt.records("table") if r.get("name") == name]
    check(len(out) == 1, "one %s table (no interval given)" % name, kt.records("table"))
    return out[0]["rows"]


def rows_by(rows, key):
    out = {}
    for r in rows:
        check(r[key] not in out, "one row per %s" % key, rows)
        out[r[key]] = r
    return out


def counts_test():
    """Runs part 1; returns its checks."""
    nap = start(workload("schedmix"), "sleep", str(N_SLEEP), "50")
    spin = start(workload("schedmix"), "spin", "1")
    pinned = [start("taskset", "-c", "1", workload("schedmix"), "spin", "1") for _ in range(2)]
    ws = [nap, spin] + pinned
    kt = Ktrace("sched", "-j", "-n", "schedmix", "--top", "0")
    kp = Ktrace("sched", "-j", "-P", "-n", "schedmix", "--top", "0")
    ks = Ktrace("sched", "-j", "-n", "schedmix", "--sort", "time", "--top", "2")
    kx = Ktrace("sched", "-n", "schedmix", "--top", "0")
    before = settled(ws)
    steal0 = steal_ms()
    bt = bpftrace_start(SWITCH_BT)
    before2 = settled(ws)
    for w in ws:
        w.stdin.write("go\n")
        w.stdin.flush()
    for w in ws:
        check(w.stdout.readline() == "done\n", "schedmix %d did its work" % w.pid)
    after = settled(ws)
    stolen = steal_ms() - steal0
    ref = bpftrace_stop(bt)
    ks_all = (kt, kp, ks, kx)
    for k in ks_all:
        k.stop()
        check(k.rc == 0, "%s exits 0" % " ".join(k.args[1:]), k.stderr())
    for w in ws:
        w.stdin.close()
        w.wait(10)
    check(before2 == before, "the workloads did not run while bpftrace started", (before, before2))
    return lambda: counts_check(ref, kt, kp, ks, kx, ws, before, after, stolen)


def counts_check(bt, kt, kp, ks, kx, ws, before, after, stolen):
    nap, spin, pinned = ws[0], ws[1], ws[2:]
    cpu1 = os.sched_getaffinity(0) >= {0, 1}
    rows = rows_by(table(kt, "sched"), "tid")
    prow = rows_by(table(kp, "sched"), "pid")
    for w in ws:
        own = [a - b for a, b in zip(after[w.pid][1:], before[w.pid][1:])]
        r = rows.get(w.pid)
        check(r is not None, "a row for schedmix tid %d" % w.pid, rows)
        ktlib.log("tid %d: ktrace %d/%d/%.3f ms, kernel %d/%d/%.3f ms" %
                  (w.pid, r["voluntary"], r["involuntary"], r["oncpu_ms"], own[0], own[1],
                   own[2] / 1e6))
        check(r["pid"] == w.pid and r["comm"] == "schedmix", "the row names pid and comm", r)
        check((r["voluntary"], r["involuntary"]) == (own[0], own[1]),
              "tid %d: voluntary/involuntary %d/%d equal /proc's %d/%d" %
              (w.pid, r["voluntary"], r["involuntary"], own[0], own[1]), r)
        # schedstat leaves out what a hypervisor stole (PARAVIRT_TIME_ACCOUNTING),
        # ktrace's slices are wall-clock time: the upper bound allows for it
        ms = own[2] / 1e6
        check(0.9 * ms - 2 <= r["oncpu_ms"] <= 1.1 * ms + 2 + stolen,
              "tid %d: on-CPU %.3f ms within 10%% of schedstat's %.3f ms (+%.0f ms stolen)" %
              (w.pid, r["oncpu_ms"], ms, stolen), r)
        p = prow.get(w.pid)
        # another ktrace reads the clock at other instants: times agree to a hair
        check(p is not None and "tid" not in p and
              (p["voluntary"], p["involuntary"]) == (r["voluntary"], r["involuntary"]) and
              abs(p["oncpu_ms"] - r["oncpu_ms"]) <= 0.01 * r["oncpu_ms"] + 0.5,
              "-P: the process row of %d has the same numbers" % w.pid, (p, r))
        if bt is not None:
            n = bt["s"].get(w.pid)
            check(n == r["voluntary"] + r["involuntary"],
                  "tid %d: %d switches, bpftrace counts %s" %
                  (w.pid, r["voluntary"] + r["involuntary"], n), bt["s"])
    check(rows[nap.pid]["voluntary"] >= N_SLEEP,
          "the sleeper has >= %d voluntary switches" % N_SLEEP, rows[nap.pid])
    if cpu1:
        for w in pinned:
            check(rows[w.pid]["involuntary"] > 0,
                  "spinner %d pinned to CPU 1 with another is preempted" % w.pid, rows[w.pid])
    ms = rows[spin.pid]["oncpu_ms"]
    # how much of its second it gets depends on the machine's load: bounds only
    check(5 <= ms <= 1100, "the 1 s spinner ran %.3f ms (5 to 1100)" % ms, rows[spin.pid])
    rs = table(ks, "sched")
    check(len(rs) == 2 and rs[0]["oncpu_ms"] >= rs[1]["oncpu_ms"],
          "--sort time --top 2: two rows by decreasing on-CPU time", rs)
    top = max(r["oncpu_ms"] for r in rows.values())
    check(abs(rs[0]["oncpu_ms"] - top) <= 0.01 * top + 0.5,
          "--sort time: the first row has the most on-CPU time", (rs, rows))
    txt = kx.stdout()
    check(re.search(r"^\s*PID\s+TID\s+COMM\s+VOLUNTARY\s+INVOLUNTARY\s+MIGRATIONS\s+ONCPU_ms",
                    txt, re.M), "text header", txt)
    check(re.search(r"^\s*%d\s+%d\s+schedmix\s+\d+\s" % (nap.pid, nap.pid), txt, re.M),
          "text: the sleeper's row", txt)
    for k in (kt, kp, ks, kx):
        check_no_leak(k)


def pinned_spinner():
    """A spinner pinned to CPU 0, stopped once it runs as spinner; None without CPUs 0 and 1."""
    if not os.sched_getaffinity(0) >= {0, 1}:
        ktlib.log("CPUs 0 and 1 are not both usable: the migration part is skipped")
        return None
    sp = subprocess.Popen(["taskset", "-c", "0", workload("spinner"), "60"])
    ktlib.at_exit(lambda: sp.poll() is None and (sp.kill(), sp.wait()))
    end = time.time() + 10
    while time.time() < end:
        with open("/proc/%d/comm" % sp.pid) as f:
            if f.read().strip() == "spinner":
                break
        time.sleep(0.05)
    os.kill(sp.pid, signal.SIGSTOP)  # until part 2: it would take CPU 0 from part 1
    return sp


def migrate_test(sp):
    """Runs part 2; returns its checks."""
    if sp is None:
        return lambda: None
    os.kill(sp.pid, signal.SIGCONT)
    km = Ktrace("sched", "-j", "-p", sp.pid, "--matrix")
    bt = bpftrace_start(MIGRATE_BT, sp.pid)

    def nr_migrations():
        with open("/proc/%d/sched" % sp.pid) as f:
            return int(re.search(r"^se\.nr_migrations\s*:\s*(\d+)", f.read(), re.M).group(1))

    n0 = nr_migrations()
    for i in range(N_MOVES):
        subprocess.run(["taskset", "-p", "-c", "1" if i % 2 == 0 else "0", str(sp.pid)],
                       check=True, stdout=subprocess.DEVNULL)
    n1 = nr_migrations()
    ref = bpftrace_stop(bt)
    km.stop()
    check(km.rc == 0, "sched -p --matrix exits 0", km.stderr())
    sp.kill()
    sp.wait()
    return lambda: migrate_check(ref, km, sp, n1 - n0)


def migrate_check(bt, km, sp, nk):
    check(nk == N_MOVES, "the kernel counts %d migrations (se.nr_migrations: %d)" %
          (N_MOVES, nk))
    rows = rows_by(table(km, "sched"), "tid")
    r = rows.get(sp.pid)
    check(r is not None and r["migrations"] == N_MOVES,
          "-p: exactly %d migrations for tid %d" % (N_MOVES, sp.pid), rows)
    check(set(rows) == {sp.pid}, "-p: only the spinner's thread", rows)
    cells = {(c["from_cpu"], c["to_cpu"]): c["count"] for c in table(km, "migrations")}
    check(cells == {(0, 1): N_MOVES // 2, (1, 0): N_MOVES // 2},
          "--matrix: %d from 0 to 1 and %d from 1 to 0" % (N_MOVES // 2, N_MOVES // 2), cells)
    if bt is not None:
        check(bt["m"].get(sp.pid) == N_MOVES, "bpftrace also counts %d migrations" % N_MOVES,
              bt["m"])
    check_no_leak(km)


def main():
    ktlib.require_root()
    sp = pinned_spinner()
    checks = [counts_test(), migrate_test(sp)]
    for c in checks:
        c()
    for bad in (["--sort", "size"], ["--top", "x"], ["-P", "-L"], ["--matrix=1"]):
        r = ktlib.run_ktrace("sched", *bad, "1", "1")
        check(r.returncode == 2, "sched %s is a usage error (exit 2)" % " ".join(bad), r.stderr)


ktlib.main(main)
