#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""ktrace's benchmark: start-up, hot-path overhead, loss and footprint, side by
side with bpftrace and with "the floor" (do-nothing BPF programs on the same
hooks). Run through bench/run.sh, which builds the floor and the storms.
See bench/README.md for the method.
"""
import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BT_DIR = os.path.join(HERE, "bt")
RESULTS = os.path.join(HERE, "results")
STATS = "/proc/sys/kernel/bpf_stats_enabled"
CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1

# BPF program types that run on a traced event (not bpftrace's BEGIN/END uprobes):
# tracepoint 5, perf_event 7, raw_tracepoint 17, tracing (tp_btf/fentry) 26.
EVENT_PROG_TYPES = {5, 7, 17, 26}

# Targets (ratios on this machine).
STARTUP_MAX = 1 / 20
OVERHEAD_MAX = 1.25
RSS_MAX = 1 / 20
# ... and against the loader floor, a bare libbpf loader of the same programs
# (ktrace's own BPF object, the programs its meta record names, attached the
# same way, its ring buffer read): start-up <= 1.5 x the loader's + 2 ms, peak
# RSS <= the loader's + 2 MB. The hook floor (do-nothing programs on the same
# hooks) stays the reference of the hot path.
FLOOR_STARTUP_MUL, FLOOR_STARTUP_ADD_S = 1.5, 0.002
FLOOR_RSS_ADD_KB = 2048

# Each case: a ktrace subcommand, its bpftrace equivalent and its storm.
#   marker: how the start-up is detected. "event" = the first run of one of the
#   tool's BPF programs while a gentle marker workload (the storm with an
#   interval) generates events; "ready" = the readiness line (for events that
#   cannot be provoked cheaply in a loop).
#   env: the storm's environment (marker names are filled in at set-up).
#   stream: one record per event, so loss is counted.
#   floor: the hooks ktrace is expected to use here, for --without-ktrace only
#   (normally the floor takes them from ktrace's JSON "meta" record).
#   perf: a third peer, `perf ARGS` (e.g. trace -a -s), where the issue names one.
CASES = [
    dict(name="biolat", sub="biolat", kt=[], bt=["biolat.bt"], storm="diostorm",
         interval=2000, env="dio", unit="reads",
         floor=["tp_btf:block_rq_issue", "tp_btf:block_rq_complete"]),
    dict(name="biosnoop", sub="biosnoop", kt=[], bt=["biosnoop.bt"], storm="diostorm",
         interval=2000, env="dio", unit="reads", stream=True,
         floor=["tp_btf:block_rq_insert", "tp_btf:block_rq_issue", "tp_btf:block_rq_merge",
                "tp_btf:block_rq_complete"]),
    dict(name="biotop", sub="biotop", kt=[], bt=["biotop.bt"], storm="diostorm",
         interval=2000, env="dio", unit="reads",
         floor=["tp_btf:block_rq_insert", "tp_btf:block_rq_issue", "tp_btf:block_rq_merge",
                "tp_btf:block_rq_complete"]),
    dict(name="exec", sub="exec", kt=[], bt=["exec.bt"], storm="execstorm",
         interval=5000, env="exec", unit="execs", stream=True,
         floor=["tp_btf:sched_process_exec", "tracepoint:syscalls/sys_exit_execve"]),
    dict(name="open", sub="open", kt=[], bt=["open.bt"], storm="openstorm",
         interval=1000, env="open", unit="opens", stream=True,
         floor=["tracepoint:syscalls/sys_enter_openat", "tracepoint:syscalls/sys_exit_openat"]),
    dict(name="fsslower", sub="fsslower", kt=["0"], bt=["fsslower.bt"], storm="fsstorm",
         interval=1000, env="open", unit="fs calls", stream=True,
         floor=["tp_btf:sys_enter", "tp_btf:sys_exit"]),
    dict(name="fsdist", sub="fsdist", kt=[], bt=["fsdist.bt"], storm="fsstorm",
         interval=1000, env="open", unit="fs calls",
         floor=["tp_btf:sys_enter", "tp_btf:sys_exit"]),
    dict(name="fsops", sub="fsops", kt=[], bt=["fsops.bt"], storm="fsstorm",
         interval=1000, env="open", unit="fs calls",
         floor=["tp_btf:sys_enter", "tp_btf:sys_exit"]),
    dict(name="runqlat", sub="runqlat", kt=[], bt=["runqlat.bt"], storm="pingpong",
         interval=1000, unit="switches", count="ctxt",
         floor=["tp_btf:sched_wakeup", "tp_btf:sched_wakeup_new", "tp_btf:sched_switch"]),
    dict(name="offcpu", sub="offcpu", kt=[], bt=["offcpu.bt"], storm="pingpong",
         interval=1000, unit="switches", count="ctxt", floor=["tp_btf:sched_switch"]),
    dict(name="sched", sub="sched", kt=[], bt=["sched.bt"], storm="pingpong",
         interval=1000, unit="switches", count="ctxt",
         floor=["tp_btf:sched_switch", "tp_btf:sched_migrate_task"]),
    dict(name="profile-99", sub="profile", kt=["-F", "99"], bt=["profile.bt", "99"],
         storm="spin", hz=99, unit="samples", count="samples", floor=["perf_event:cpu-clock"]),
    dict(name="profile-999", sub="profile", kt=["-F", "999"], bt=["profile.bt", "999"],
         storm="spin", hz=999, unit="samples", count="samples", floor=["perf_event:cpu-clock"]),
    dict(name="wq", sub="wq", kt=[], bt=["wq.bt"], storm="wqstorm",
         interval=20000, env="wq", unit="syncs"),
    dict(name="timer", sub="timer", kt=[], bt=["timer.bt"], storm="sleepstorm",
         interval=1000, unit="sleeps"),
    dict(name="syscalls", sub="syscalls", kt=[], bt=["syscalls.bt"], storm="ppidstorm",
         interval=1000, unit="calls", perf=["trace", "-a", "-s"],
         floor=["tp_btf:sys_enter", "tp_btf:sys_exit"]),
    dict(name="irq", sub="irq", kt=[], bt=["irq.bt"], storm="tcppingpong", interval=1000,
         unit="round trips",
         floor=["tp_btf:irq_handler_entry", "tp_btf:irq_handler_exit",
                "tp_btf:softirq_entry", "tp_btf:softirq_exit"]),
    dict(name="tcpconnect", sub="tcpconnect", kt=[], bt=["tcpconnect.bt"], storm="connstorm",
         interval=5000, env="conn", unit="connects", stream=True,
         floor=["tp_btf:inet_sock_set_state", "tp_btf:tcp_receive_reset"]),
    dict(name="tcplife", sub="tcplife", kt=[], bt=["tcplife.bt"], storm="connstorm",
         interval=5000, env="conn", unit="sessions", stream=True,
         floor=["tp_btf:inet_sock_set_state"]),
    dict(name="tcpdrop", sub="tcpdrop", kt=[], bt=["tcpdrop.bt"], storm="connstorm",
         interval=5000, env="refuse", unit="drops", stream=True, floor=["tp_btf:kfree_skb"]),
    dict(name="funclat", sub="funclat", kt=["{bin}/callstorm:ktb_call"],
         bt=["funclat.bt", "{bin}/callstorm"], storm="callstorm", unit="calls", startup="ready",
         floor=["uprobe:{bin}/callstorm:ktb_call", "uretprobe:{bin}/callstorm:ktb_call"]),
    dict(name="funccount", sub="funccount", kt=["{bin}/callstorm:ktb_call"],
         bt=["funccount.bt", "{bin}/callstorm"], storm="callstorm", unit="calls",
         startup="ready", floor=["uprobe:{bin}/callstorm:ktb_call"]),
    # no floor: the floor loader attaches uprobes by function name, a USDT site has none
    dict(name="usdt", sub="usdt", kt=["u:{bin}/usdtstorm:ktb:tick"],
         bt=["usdt.bt", "{bin}/usdtstorm"], storm="usdtstorm", unit="hits", startup="ready",
         no_floor=True),
    dict(name="tcpretrans", sub="tcpretrans", kt=[], bt=["tcpretrans.bt"], storm=None),
    dict(name="oom", sub="oom", kt=[], bt=["oom.bt"], storm=None),
    dict(name="memstall", sub="memstall", kt=[], bt=["memstall.bt"], storm=None),
    dict(name="writeback", sub="writeback", kt=[], bt=["writeback.bt"], storm=None),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def median(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def restore_sigint():
    # A benchmark started in the background (nohup, &) inherits SIGINT ignored;
    # the tools are stopped with SIGINT, so they must see it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def vm_hwm_kb(pid):
    return mem_kb(pid).get("VmHWM")


def mem_kb(pid):
    """Peak and current RSS and its parts (a BPF ring buffer is mapped twice and
    shows up as RssShmem or RssFile: kernel memory, counted in the RSS)."""
    m = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k = line.split(":")[0]
                if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                    m[k] = int(line.split()[1])
    except OSError:
        pass
    return m


def ctxt_total():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("ctxt "):
                return int(line.split()[1])
    return 0


def stats_value():
    try:
        with open(STATS) as f:
            return f.read().strip()
    except OSError:
        return "0"


STATS_ORIG = stats_value()


def set_stats(on):
    """BPF run-time statistics on, or back to what they were before the benchmark."""
    try:
        with open(STATS, "w") as f:
            f.write("1" if on else STATS_ORIG)
    except OSError as e:
        log(f"bench: cannot set {STATS}: {e}")


def event_prog_ran(pid):
    """True once one of pid's BPF programs on a traced event has run."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if "bpf-prog" not in os.readlink(f"/proc/{pid}/fd/{fd}"):
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except OSError:
            continue
        if int(info.get("prog_type", "0")) in EVENT_PROG_TYPES and \
                int(info.get("run_cnt", "0")) > 0:
            return True
    return False


