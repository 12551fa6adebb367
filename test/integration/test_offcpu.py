#!/usr/bin/env python3
"""offcpu: time blocked off-CPU by stack.

A frame-pointer test binary blocks 200 ms in nanosleep, in a pipe read and
in a futex wait, each from its own kt_block_* function (raw syscall, so the
innermost user frame is ours). Each must appear with the kernel function
that blocked it and the binary's function name, totalling >= 190 ms.
-m/-M drop shorter and longer blocks; -p keeps one process; -f prints
well-formed folded lines; --svg writes valid XML.
"""
import json
import os
import re
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

import ktlib
from ktlib import check, check_no_leak, Ktrace, workload


def kallsyms():
    names = set()
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3:
                names.add(parts[2])
    return names


def run(*argv):
    return subprocess.Popen([workload("offcpu_waiter")] + [str(a) for a in argv])


def held(argv):
    p = subprocess.Popen(["sh", "-c", 'read x; exec "$@"', "held"] + list(argv),
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    ktlib.at_exit(lambda: p.poll() is None and (p.kill(), p.wait()))
    return p


def release(p):
    p.stdin.write(b"go\n")
    p.stdin.close()


def names(frames):
    return [f.get("symbol") or "" for f in frames]


def blocked_us(recs, pid, kfuncs, ufunc):
    """Total us of pid's stacks that contain one of kfuncs and ufunc."""
    total = 0
    for r in recs:
        if r.get("pid") != pid:
            continue
        k, u = names(r["kernel_frames"]), names(r["user_frames"])
        if any(f in k for f in kfuncs) and ufunc in u:
            total += r["total_us"]
    return total


def main_test():
    syms = kallsyms()
    want = {
        "sleep": [f for f in ("do_nanosleep",) if f in syms],
        "pipe": [f for f in ("anon_pipe_read", "pipe_read") if f in syms],
        "futex": [f for f in ("futex_do_wait", "futex_wait") if f in syms],
    }
    for mode, fs in want.items():
        if not fs:
            ktlib.skip("no known blocking function for %s in /proc/kallsyms" % mode)

    kt = Ktrace("offcpu", "-j", "--user-threads-only", "--min-block-time", "1000")
    procs = {m: run(m, 200) for m in want}
    for p in procs.values():
        p.wait(30)
    kt.stop()
    check(kt.rc == 0, "offcpu -j exits 0", kt.stderr())
    recs = kt.records("stacks")
    check(any(r.get("kernel_frames") and "symbol" in r["kernel_frames"][0] and
              "module" in r["kernel_frames"][0] and "address" in r["kernel_frames"][0] and
              "offset" in r["kernel_frames"][0] for r in recs),
          "JSON stacks records carry frames as objects (address, symbol, offset, module)")
    for mode, p in procs.items():
        us = blocked_us(recs, p.pid, want[mode], "kt_block_" + mode)
        mine = [(names(r["kernel_frames"])[:6], names(r["user_frames"]), r["total_us"])
                for r in recs if r.get("pid") == p.pid]
        check(us >= 190000, "%s: %d us blocked in %s under kt_block_%s (>= 190000)"
              % (mode, us, "/".join(want[mode]), mode), mine)
    own = [r for r in recs if r["kernel_frames"] and
           re.match(r"bpf_prog_|bpf_trace_run|__traceiter_", r["kernel_frames"][0].get("symbol") or "")]
    check(not own, "no stack starts with the tracing machinery's own frames",
          [names(r["kernel_frames"])[:3] for r in own[:3]])
    check_no_leak(kt)


def bounds_test():
    kt = Ktrace("offcpu", "-j", "--user-threads-only", "--min-block-time", "100000", "--max-block-time", "300000")
    short, mid, long_ = run("sleep", 20, 5), run("sleep", 200), run("sleep", 400)
    for p in (short, mid, long_):
        p.wait(30)
    kt.stop()
    recs = kt.records("stacks")
    k = ["do_nanosleep"]
    check(blocked_us(recs, mid.pid, k, "kt_block_sleep") >= 190000,
          "-m 100000 -M 300000 keeps a 200 ms sleep")
    check(blocked_us(recs, short.pid, k, "kt_block_sleep") == 0, "-m 100000 drops 20 ms sleeps")
    check(blocked_us(recs, long_.pid, k, "kt_block_sleep") == 0, "-M 300000 drops a 400 ms sleep")
    check(all(100000 <= r["total_us"] for r in recs), "every stack total is >= -m")
    check_no_leak(kt)


def pid_folded_svg_test():
    svg = tempfile.NamedTemporaryFile(prefix="kt-off-", suffix=".svg", delete=False).name
    ktlib.at_exit(os.unlink, svg)
    w = held([workload("offcpu_waiter"), "futex", "200", "2"])
    kt = Ktrace("offcpu", "-f", "-p", w.pid, "--svg", svg)
    release(w)
    w.wait(30)
    kt.stop()
    check(kt.rc == 0, "offcpu -f -p --svg exits 0", kt.stderr())
    lines = [l for l in kt.stdout().splitlines() if l.strip()]
    bad = [l for l in lines if not re.match(r"^[^;\s][^;]*(;[^;]+)* \d+$", l)]
    check(lines and not bad, "folded output is well formed (comm;frames... N)", bad[:5] or lines[:5])
    check(all(l.split(";")[0] in ("offcpu_waiter", "sh") for l in lines),
          "-p %d keeps only that process" % w.pid, lines[:10])
    hit = [l for l in lines if "kt_block_futex" in l and "futex" in l.split(";")[-1] + l]
    total = sum(int(l.rsplit(" ", 1)[1]) for l in lines if "kt_block_futex" in l)
    check(total >= 380000, "folded futex waits total >= 380 ms (got %d us)" % total, hit)
    try:
        root = ET.parse(svg).getroot()
        text = ET.tostring(root, encoding="unicode")
        check("kt_block_futex" in text, "the flame graph names kt_block_futex")
    except ET.ParseError as e:
        check(False, "the flame graph is valid XML", e)
    check_no_leak(kt)


def state_test():
    # a nanosleep blocks in S (interruptible): --state S keeps it, --state D does not
    res = {}
    for st in ("S", "D"):
        kt = Ktrace("offcpu", "-j", "--user-threads-only", "--state", st, "--min-block-time", "100000")
        p = run("sleep", 200)
        p.wait(30)
        kt.stop()
        res[st] = blocked_us(kt.records("stacks"), p.pid, ["do_nanosleep"], "kt_block_sleep")
        check_no_leak(kt)
    check(res["S"] >= 190000, "--state S keeps a 200 ms nanosleep (%d us)" % res["S"])
    check(res["D"] == 0, "--state D drops it (%d us)" % res["D"])


def d_state_test():
    # direct reads of a loop device backed by vda, from a cgroup throttled to 10 IOPS on vda:
    # each read waits about 100 ms in D state (io_schedule)
    if not os.path.exists("/sys/block/vda/dev") or not os.path.isdir("/sys/fs/cgroup/blkio"):
        ktlib.log("no vda or no cgroup-v1 blkio controller: D-state part skipped")
        return
    with open("/sys/block/vda/dev") as f:
        vda = f.read().strip()
    dev = ktlib.make_loop()
    cg = ktlib.cgroup_v1("blkio", "slowio", {"blkio.throttle.read_iops_device": "%s 10" % vda})
    kt = Ktrace("offcpu", "-j", "--state", "D", "--min-block-time", "30000")
    dd = subprocess.Popen(ktlib.in_cgroup(cg, ["dd", "if=" + dev, "of=/dev/null", "bs=4k", "count=5",
                                               "skip=300", "iflag=direct", "status=none"]))
    dd.wait(60)
    kt.stop()
    recs = [r for r in kt.records("stacks") if r["pid"] == dd.pid]
    us = sum(r["total_us"] for r in recs
             if any(n.startswith("io_schedule") for n in names(r["kernel_frames"])))
    check(us >= 250000, "--state D: throttled direct reads wait >= 250 ms in io_schedule (%d us)" % us,
          [(names(r["kernel_frames"])[:8], r["total_us"]) for r in recs])
    check_no_leak(kt)


def lost_test():
    # a 2-entry stack map cannot hold the system's stacks: they must be reported, with the fix
    kt = Ktrace("offcpu", "-j", "--stack-storage-size", "2", "1")
    procs = [run("sleep", 5, 20), run("pipe", 5, 5)]
    for p in procs:
        p.wait(30)
    kt.wait(60)
    lost = [r for r in kt.records("lost") if "stacks" in r.get("what", "")]
    check(lost and all(r["count"] > 0 and "--stack-storage-size" in r["fix"] for r in lost),
          "stacks that did not fit are reported with the fix", kt.records("lost"))
    check(kt.records("stacks"), "the time of stacks that did not fit is still reported")
    summ = kt.records("summary")
    check(summ and summ[-1].get("lost_stacks", 0) == sum(r["count"] for r in lost if "--stack-storage-size" in r["fix"]) > 0,
          "the summary counts the lost stacks", (summ, lost))
    check_no_leak(kt)
    kt = Ktrace("offcpu", "--stack-storage-size", "2", "1")
    kt.wait(60)
    check("raise --stack-storage-size" in kt.stderr(), "text mode warns on stderr", kt.stderr())
    check_no_leak(kt)


def distinct_stacks_test():
    """#12: 20,000 distinct user stacks fit the default stack map with none lost
    (main's stack trace map lost some to hash collisions even when not full)."""
    n = 20000
    w = held([workload("stackfan"), str(n)])
    kt = Ktrace("offcpu", "-j", "-U", "-p", w.pid)
    release(w)
    w.wait(120)
    kt.wait(60)
    check(kt.rc == 0, "offcpu -U -p of stackfan exits 0", kt.stderr())
    lost = [r for r in kt.records("lost") if "stacks" in r.get("what", "") and r.get("count")]
    check(not lost, "no stack lost at the default --stack-storage-size", lost)
    summ = kt.records("summary")
    check(summ and summ[-1].get("lost_stacks") == 0, "the summary says lost_stacks 0", summ)
    fans = {tuple(f.get("symbol") for f in r["user_frames"]) for r in kt.records("stacks")
            if r["pid"] == w.pid and
            "kt_fan_leaf" in [f.get("symbol") for f in r["user_frames"][:2]]}
    # a 1 us sleep whose timer fires before the task is switched out does not block
    check(len(fans) >= n * 0.98, "%d distinct stacks under kt_fan_leaf (of %d sleeps)" % (len(fans), n))
    check_no_leak(kt)


def map_ids_of(pid):
    ids = set()
    d = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(d):
        try:
            with open(os.path.join(d, fd)) as f:
                for line in f:
                    if line.startswith("map_id:"):
                        ids.add(int(line.split()[1]))
        except (OSError, ValueError):
            pass
    return ids


def starts_entries(pid):
    for mid in map_ids_of(pid):
        info = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "id", str(mid)],
                                         capture_output=True, text=True).stdout or "{}")
        if info.get("name") == "starts":
            dump = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(mid)],
                                  capture_output=True, text=True).stdout
            return len(json.loads(dump or "[]"))
    return -1


