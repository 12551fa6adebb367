#!/usr/bin/env python3
"""Cost and completeness of user stack unwinding: frame pointers vs DWARF vs perf.

usage: sudo bench/unwind.py [path/to/ktrace] [--reps N] [--secs S] [--hz HZ] [--no-save]

Two workloads built without frame pointers, each run alone and under three
profilers attached to it by pid, alternating, --reps times (median kept):

  profile  Debian's xz (stripped, no frame pointers) compressing random data
           for --secs seconds; measured: MB compressed per second.
           ktrace profile -F HZ --unwind fp | --unwind dwarf, and
           perf record --call-graph dwarf -F HZ.
  offcpu   bench/workloads/pingpong.c built -O2 (no frame pointers): two
           processes passing a byte through pipes; measured: round trips per
           second (every one two context switches).
           ktrace offcpu --unwind fp | --unwind dwarf, and
           perf record -e sched:sched_switch --call-graph dwarf.

Printed per tool: the workload's throughput relative to running alone
(1.00 = no slowdown), the share of samples (or blocked time) whose user stack
reaches __libc_start_main or another known root, and the tool's own CPU time.
Results go to bench/results/<date>-<kernel>-unwind.txt unless --no-save.
"""
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOTS = ("__libc_start_main", "__libc_start_call_main", "_start", "clone", "clone3",
         "__clone3", "start_thread")


def held(argv, stdout):
    """Start argv stopped before exec (so that a profiler can attach by pid first)."""
    return subprocess.Popen(["sh", "-c", 'read x; exec "$0" "$@"'] + argv,
                            stdin=subprocess.PIPE, stdout=stdout, stderr=subprocess.DEVNULL)


def release(p):
    p.stdin.write(b"go\n")
    p.stdin.close()


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tck = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tck
    except (OSError, IndexError, ValueError):
        return 0.0


def perf_share(perf, data):
    r = subprocess.run([perf, "script", "-i", data], capture_output=True, text=True)
    samples = [s for s in r.stdout.split("\n\n") if s.strip()]
    if not samples:
        return None
    return sum(any(root in s for root in ROOTS) for s in samples) / len(samples)