def prog_misses(pid):
    """Recursion misses summed over pid's BPF programs: events the kernel did not
    hand to a program because a BPF program was already running on that CPU
    (counted whether or not statistics are on)."""
    n = 0
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return 0
    for fd in fds:
        try:
            if "bpf-prog" not in os.readlink(f"/proc/{pid}/fd/{fd}"):
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("recursion_misses:"):
                        n += int(line.split()[1])
        except OSError:
            continue
    return n


def prog_stats(pid):
    """(run_time_ns, run_cnt) summed over pid's BPF programs on traced events."""
    ns = cnt = 0
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return 0, 0
    for fd in fds:
        try:
            if "bpf-prog" not in os.readlink(f"/proc/{pid}/fd/{fd}"):
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except OSError:
            continue
        if int(info.get("prog_type", "0")) in EVENT_PROG_TYPES:
            ns += int(info.get("run_time_ns", "0"))
            cnt += int(info.get("run_cnt", "0"))
    return ns, cnt


def perf_events_open(pid):
    """Number of perf_event file descriptors pid holds (perf trace opens two per CPU
    for the raw_syscalls tracepoints, and a few more)."""
    n = 0
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return 0
    for fd in fds:
        try:
            if "perf_event" in os.readlink(f"/proc/{pid}/fd/{fd}"):
                n += 1
        except OSError:
            continue
    return n