def exit_cleanup_test():
    """#21: tasks that exit leave no entry in the starts map (main kept one per dead task)."""
    ktlib.require_tool("bpftool")
    kt = Ktrace("offcpu", "-j", "--user-threads-only")
    n = 3000
    subprocess.run(["sh", "-c", "i=0; while [ $i -lt %d ]; do /bin/true; i=$((i+1)); done" % n],
                   timeout=300)
    left = starts_entries(kt.p.pid)
    kt.stop()
    live = len(os.listdir("/proc/self/task")) + len([d for d in os.listdir("/proc") if d.isdigit()])
    check(0 <= left < 1000, "after %d processes exited, starts holds %d entries (%d tasks alive)"
          % (n, left, live))
    check_no_leak(kt)


def chroot_debug_test():
    """#21: a stripped binary in a chroot whose build-id debug file is a symlink to a
    host path is not symbolized from the host file; a real debug file inside the
    chroot is used. The static fixture blocks in read(); a byte on its stdin ends
    the block, which offcpu records with its user stack."""
    fix = os.path.join(os.path.dirname(os.environ["KTRACE"]), "test", "fixtures")
    exe, dbg = os.path.join(fix, "ktfix_static_nolink"), os.path.join(fix, "ktfix_static.debug")
    if not (os.path.exists(exe) and os.path.exists(dbg)):
        ktlib.skip("the symbolization fixtures are not built")
    out = subprocess.run(["readelf", "-n", exe], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    check(m, "the fixture has a build-id", out)
    bid = m.group(1)
    root = tempfile.mkdtemp(prefix="kt-chroot-")
    ktlib.at_exit(subprocess.run, ["rm", "-rf", root])
    host = os.path.join(tempfile.mkdtemp(prefix="kt-host-"), "secret.debug")
    ktlib.at_exit(subprocess.run, ["rm", "-rf", os.path.dirname(host)])
    subprocess.run(["cp", dbg, host], check=True)
    subprocess.run(["cp", exe, os.path.join(root, "ktfix")], check=True)
    d = os.path.join(root, "usr/lib/debug/.build-id", bid[:2])
    os.makedirs(d)
    link = os.path.join(d, bid[2:] + ".debug")

    def named_frames():
        p = subprocess.Popen(["chroot", root, "/ktfix"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        p.stdout.readline()
        kt = Ktrace("offcpu", "-j", "-U", "-p", p.pid)
        time.sleep(0.5)
        p.stdin.write(b"x")
        p.stdin.flush()
        time.sleep(0.3)
        p.stdin.close()
        p.wait(30)
        kt.wait(30)
        check_no_leak(kt)
        return {f.get("symbol") for r in kt.records("stacks") if r["pid"] == p.pid
                for f in r["user_frames"]} - {None}

    os.symlink(host, link)  # absolute: the host's file, if followed from the host's root
    leaked = named_frames()
    check(not leaked, "a debug link to a host path is not followed out of the chroot", sorted(leaked))
    os.unlink(link)
    subprocess.run(["cp", dbg, link], check=True)
    named = named_frames()
    check(named, "a real debug file inside the chroot names the frames", sorted(named))


def thread_exit_test():
    """#12: -p of a thread that is not its process's leader traces the process (and
    says so) instead of nothing; the run stops by itself when the process exits."""
    code = ("import threading, time, sys\n"
            "def work():\n"
            "    print(threading.get_native_id(), flush=True)\n"
            "    sys.stdin.readline()\n"
            "    for _ in range(30):\n"
            "        time.sleep(0.05)\n"
            "t = threading.Thread(target=work); t.start(); t.join()\n")
    p = subprocess.Popen(["python3", "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ktlib.at_exit(lambda: p.poll() is None and (p.kill(), p.wait()))
    tid = int(p.stdout.readline())
    check(tid != p.pid, "the workload's thread %d is not its leader %d" % (tid, p.pid))
    kt = Ktrace("offcpu", "-j", "-p", tid)
    p.stdin.write("go\n")
    p.stdin.flush()
    p.wait(30)
    kt.wait(30)
    check(kt.rc == 0, "offcpu -p stops by itself when the process exits, exit 0", kt.stderr())
    check("thread of process %d" % p.pid in kt.stderr(), "-p TID says it traces the process", kt.stderr())
    summ = kt.records("summary")
    check(summ and summ[-1].get("stopped_by") == "target_exited", "stopped_by is target_exited", summ)
    recs = kt.records("stacks")
    us = sum(r["total_us"] for r in recs if r["pid"] == p.pid and
             any(n in ("do_nanosleep", "hrtimer_nanosleep") for n in names(r["kernel_frames"])))
    check(us >= 1000000, "the thread's sleeps are reported (%d us >= 1 s)" % us,
          [(r["pid"], names(r["kernel_frames"])[:4]) for r in recs[:5]])
    check_no_leak(kt)


def usage_test():
    for args, what in ((["--min-block-time", "500", "--max-block-time", "100"], "--min-block-time above --max-block-time"),
                       (["--user-threads-only", "-k"], "--user-threads-only with -k"),
                       (["--state", "Q"], "--state Q"),
                       (["-f", "-j"], "-f with -j"),
                       (["--perf-max-stack-depth", "0"], "--perf-max-stack-depth 0")):
        r = ktlib.run_ktrace("offcpu", *args)
        check(r.returncode == 2, "%s is a usage error (exit 2)" % what, r.stderr)


def main():
    main_test()
    bounds_test()
    pid_folded_svg_test()
    state_test()
    d_state_test()
    lost_test()
    thread_exit_test()
    distinct_stacks_test()
    exit_cleanup_test()
    chroot_debug_test()
    usage_test()


ktlib.main(main)