class Bench:
    def __init__(self, kt, reps, secs, hz):
        self.kt, self.reps, self.secs, self.hz = kt, reps, secs, hz
        self.tmp = tempfile.mkdtemp(prefix="kt-bench-unwind-")
        self.perf = shutil.which("perf")
        self.xz = shutil.which("xz")
        self.data = os.path.join(self.tmp, "random")
        with open(self.data, "wb") as f:
            f.write(os.urandom(256 << 20))
        self.pingpong = os.path.join(self.tmp, "pingpong")
        subprocess.run(["gcc", "-O2", "-fomit-frame-pointer", "-I", os.path.join(HERE, "workloads"),
                        "-o", self.pingpong, os.path.join(HERE, "workloads", "pingpong.c")],
                       check=True)

    def workload(self, case):
        if case == "profile":
            # xz reads the file at its own pace: stopped after secs, MB/s from its input offset
            return [self.xz, "-T1", "-6", "-c", self.data]
        return [self.pingpong, str(self.secs)]

    def tool(self, case, kind, pid):
        """argv of a profiler of pid, or None (alone)."""
        if kind == "alone":
            return None
        if kind.startswith("ktrace"):
            mode = kind.split("-")[1]
            sub = ["profile", "-F", str(self.hz)] if case == "profile" else ["offcpu"]
            return [self.kt] + sub + ["--unwind", mode, "-p", str(pid), "-j"]
        data = os.path.join(self.tmp, "perf.data")
        ev = ["-F", str(self.hz)] if case == "profile" else ["-e", "sched:sched_switch"]
        return [self.perf, "record", "-q", "-o", data, "--call-graph", "dwarf"] + ev + \
            ["-p", str(pid)]

    def one(self, case, kind):
        w = held(self.workload(case),
                 subprocess.DEVNULL if case == "profile" else subprocess.PIPE)
        argv = self.tool(case, kind, w.pid)
        t = None
        out = os.path.join(self.tmp, "tool.out")
        if argv:
            t = subprocess.Popen(argv, stdout=open(out, "w"), stderr=subprocess.PIPE, text=True)
            if kind.startswith("ktrace"):
                buf = ""
                while "Hit Ctrl-C" not in buf:
                    line = t.stderr.readline()
                    if not line:
                        raise RuntimeError("%s: %s" % (argv, buf))
                    buf += line
            else:
                time.sleep(1.0)  # perf has opened its events by then
        start = time.monotonic()
        release(w)
        if case == "profile":
            time.sleep(self.secs)
            pos = 0
            try:
                for fd in os.listdir("/proc/%d/fd" % w.pid):
                    if os.readlink("/proc/%d/fd/%s" % (w.pid, fd)) == self.data:
                        with open("/proc/%d/fdinfo/%s" % (w.pid, fd)) as f:
                            pos = int(f.readline().split()[1])
            except (OSError, ValueError, IndexError):
                pass
            elapsed = time.monotonic() - start
            tool_cpu = cpu_seconds(t.pid) if t else 0.0
            w.kill()
            w.wait()
            rate = pos / elapsed / 1e6
        else:
            stdout = w.stdout.read().decode()
            w.wait(60)
            tool_cpu = cpu_seconds(t.pid) if t else 0.0
            kv = dict(x.split("=") for x in stdout.split() if "=" in x)
            rate = float(kv.get("ops", 0)) / float(kv.get("secs", 1))
        share = None
        if t:
            if t.poll() is None:
                t.send_signal(signal.SIGINT)
            t.wait(120)
            if kind.startswith("ktrace"):
                for line in open(out):
                    r = json.loads(line)
                    if r.get("type") == "summary":
                        u = r.get("user_stacks") or {}
                        share = u.get("rooted_share")
            elif self.perf:
                share = perf_share(self.perf, os.path.join(self.tmp, "perf.data"))
        return rate, share, tool_cpu

    def run(self):
        kinds = ["alone", "ktrace-fp", "ktrace-dwarf"] + (["perf"] if self.perf else [])
        res = {}
        for case in ("profile", "offcpu"):
            for rep in range(self.reps):
                for kind in kinds:
                    rate, share, cpu = self.one(case, kind)
                    res.setdefault((case, kind), []).append((rate, share, cpu))
                    print("  %s %s rep %d: %.1f/s, rooted %s, tool cpu %.2f s"
                          % (case, kind, rep + 1, rate, share, cpu), file=sys.stderr)
        lines = ["unwind bench: kernel %s, %d CPUs, %d reps of %g s, profile at %d Hz"
                 % (platform.release(), os.cpu_count(), self.reps, self.secs, self.hz),
                 "%-8s %-13s %12s %9s %12s %10s" % ("case", "tool", "throughput", "vs alone",
                                                     "rooted", "tool CPU")]
        for case in ("profile", "offcpu"):
            base = statistics.median(r[0] for r in res[(case, "alone")])
            unit = "MB/s" if case == "profile" else "trips/s"
            for kind in kinds:
                rows = res[(case, kind)]
                rate = statistics.median(r[0] for r in rows)
                shares = [r[1] for r in rows if r[1] is not None]
                cpu = statistics.median(r[2] for r in rows)
                lines.append("%-8s %-13s %7.1f %-4s %9.2f %12s %9.2fs" % (
                    case, kind, rate, unit[:4], rate / base if base else 0,
                    "%.0f%%" % (100 * statistics.median(shares)) if shares else "-", cpu))
        return "\n".join(lines)


def main(argv):
    args = list(argv)
    opts = {"--reps": 3, "--secs": 3.0, "--hz": 999}
    save = True
    kt = os.path.join(HERE, "..", "build", "ktrace")
    while args:
        a = args.pop(0)
        if a in opts:
            opts[a] = type(opts[a])(args.pop(0))
        elif a == "--no-save":
            save = False
        else:
            kt = a
    if os.geteuid() != 0:
        print("unwind.py: run as root", file=sys.stderr)
        return 2
    b = Bench(os.path.abspath(kt), opts["--reps"], opts["--secs"], opts["--hz"])
    try:
        table = b.run()
    finally:
        shutil.rmtree(b.tmp, True)
    print(table)
    if save:
        name = "%s-%s-unwind.txt" % (time.strftime("%Y-%m-%d"), platform.release())
        with open(os.path.join(HERE, "results", name), "w") as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