def other_tracers():
    """BPF programs on traced events loaded by anyone (other tracers are noise)."""
    try:
        r = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True,
                           timeout=10)
        progs = json.loads(r.stdout or "[]")
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return sum(1 for p in progs
               if p.get("type") in ("tracepoint", "tracing", "raw_tracepoint", "perf_event",
                                    "kprobe"))


def file_has(path, needle):
    try:
        with open(path, errors="replace") as f:
            return needle in f.read()
    except OSError:
        return False


class Tool:
    """One traced configuration: ktrace, bpftrace or the floor, run in the background."""

    def __init__(self, kind, argv, tmp, tag):
        self.kind, self.argv = kind, argv
        self.out = os.path.join(tmp, f"{tag}.out")
        self.err = os.path.join(tmp, f"{tag}.err")
        self.proc = None
        self.rusage = None
        self.status = None

    def start(self):
        with open(self.out, "w") as o, open(self.err, "w") as e:
            self.t0 = time.monotonic()
            self.proc = subprocess.Popen(self.argv, stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                                         preexec_fn=restore_sigint)

    def alive(self):
        return self.proc.poll() is None

    def wait_for(self, cond, timeout):
        """Seconds from launch until cond() holds; None on timeout or exit."""
        end = self.t0 + timeout
        while time.monotonic() < end:
            if cond():
                return time.monotonic() - self.t0
            if not self.alive():
                return None
            time.sleep(0.002)
        return None

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.rusage, self.status = ru, status
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                return self.proc.returncode
            time.sleep(0.01)
        log(f"bench: {self.kind} did not stop on SIGINT within {timeout}s, killing it")
        self.proc.kill()
        self.proc.wait()
        return None

    def cpu_s(self):
        if not self.rusage:
            return None
        return self.rusage.ru_utime + self.rusage.ru_stime

    def stderr(self):
        try:
            with open(self.err, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def cleanup(self):
        for p in (self.out, self.err):
            try:
                os.unlink(p)
            except OSError:
                pass


class Bench:
    def __init__(self, args):
        self.a = args
        self.kt = os.path.abspath(args.ktrace)
        self.bin = os.path.abspath(args.bin)
        self.tmp = f"/dev/shm/ktbench.{os.getpid()}"
        self.work = f"/var/tmp/ktbench.{os.getpid()}"
        self.tag = "".join(random.choice("abcdefghjkmnpqrstuvwxyz") for _ in range(6))
        self.bpftrace = shutil.which("bpftrace")
        self.perf = shutil.which("perf")
        self.subs = self.ktrace_commands()
        self.results = {}

    # ---- set-up ----

    def ktrace_commands(self):
        r = subprocess.run([self.kt, "--help"], capture_output=True, text=True)
        subs, on = set(), False
        for line in (r.stdout + r.stderr).splitlines():
            if line.startswith("Commands:"):
                on = True
                continue
            if on:
                m = re.match(r"^\s+(\S+)\s{2,}", line)
                if m:
                    subs.add(m.group(1))
                elif not line.strip():
                    on = False
        return subs

    def setup(self):
        os.makedirs(self.tmp, exist_ok=True)
        os.makedirs(self.work, exist_ok=True)
        t = self.tag
        # Distinct names for the storm and for the start-up marker, so that
        # only the storm's events are counted.
        self.env = {"open": {}, "exec": {}, "dio": {}, "conn": {}, "refuse": {}}
        # loopback ports for the connect storms (a listener, or none: refused);
        # each record names the storm's port as "rport" (connects, sessions)
        # or "dport" (the dropped SYN), in ktrace's JSON and in the bt scripts
        base = 20000 + (os.getpid() % 2000) * 8
        for i, role in enumerate(("storm", "mark")):
            port = base + i
            self.env["conn"][role] = {"KTB_PORT": str(port), "KTB_NEEDLE": f'"rport":{port}'}
            self.env["refuse"][role] = {"KTB_PORT": str(port + 4), "KTB_MODE": "refuse",
                                        "KTB_NEEDLE": f'"dport":{port + 4}'}
        for role in ("storm", "mark"):
            path = os.path.join(self.work, f"ktb{role}{t}.txt")
            with open(path, "w") as f:
                f.write("ktrace bench\n")
            self.env["open"][role] = {"KTB_PATH": path}
            prog = os.path.join(self.work, f"ktb{role}{t}")
            shutil.copy("/bin/true", prog)
            os.chmod(prog, 0o755)
            self.env["exec"][role] = {"KTB_PROG": prog}
        # Direct reads of a file on / filled with data (holes never reach the disk).
        dio = os.path.join(self.work, "dio.dat")
        with open(dio, "wb") as f:
            for _ in range(64):
                f.write(os.urandom(1 << 20))
            f.flush()
            os.fsync(f.fileno())
        # The storm and the marker run as copies of diostorm with names of
        # their own (comm: 15 bytes at most): biosnoop's events name them.
        for role in ("storm", "mark"):
            prog = os.path.join(self.work, f"kd{role[0]}{t}")
            shutil.copy(os.path.join(self.bin, "diostorm"), prog)
            os.chmod(prog, 0o755)
            self.env["dio"][role] = {"KTB_FILE": dio, "KTB_SELF": prog}
        # Rewritten and synced: on / so that the flusher has a disk to write to.
        wq = os.path.join(self.work, "wq.dat")
        self.env["wq"] = {"storm": {"KTB_FILE": wq}, "mark": {"KTB_FILE": wq}}
        if not os.listdir("/sys/kernel/tracing"):
            subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"])

    def teardown(self):
        set_stats(False)
        shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)

    # ---- pieces ----

    def workload(self, case, role, secs, interval=None):
        extra = self.env.get(case.get("env"), {}).get(role, {})
        argv = [extra.get("KTB_SELF") or os.path.join(self.bin, case["storm"]), f"{secs}"]
        if interval:
            argv.append(str(interval))
        env = dict(os.environ)
        env.update(extra)
        return argv, env

    def tool_argv(self, case, kind, floor_specs=None):
        # {bin}: where run.sh built the storms (a user-function target names one)
        if kind == "ktrace":
            return [self.kt, case["sub"], "-j"] + [a.format(bin=self.bin) for a in case["kt"]]
        if kind == "bpftrace":
            script = os.path.join(BT_DIR, case["bt"][0])
            ready = not case["storm"] or case.get("startup") == "ready"
            return [self.bpftrace, "-B", "line" if ready else "full",
                    script] + [a.format(bin=self.bin) for a in case["bt"][1:]]
        if kind == "perf":
            return [self.perf] + case["perf"]
        if kind == "loader":
            argv = [os.path.join(self.bin, "floor"), "-o", floor_specs["object"]]
            if case.get("hz"):
                argv += ["-F", str(case["hz"])]
            if floor_specs.get("buffer_bytes"):
                argv += ["-r", str(floor_specs["buffer_bytes"])]
            return argv + [a.format(bin=self.bin) for a in floor_specs["specs"]]
        if kind == "floor":
            argv = [os.path.join(self.bin, "floor"), "-b", os.path.join(self.bin, "floor.bpf.o")]
            if case.get("hz"):
                argv += ["-F", str(case["hz"])]
            return argv + [a.format(bin=self.bin) for a in floor_specs]
        raise ValueError(kind)

    def launch(self, case, kind, floor_specs, rep):
        """Start a tool and wait until it traces; returns (tool, start-up seconds)."""
        tool = Tool(kind, self.tool_argv(case, kind, floor_specs), self.tmp,
                    f"{case['name']}-{kind}-{rep}")
        # uprobe cases too: a uprobe program has the type of bpftrace's BEGIN
        # probe, so "the first event program ran" cannot tell them apart
        if not case["storm"] or case.get("startup") == "ready":
            # readiness lines: ktrace's after attach, bpftrace's BEGIN
            tool.start()
            if kind == "ktrace":
                t = tool.wait_for(lambda: file_has(tool.err, "Hit Ctrl-C"), 60)
            elif kind in ("floor", "loader"):
                t = tool.wait_for(lambda: file_has(tool.err, "floor: ready"), 60)
            else:
                t = tool.wait_for(lambda: file_has(tool.out, "ready"), 60)
            return tool, t
        if kind == "perf":
            # no BPF program to watch: its events are open, then a moment for
            # perf to start reading them (start-up is the first of the two)
            tool.start()
            t = tool.wait_for(lambda: perf_events_open(tool.proc.pid) >= 2 * NCPU, 60)
            time.sleep(0.5)
            return tool, t
        # the first event: a gentle marker runs while the tool starts (sampling
        # needs none: the timer fires on every CPU anyway)
        marker = None
        if case.get("interval"):
            argv, env = self.workload(case, "mark", 60, case["interval"])
            marker = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
        set_stats(True)
        try:
            time.sleep(0.05)
            tool.start()
            t = tool.wait_for(lambda: event_prog_ran(tool.proc.pid), 60)
        finally:
            set_stats(False)
            if marker:
                marker.terminate()
                marker.wait()
        return tool, t

    def storm(self, case, secs):
        argv, env = self.workload(case, "storm", secs)
        c0 = ctxt_total()
        r = subprocess.run(argv, env=env, capture_output=True, text=True)
        c1 = ctxt_total()
        m = re.search(r"ops=(\d+) secs=([\d.]+)", r.stdout)
        if r.returncode or not m:
            raise RuntimeError(f"storm {case['storm']} failed: {r.stderr.strip()}")
        ops, secs = int(m.group(1)), float(m.group(2))
        if case.get("count") == "ctxt":
            events = c1 - c0
        elif case.get("count") == "samples":
            events = int(case["hz"] * NCPU * secs)
        else:
            events = ops
        return ops, secs, events

    def marker_name(self, case):
        e = self.env.get(case.get("env"), {}).get("storm", {})
        if e.get("KTB_NEEDLE"):
            return e["KTB_NEEDLE"]
        v = e.get("KTB_PATH") or e.get("KTB_PROG") or e.get("KTB_SELF")
        return os.path.basename(v) if v else None

    def count_reported(self, tool, case):
        """Storm events in the tool's output, and the events it says it lost."""
        needle = self.marker_name(case)
        r = subprocess.run(["grep", "-c", "-F", needle, tool.out], capture_output=True, text=True)
        reported = int(r.stdout.strip() or 0)
        lost = None
        if tool.kind == "ktrace":
            # No summary record (killed, crashed): lost stays None and the
            # run shows as an error rather than as silent loss.
            with open(tool.out, "rb") as f:
                f.seek(max(0, os.path.getsize(tool.out) - 65536))
                for line in f.read().decode(errors="replace").splitlines():
                    if '"type":"summary"' in line:
                        try:
                            lost = json.loads(line).get("lost", 0)
                        except ValueError:
                            pass
        elif tool.kind == "bpftrace":
            # bpftrace 0.17 prints "Lost N events" among its output, on stdout
            r = subprocess.run(["grep", "-ohE", "Lost [0-9]+ events", tool.out, tool.err],
                               capture_output=True, text=True)
            lost = sum(int(n) for n in re.findall(r"Lost (\d+) events", r.stdout))
        return reported, lost

    def floor_specs(self, meta):
        specs = []
        for a in meta.get("attach", []):
            t, target = a.get("type"), a.get("target")
            if not t:
                continue
            if t == "tracepoint" and target and ":" in target:
                target = target.replace(":", "/")
            specs.append(f"{t}:{target or 'cpu-clock'}")
        return specs

    def loader_specs(self, case, meta):
        """The loader floor's object and TYPE:TARGET=PROGRAM hooks, or None."""
        obj = os.path.join(os.path.dirname(os.path.abspath(self.kt)), "gen",
                           case["sub"] + ".bpf.o")
        specs = []
        for a in meta.get("attach", []):
            t, target, prog = a.get("type"), a.get("target"), a.get("program")
            if not t:
                continue
            if not prog:
                return None
            if t == "tracepoint" and target and ":" in target:
                target = target.replace(":", "/")
            specs.append(f"{t}:{target or 'cpu-clock'}={prog}")
        if not specs or not os.path.exists(obj):
            return None
        return {"object": obj, "specs": specs, "buffer_bytes": meta.get("buffer_bytes")}

    def ktrace_meta(self, case):
        """The attach plan ktrace chooses here (from a short JSON run)."""
        tool = Tool("ktrace", self.tool_argv(case, "ktrace"), self.tmp, f"{case['name']}-meta")
        tool.start()
        tool.wait_for(lambda: file_has(tool.err, "Hit Ctrl-C"), 60)
        tool.stop()
        meta = {}
        try:
            with open(tool.out) as f:
                meta = json.loads(f.readline())
        except (OSError, ValueError):
            log(f"bench: {case['name']}: no JSON meta from ktrace: {tool.stderr().strip()}")
        tool.cleanup()
        return meta

    # ---- one case ----

    def run_case(self, case):
        name = case["name"]
        res = {"subcommand": case["sub"], "unit": case.get("unit")}
        have = case["sub"] in self.subs
        if not have and not self.a.without_ktrace:
            res["skipped"] = f"`ktrace {case['sub']}` does not exist in this binary"
            log(f"bench: {name}: skipped ({res['skipped']})")
            return res
        loader = None
        if have:
            meta = self.ktrace_meta(case)
            res["attach"] = meta.get("attach")
            specs = [] if case.get("no_floor") else self.floor_specs(meta)
            # a USDT site is no function: like the floor, no loader for it
            loader = None if case.get("no_floor") else self.loader_specs(case, meta)
        else:
            specs = case.get("floor", [])
            res["floor_guessed"] = True
        configs = (["ktrace"] if have else []) + (["bpftrace"] if self.bpftrace else []) \
            + (["perf"] if case.get("perf") and self.perf else [])
        if case["storm"]:
            configs = ["none", "floor"] + configs
            if not specs:
                configs.remove("floor")
        elif specs:
            configs = ["floor"] + configs  # its start-up and RSS, by its readiness line
        if loader:
            configs.insert(configs.index("ktrace"), "loader")
        runs = {c: [] for c in configs}
        log(f"bench: {name}: {', '.join(configs)} x {self.a.reps}"
            + (f" (floor: {' '.join(specs)})" if "floor" in configs else ""))
        for rep in range(self.a.reps):
            k = rep % len(configs)
            for kind in configs[k:] + configs[:k]:  # alternate the order
                runs[kind].append(self.one_run(case, kind, loader if kind == "loader" else specs,
                                               rep))
        res["startup_method"] = ("first event" if case["storm"] and case.get("startup") != "ready"
                                 else "readiness line")
        res["runs"] = runs
        res.update(self.summarize(case, runs))
        return res

    def one_run(self, case, kind, specs, rep):
        run = {}
        tool = None
        try:
            if kind != "none":
                tool, t = self.launch(case, kind, specs, rep)
                if t is None:
                    run["error"] = f"{kind} did not start: {tool.stderr().strip()[-300:]}"
                    log(f"bench: {case['name']}: {run['error']}")
                    return run
                run["startup_s"] = round(t, 4)
            if not case["storm"]:
                m = mem_kb(tool.proc.pid)
                run["rss_kb"] = m.get("VmHWM")
                run["mem_kb"] = m
                return run
            time.sleep(0.1)
            cpu0 = cpu_ticks(tool.proc.pid) / CLK_TCK if tool else 0
            miss0 = prog_misses(tool.proc.pid) if tool else 0
            ops, secs, events = self.storm(case, self.a.secs)
            run.update(ops=ops, generated=ops, secs=round(secs, 4), rate=ops / secs,
                       events=events)
            if tool:
                # let the tool catch up with what the storm left in its buffers
                time.sleep(0.2)
                cpu = cpu_ticks(tool.proc.pid) / CLK_TCK - cpu0
                run["cpu_s"] = round(cpu, 3)
                run["cpu_ms_per_mevent"] = round(cpu * 1e9 / max(events, 1), 1)
                # In-kernel cost per program run, from BPF run-time statistics,
                # in a short second storm: the statistics cost a little
                # themselves, so the main storm runs without them.
                set_stats(True)
                try:
                    ns0, n0 = prog_stats(tool.proc.pid)
                    ops2 = self.storm(case, self.a.stats_secs)[0]
                    ns1, n1 = prog_stats(tool.proc.pid)
                finally:
                    set_stats(False)
                run["generated"] += ops2
                if n1 > n0:
                    run["bpf_ns_per_run"] = round((ns1 - ns0) / (n1 - n0), 1)
                    run["bpf_runs"] = n1 - n0
                    # per storm operation: a tool with two hooks per call runs twice
                    run["bpf_ns_per_op"] = round((ns1 - ns0) / max(ops2, 1), 1)
                m = mem_kb(tool.proc.pid)
                run["rss_kb"] = m.get("VmHWM")
                run["mem_kb"] = m
                run["recursion_misses"] = prog_misses(tool.proc.pid) - miss0
                if not tool.alive():
                    run["error"] = f"{kind} exited during the storm: {tool.stderr()[-300:]}"
        except RuntimeError as e:
            run["error"] = str(e)
            log(f"bench: {case['name']}: {e}")
        finally:
            if tool:
                t = time.monotonic()
                run["exit"] = tool.stop()
                run["stop_s"] = round(time.monotonic() - t, 3)
                if run["exit"] not in (0, None) and kind not in ("floor", "loader"):
                    log(f"bench: {case['name']}: {kind} exited with {run['exit']}:"
                        f" {tool.stderr().strip()[-300:]}")
                if case.get("stream") and "ops" in run and kind in ("ktrace", "bpftrace"):
                    run["reported"], run["lost"] = self.count_reported(tool, case)
                    if run["lost"] is None:
                        run["error"] = f"{kind} wrote no summary record (exit {run['exit']})"
                        log(f"bench: {case['name']}: {run['error']}")
                tool.cleanup()
        return run

    def summarize(self, case, runs):
        s = {}
        for kind, rr in runs.items():
            ok = [r for r in rr if "error" not in r]
            d = {"n": len(ok), "errors": len(rr) - len(ok)}
            if ok and "rate" in ok[0]:
                d["rate"] = median(r["rate"] for r in ok)
                d["ns_per_op"] = median(1e9 / r["rate"] for r in ok)
            for key in ("startup_s", "rss_kb", "cpu_ms_per_mevent", "bpf_ns_per_run",
                        "bpf_ns_per_op"):
                v = median(r.get(key) for r in ok)
                if v is not None:
                    d[key] = v
            v = median(r.get("mem_kb", {}).get("RssAnon") for r in ok)
            if v is not None:
                d["rss_anon_kb"] = v
            if case.get("stream") and kind in ("ktrace", "bpftrace") and ok:
                gen = sum(r.get("generated", 0) for r in ok)
                rep = sum(r.get("reported", 0) for r in ok)
                lost = sum(r.get("lost") or 0 for r in ok)
                d.update(generated=gen, reported=rep, lost=lost,
                         silent=max(0, gen - rep - lost),
                         recursion_misses=sum(r.get("recursion_misses", 0) for r in ok))
            s[kind] = d
        out = {"summary": s}
        # overheads: extra time per operation, relative to nothing attached
        base = s.get("none", {}).get("ns_per_op")
        if base:
            none_runs = [1e9 / r["rate"] for r in runs["none"] if "rate" in r]
            noise = max(abs(x - base) for x in none_runs) / base if none_runs else 0
            out["noise"] = round(noise, 4)
            for kind in ("floor", "loader", "ktrace", "bpftrace", "perf"):
                t = s.get(kind, {}).get("ns_per_op")
                if t:
                    s[kind]["overhead"] = round(t / base - 1, 4)
                    s[kind]["extra_ns_per_op"] = round(t - base, 1)
            fo = s.get("floor", {}).get("overhead")
            ko = s.get("ktrace", {}).get("overhead")
            if fo is not None and ko is not None:
                # a floor below zero is noise: compare with zero then
                ratio = (ko / fo) if fo > 0 else None
                out["overhead_vs_floor"] = round(ratio, 2) if ratio is not None else None
                if ko <= OVERHEAD_MAX * max(fo, 0):
                    out["overhead_verdict"] = "PASS"
                elif ko - OVERHEAD_MAX * max(fo, 0) <= noise:
                    out["overhead_verdict"] = "NOISE"
                else:
                    out["overhead_verdict"] = "MISS"
        ks, bs = s.get("ktrace", {}).get("startup_s"), s.get("bpftrace", {}).get("startup_s")
        if ks and bs:
            out["startup_ratio"] = round(ks / bs, 4)
            out["startup_verdict"] = "PASS" if ks / bs <= STARTUP_MAX else "MISS"
        kr, br = s.get("ktrace", {}).get("rss_kb"), s.get("bpftrace", {}).get("rss_kb")
        if kr and br:
            out["rss_ratio"] = round(kr / br, 4)
            out["rss_verdict"] = "PASS" if kr / br <= RSS_MAX else "MISS"
        ls, lr = s.get("loader", {}).get("startup_s"), s.get("loader", {}).get("rss_kb")
        if ks and ls:
            out["startup_vs_loader_verdict"] = \
                "PASS" if ks <= FLOOR_STARTUP_MUL * ls + FLOOR_STARTUP_ADD_S else "MISS"
        if kr and lr:
            out["rss_vs_loader_verdict"] = "PASS" if kr <= lr + FLOOR_RSS_ADD_KB else "MISS"
        k = s.get("ktrace", {})
        if case.get("stream") and "generated" in k:
            out["loss_verdict"] = "PASS" if k["silent"] == 0 and k["reported"] <= k["generated"] \
                else "MISS"
        return out

    # ---- the whole run ----

    def run(self):
        self.others_before = other_tracers()
        self.setup()
        try:
            only = set(self.a.only.split(",")) if self.a.only else None
            for case in CASES:
                if only and case["name"] not in only and case["sub"] not in only:
                    continue
                try:
                    self.results[case["name"]] = self.run_case(case)
                except Exception as e:  # one broken case must not lose the others
                    log(f"bench: {case['name']}: failed: {e!r}")
                    self.results[case["name"]] = {"subcommand": case["sub"], "error": repr(e)}
        finally:
            self.teardown()
            self.others_after = other_tracers()

    def document(self):
        bt = subprocess.run([self.bpftrace, "--version"], capture_output=True, text=True) \
            if self.bpftrace else None
        kv = subprocess.run([self.kt, "--version"], capture_output=True, text=True)
        cpu = ""
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        return {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "kernel": platform.release(),
            "ncpu": NCPU,
            "cpu_model": cpu,
            "loadavg_at_end": open("/proc/loadavg").read().split()[:3],
            "other_bpf_event_progs": [self.others_before, self.others_after],
            "ktrace": {"path": self.kt, "size_bytes": os.path.getsize(self.kt),
                       "size_parts": binary_parts(self.kt),
                       "version": (kv.stdout + kv.stderr).strip(),
                       "subcommands": sorted(self.subs), "note": self.a.note},
            "bpftrace": bt.stdout.strip() if bt else None,
            "reps": self.a.reps,
            "storm_secs": self.a.secs,
            "targets": {"startup_ratio_max": STARTUP_MAX, "overhead_vs_floor_max": OVERHEAD_MAX,
                        "rss_ratio_max": RSS_MAX, "silent_loss": 0,
                        "startup_vs_loader": f"<= {FLOOR_STARTUP_MUL} x loader + "
                                            f"{FLOOR_STARTUP_ADD_S * 1e3:.0f} ms",
                        "rss_vs_loader": f"<= loader + {FLOOR_RSS_ADD_KB // 1024} MB"},
            "cases": self.results,
        }


def binary_parts(kt):
    """Bytes per part of the binary (test/build/ktsize.py): each embedded BPF object,
    debug info, the rest; named after build/gen/*.bpf.o when they sit next to it."""
    gen = os.path.join(os.path.dirname(os.path.abspath(kt)), "gen")
    r = subprocess.run([sys.executable, os.path.join(REPO, "test", "build", "ktsize.py"), "--json",
                        kt] + ([gen] if os.path.isdir(gen) else []),
                       capture_output=True, text=True)
    try:
        return json.loads(r.stdout)["parts"]
    except (ValueError, KeyError):
        return None


# ---- the table ----

def fmt(v, spec="{:.0f}", none="-"):
    return none if v is None else spec.format(v)


def table(doc):
    L = []
    k = doc["ktrace"]
    L.append(f"ktrace benchmark  {doc['date']}  kernel {doc['kernel']}  {doc['ncpu']} CPUs  "
             f"({doc['cpu_model']})")
    L.append(f"ktrace {k['version']} ({k['size_bytes'] / 1e6:.2f} MB static binary)"
             + (f"  [{k['note']}]" if k.get("note") else "")
             + f"  vs {doc['bpftrace']}")
    if k.get("size_parts"):
        L.append("size: " + ", ".join(f"{n} {b / 1e3:.0f} kB" for n, b in k["size_parts"].items()))
    L.append(f"{doc['reps']} reps x {doc['storm_secs']} s storms,"
             f" medians; load at end {' '.join(doc['loadavg_at_end'])};"
             f" other tracers' BPF programs before/after: "
             f"{'/'.join(str(x) for x in doc['other_bpf_event_progs'])}")
    L.append("")
    L.append("Start-up (launch -> first traced event, or readiness line where marked *)"
             " and peak RSS (VmHWM)")
    L.append(f"{'case':<12} {'ktrace ms':>9} {'bpftrace ms':>11} {'ratio':>7} {'<=1/20':>6}"
             f" {'ktrace RSS':>10} {'bpftrace RSS':>12} {'ratio':>7} {'<=1/20':>6}"
             f" {'kt anon':>8} {'floor ms':>8} {'loader ms':>9} {'loader RSS':>10}"
             f" {'ms<=1.5L+2':>10} {'RSS<=L+2M':>9}")
    for name, c in doc["cases"].items():
        if "skipped" in c or "error" in c:
            L.append(f"{name:<12} {c.get('skipped') or 'error: ' + c['error']}")
            continue
        s = c["summary"]
        ks, bs, fs = s.get("ktrace", {}), s.get("bpftrace", {}), s.get("floor", {})
        ls = s.get("loader", {})
        star = "*" if c.get("startup_method") == "readiness line" else ""
        L.append(f"{name + star:<12} {fmt(ks.get('startup_s') and ks['startup_s'] * 1e3, '{:.1f}'):>9}"
                 f" {fmt(bs.get('startup_s') and bs['startup_s'] * 1e3):>11}"
                 f" {fmt(c.get('startup_ratio'), '{:.3f}'):>7} {c.get('startup_verdict', '-'):>6}"
                 f" {fmt(ks.get('rss_kb') and ks['rss_kb'] / 1024, '{:.1f}M'):>10}"
                 f" {fmt(bs.get('rss_kb') and bs['rss_kb'] / 1024, '{:.1f}M'):>12}"
                 f" {fmt(c.get('rss_ratio'), '{:.3f}'):>7} {c.get('rss_verdict', '-'):>6}"
                 f" {fmt(ks.get('rss_anon_kb') and ks['rss_anon_kb'] / 1024, '{:.1f}M'):>8}"
                 f" {fmt(fs.get('startup_s') and fs['startup_s'] * 1e3, '{:.1f}'):>8}"
                 f" {fmt(ls.get('startup_s') and ls['startup_s'] * 1e3, '{:.1f}'):>9}"
                 f" {fmt(ls.get('rss_kb') and ls['rss_kb'] / 1024, '{:.1f}M'):>10}"
                 f" {c.get('startup_vs_loader_verdict', '-'):>10}"
                 f" {c.get('rss_vs_loader_verdict', '-'):>9}")
    L.append("")
    L.append("Hot path: storm rate with nothing attached, and the slowdown with each tool"
             " (ns added per operation)")
    L.append(f"{'case':<12} {'unit/s none':>12} {'floor':>14} {'ktrace':>14} {'bpftrace':>14}"
             f" {'kt/floor':>8} {'<=1.25':>6} {'noise':>6} {'perf':>16}")
    for name, c in doc["cases"].items():
        s = c.get("summary")
        if not s or "none" not in s:
            continue

        def ovh(kind):
            d = s.get(kind, {})
            if d.get("overhead") is None:
                return "-"
            return f"{d['overhead'] * 100:+.1f}%/{d['extra_ns_per_op']:.0f}"
        L.append(f"{name:<12} {fmt(s['none'].get('rate')):>12} {ovh('floor'):>14}"
                 f" {ovh('ktrace'):>14} {ovh('bpftrace'):>14}"
                 f" {fmt(c.get('overhead_vs_floor'), '{:.2f}'):>8}"
                 f" {c.get('overhead_verdict', '-'):>6} {fmt(c.get('noise'), '{:.1%}'):>6}"
                 f" {ovh('perf'):>16}")
    L.append("")
    L.append("Loss under the storms (storm events: generated by the workload, reported,"
             " counted lost, silent)")
    L.append(f"{'case':<12} {'tool':<9} {'generated':>10} {'reported':>10} {'lost':>10}"
             f" {'silent':>8} {'verdict':>7} {'BPF recursion misses':>20}")
    for name, c in doc["cases"].items():
        s = c.get("summary")
        if not s:
            continue
        for kind in ("ktrace", "bpftrace"):
            d = s.get(kind, {})
            if "generated" not in d:
                continue
            v = c.get("loss_verdict", "-") if kind == "ktrace" else ""
            L.append(f"{name:<12} {kind:<9} {d['generated']:>10} {d['reported']:>10}"
                     f" {d['lost']:>10} {d['silent']:>8} {v:>7} {d['recursion_misses']:>20}"
                     + (f"  ({d['errors']} failed runs left out)" if d.get("errors") else ""))
    L.append("")
    L.append("Cost per event: the tool's own CPU time in user space and kernel (ms per million"
             " events),\nand the mean run time of its BPF programs (ns per run; BPF statistics on)")
    L.append(f"{'case':<12} {'ktrace ms/M':>11} {'bpftrace ms/M':>13} {'floor ns':>9}"
             f" {'ktrace ns':>9} {'bpftrace ns':>11} {'floor/op':>8} {'kt/op':>6} {'bt/op':>6}")
    for name, c in doc["cases"].items():
        s = c.get("summary")
        if not s or "none" not in s:
            continue
        L.append(f"{name:<12} {fmt(s.get('ktrace', {}).get('cpu_ms_per_mevent'), '{:.1f}'):>11}"
                 f" {fmt(s.get('bpftrace', {}).get('cpu_ms_per_mevent'), '{:.1f}'):>13}"
                 f" {fmt(s.get('floor', {}).get('bpf_ns_per_run'), '{:.0f}'):>9}"
                 f" {fmt(s.get('ktrace', {}).get('bpf_ns_per_run'), '{:.0f}'):>9}"
                 f" {fmt(s.get('bpftrace', {}).get('bpf_ns_per_run'), '{:.0f}'):>11}"
                 f" {fmt(s.get('floor', {}).get('bpf_ns_per_op'), '{:.0f}'):>8}"
                 f" {fmt(s.get('ktrace', {}).get('bpf_ns_per_op'), '{:.0f}'):>6}"
                 f" {fmt(s.get('bpftrace', {}).get('bpf_ns_per_op'), '{:.0f}'):>6}")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("ktrace", nargs="?", default=os.path.join(REPO, "build", "ktrace"))
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "bench"),
                    help="where run.sh built the floor and the storms")
    ap.add_argument("--quick", action="store_true", help="1 repetition of 1 s storms")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--secs", type=float, default=1.5)
    ap.add_argument("--stats-secs", type=float, default=0.5,
                    help="length of the second storm, run with BPF statistics on")
    ap.add_argument("--only", help="comma-separated cases or subcommands")
    ap.add_argument("--note", default=os.environ.get("KTB_NOTE", ""),
                    help="what was measured (commit, branches), kept in the result")
    ap.add_argument("--without-ktrace", action="store_true",
                    help="run the cases ktrace lacks anyway (floor hooks guessed)")
    ap.add_argument("--no-save", action="store_true", help="print the table only")
    a = ap.parse_args()
    if a.quick:
        a.reps, a.secs, a.stats_secs = 1, 1.0, 0.3
    if os.geteuid():
        sys.exit("bench: run as root (it loads BPF programs)")
    if not os.access(a.ktrace, os.X_OK):
        sys.exit(f"bench: no ktrace binary at {a.ktrace}: build it or pass its path")
    b = Bench(a)
    if not b.bpftrace:
        log("bench: bpftrace not found (apt-get install bpftrace): its columns stay empty")
    t0 = time.monotonic()
    b.run()
    doc = b.document()
    doc["wall_s"] = round(time.monotonic() - t0, 1)
    text = table(doc)
    print(text, end="")
    if not a.no_save:
        os.makedirs(RESULTS, exist_ok=True)
        stem = f"{doc['date'][:10]}-{doc['kernel']}" + ("-quick" if a.quick else "")
        with open(os.path.join(RESULTS, stem + ".json.tmp"), "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
        os.rename(os.path.join(RESULTS, stem + ".json.tmp"), os.path.join(RESULTS, stem + ".json"))
        with open(os.path.join(RESULTS, stem + ".txt"), "w") as f:
            f.write(text)
        log(f"bench: wrote bench/results/{stem}.json and .txt ({doc['wall_s']} s)")


if __name__ == "__main__":
    main()
