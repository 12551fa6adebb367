#!/usr/bin/env python3
"""ktrace exec: real execs the test makes, seen with the right pid, ppid,
uid, argv and return value; failures (ENOENT, EACCES); an exec from a
thread that is not the leader; execveat; hostile arguments; --summary
counts; leak checks after every run."""
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

from ktlib import (UNIQUE, Ktrace, at_exit, check, check_no_leak, in_cgroup, main, run_ktrace, workload)


def setup():
    d = tempfile.mkdtemp(prefix="kt-exec-")
    at_exit(shutil.rmtree, d, True)
    marker = os.path.join(d, UNIQUE + "mk")  # comm: first 15 bytes
    shutil.copy("/bin/true", marker)
    os.chmod(marker, 0o755)
    noexec = os.path.join(d, UNIQUE + ".sh")
    with open(noexec, "w") as f:
        f.write("#!/bin/sh\necho hi\n")
    os.chmod(noexec, 0o644)
    missing = os.path.join(d, UNIQUE + "_missing")
    return d, marker, noexec, missing


def try_exec(argv):
    try:
        p = subprocess.Popen(argv)
        p.wait()
        return p.pid
    except OSError:
        return None


def events(kt):
    return kt.records("event")


def stream_json(marker, noexec, missing):
    me = os.getpid()
    kt = Ktrace("exec", "-j", "--ppid", me)
    hostile = "nl\nesc\x1b[31mq'\"end"
    p = subprocess.Popen([marker, "arg-" + UNIQUE, "two words", hostile])
    p.wait()
    try_exec([missing, "m-" + UNIQUE])
    try_exec([noexec])
    th = subprocess.Popen([workload("execer"), "thread", marker, "thread-" + UNIQUE],
                          stdout=subprocess.PIPE, text=True)
    th_out = th.communicate(timeout=30)[0]
    at = subprocess.Popen([workload("execer"), "at", marker, "at-" + UNIQUE])
    at.wait()
    time.sleep(0.5)
    rc = kt.stop()
    check(rc == 0, "ktrace exec -j exits 0 on SIGINT", kt.stderr())
    check_no_leak(kt)
    ev = events(kt)
    meta = kt.records("meta")
    check(meta and meta[0]["subcommand"] == "exec", "first record is meta")
    mine = [e for e in ev if e["ppid"] == me]
    check(all(e["ppid"] == me for e in ev), "-P keeps only children of the test", ev[:3])

    ok = [e for e in mine if e["pid"] == p.pid]
    check(len(ok) == 1, "marker exec seen once with its pid", mine)
    if ok:
        e = ok[0]
        check(e["ret"] == 0 and e["errno"] is None, "marker: ret 0, errno null", e)
        check(e["uid"] == os.getuid(), "marker: uid", e)
        check(e["comm"] == os.path.basename(marker)[:15], "marker: comm is the new image's", e)
        check(e["args"] == [marker, "arg-" + UNIQUE, "two words", hostile],
              "marker: argv (path first) round-trips exactly, hostile bytes included", e["args"])
        check(e["args_truncated"] is False, "marker: not truncated", e)
        check(e["syscall"] == "execve" and e["path"] == marker, "marker: execve, path", e)
        check(isinstance(e["pid"], int) and isinstance(e["ret"], int), "numbers are numbers", e)

    def fail_of(path):
        return [e for e in mine if e["args"] and e["args"][0] == path]

    m = fail_of(missing)
    check(len(m) >= 1 and m[0]["ret"] == -2 and m[0]["errno"] == "ENOENT" and m[0]["errno_raw"] == 2,
          "missing file: ret -2 ENOENT", m)
    if m:
        check(m[0]["args"] == [missing, "m-" + UNIQUE], "missing file: argv from the caller's memory", m)
        check(m[0]["comm"] != os.path.basename(missing)[:15], "failure: comm is the caller's", m)
    n = fail_of(noexec)
    check(len(n) >= 1 and n[0]["errno"] == "EACCES" and n[0]["ret"] == -13,
          "mode 644 file: EACCES", n)

    t = [e for e in mine if e["args"][:1] == [marker] and "thread-" + UNIQUE in e["args"]]
    check(len(t) == 1, "exec from a non-leader thread is reported", (th_out, mine))
    if t:
        e = t[0]
        check(e["pid"] == th.pid, "thread exec: pid is the process id (%d)" % th.pid, e)
        check(e["tid"] != th.pid and ("tid %d " % e["tid"]) in th_out,
              "thread exec: tid is the calling thread's", (e, th_out))
        check(e["comm"] == os.path.basename(marker)[:15] and e["ret"] == 0,
              "thread exec: new comm, ret 0", e)
        check(e["args"] == [marker, "thread-" + UNIQUE], "thread exec: argv", e)

    a = [e for e in mine if e["args"][:1] == [marker] and "at-" + UNIQUE in e["args"]]
    check(len(a) == 1 and a[0]["syscall"] == "execveat" and a[0]["pid"] == at.pid and a[0]["ret"] == 0,
          "execveat seen with its pid", a)
    lost = kt.records("lost")
    check(lost and lost[-1]["total"] == 0, "final lost record, nothing lost", lost)


def fails_only(marker, noexec, missing):
    me = os.getpid()
    kt = Ktrace("exec", "-x", "-j", "--ppid", me)
    subprocess.run([marker, "x-" + UNIQUE])
    try_exec([missing])
    try_exec([noexec])
    time.sleep(0.5)
    kt.stop()
    check_no_leak(kt)
    ev = events(kt)
    check(ev and all(e["ret"] < 0 for e in ev), "-x: only failures", ev)
    errs = sorted(e["errno"] for e in ev if e["args"][0] in (missing, noexec))
    check(errs == ["EACCES", "ENOENT"], "-x: ENOENT and EACCES", ev)


def text_mode(marker, missing):
    me = os.getpid()
    kt = Ktrace("exec", "--ppid", me, "--print-uid", "--elapsed")
    p = subprocess.Popen([marker, "txt-" + UNIQUE, "a\nb\x1b[31mc"])
    p.wait()
    try_exec([missing, "txt2-" + UNIQUE])
    time.sleep(0.5)
    kt.stop()
    check_no_leak(kt)
    out = kt.stdout_bytes()
    check(b"\x1b" not in out, "text: no raw ESC byte", out)
    lines = out.decode().splitlines()
    check(lines and lines[0].split()[:4] == ["TIME(s)", "UID", "PCOMM", "PID"], "text header", lines[:1])
    hit = [l for l in lines if "txt-" + UNIQUE in l]
    check(len(hit) == 1 and "a\\nb\\x1b[31mc" in hit[0] and " %d " % p.pid in hit[0] and "root" in hit[0],
          "text: escaped argument on one line with pid and user", lines)
    miss = [l for l in lines if "txt2-" + UNIQUE in l]
    check(len(miss) == 1 and "ENOENT" in miss[0], "text: RET shows ENOENT", lines)


def summary(marker, n=5, env=None):
    me = os.getpid()
    d = os.path.dirname(marker)
    garbage = os.path.join(d, UNIQUE + "_garbage")
    with open(garbage, "wb") as f:
        f.write(b"\x00\x01not an executable\n")
    os.chmod(garbage, 0o755)
    kt = Ktrace("exec", "--summary", "--ppid", me, "-j", env=env)
    for i in range(n):
        subprocess.run([marker, "s%d" % i])
    # three errors from one caller (comm python3) and one parent
    try_exec([os.path.join(d, UNIQUE + "_missing")])
    try_exec([os.path.join(d, UNIQUE + ".sh")])
    try_exec([garbage])
    time.sleep(0.5)
    rc = kt.stop()
    check(rc == 0, "--summary exits 0", kt.stderr())
    check_no_leak(kt)
    tables = {t["name"]: t["rows"] for t in kt.records("table")}
    comm = os.path.basename(marker)[:15]
    cm = [r for r in tables.get("exec_commands", []) if r["comm"] == comm]
    check(len(cm) == 1 and cm[0]["execs"] == n and cm[0]["failed"] == 0 and cm[0]["parents"] == 1,
          "--summary: %d execs of the marker from 1 parent" % n, tables.get("exec_commands"))
    par = [r for r in tables.get("exec_parents", []) if r["ppid"] == me]
    check(len(par) == 1 and par[0]["execs"] == n + 3 and par[0]["exits"] == n + 3 and par[0]["forks"] == n + 3,
          "--summary: parent has %d forks, execs and exits" % (n + 3), tables.get("exec_parents"))
    tot = tables.get("exec_totals", [{}])[0]
    check(tot.get("execs") == n + 3 and tot.get("failed") == 3 and tot.get("exits") == n + 3,
          "--summary totals", tot)
    caller = [r for r in tables.get("exec_commands", []) if r["failed"] == 3]
    check(len(caller) == 1 and caller[0]["execs"] == 3 and caller[0]["parents"] == 1,
          "--summary: three failures of one command from one parent count one parent", caller)
    errs = {r["errno"]: r["count"] for r in tables.get("exec_failures", [])}
    check(errs == {"ENOENT": 1, "EACCES": 1, "ENOEXEC": 1}, "--summary: failures by errno", errs)
    h = kt.records("hist")
    check(len(h) == 1 and sum(b["count"] for b in h[0]["buckets"]) == n + 3 and h[0]["unit"] == "msecs",
          "--summary: lifetime histogram of %d processes in msecs" % (n + 3), h)


def summary_intervals(marker, n=6):
    me = os.getpid()
    kt = Ktrace("exec", "-c", "1", "--ppid", me, "-j")
    for i in range(n):
        subprocess.run([marker, "i%d" % i])
        time.sleep(0.4)
    time.sleep(1.2)
    kt.stop()
    check_no_leak(kt)
    totals = [t["rows"][0] for t in kt.records("table") if t["name"] == "exec_totals"]
    check(len(totals) >= 2, "--summary 1: one table set per interval", totals)
    check(sum(t["execs"] for t in totals) == n and sum(t["exits"] for t in totals) == n,
          "--summary 1: intervals add up to %d execs and exits" % n, totals)
    # text mode prints the tables
    kt = Ktrace("exec", "--summary", "--ppid", me)
    subprocess.run([marker, "t"])
    time.sleep(0.3)
    kt.stop()
    check_no_leak(kt)
    out = kt.stdout()
    check("Top parents" in out and "msecs" in out and os.path.basename(marker)[:15] in out,
          "--summary text: tables and histogram", out)


# A child that renames itself before each failing execve: every attempt is a
# new (comm, ppid, uid, errno) key of --summary's command table.
MANY_NAMES = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for i in range(int(sys.argv[1])):
    libc.prctl(15, b"kt%05d" % i, 0, 0, 0)  # PR_SET_NAME
    try:
        os.execv("/nonexistent-kt", ["x"])
    except OSError:
        pass
"""


def summary_overflow(n=17000):
    """--summary says in its own words what its kernel tables could not count, and what helps."""
    me = os.getpid()
    kt = Ktrace("exec", "--summary", "--ppid", me)
    subprocess.run([sys.executable, "-c", MANY_NAMES, str(n)], check=True)
    time.sleep(0.3)
    check(kt.stop() == 0, "--summary overflow: exits 0", kt.stderr())
    err = kt.stderr()
    m = re.search(r"^ktrace: counted (\d+) execs, forks and exits in the kernel; (\d+) not counted$",
                  err, re.M)
    counted, lost = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    # n failed execs, and the child's fork, exec (of python) and exit
    check(m and lost >= n - 16384 and counted + lost == n + 3,
          "--summary: 'counted N execs, forks and exits in the kernel; M not counted' adds up to "
          "%d (counted %d, not counted %d)" % (n + 3, counted, lost), err[-2000:])
    check(re.search(r"execs, forks and exits not counted \(the kernel's count tables "
                    r"\(\d+ commands, \d+ parents\) were full; \d+ in total\): print and empty "
                    r"them more often \(-i SECONDS\)", err),
          "--summary: the warning names the full count tables and the option that helps", err[-2000:])
    check("--buffer" not in err and "events" not in err,
          "--summary: no stream wording (events, --buffer)", err[-2000:])
    check_no_leak(kt)


def user_filters(marker):
    me = os.getpid()
    kt = Ktrace("exec", "-j", "--ppid", me, "-n", UNIQUE[:6], "-l", "l-" + UNIQUE, "-u", os.getuid())
    subprocess.run([marker, "l-" + UNIQUE])
    subprocess.run([marker, "other"])
    subprocess.run(["/bin/true", "l-" + UNIQUE])
    time.sleep(0.3)
    kt.stop()
    check_no_leak(kt)
    ev = events(kt)
    check(len(ev) == 1 and ev[0]["args"] == [marker, "l-" + UNIQUE], "-n and -l select one exec", ev)
    kt = Ktrace("exec", "-j", "--ppid", me, "-u", os.getuid() + 4242)
    subprocess.run([marker, "u"])
    time.sleep(0.3)
    kt.stop()
    check_no_leak(kt)
    check(not events(kt), "-u of another user: nothing", events(kt))


def cgroup_filter(marker):
    base = "/sys/fs/cgroup/unified"
    if not os.path.isdir(base) or not os.path.exists(os.path.join(base, "cgroup.procs")):
        check(True, "no cgroup-v2 hierarchy: -c not tested")
        return
    cg = os.path.join(base, UNIQUE + "_exec")
    os.mkdir(cg)
    at_exit(lambda: os.rmdir(cg))
    kt = Ktrace("exec", "-j", "--cgroup", cg)
    subprocess.run(in_cgroup(cg, [marker, "in-" + UNIQUE]))
    subprocess.run([marker, "out-" + UNIQUE])
    time.sleep(0.3)
    kt.stop()
    check_no_leak(kt)
    ev = events(kt)
    check([e["args"] for e in ev] == [[marker, "in-" + UNIQUE]], "--cgroup: only the exec inside the cgroup", ev)


def truncation(marker, missing):
    me = os.getpid()
    kt = Ktrace("exec", "-j", "--ppid", me, "--max-args", "3")
    p = subprocess.Popen([marker, "t1-" + UNIQUE, "t2", "t3", "t4"])
    p.wait()
    try_exec([missing, "f1-" + UNIQUE, "f2", "f3"])
    try_exec([missing, "long-" + UNIQUE, "x" * 2000])
    time.sleep(0.5)
    kt.stop()
    check_no_leak(kt)
    ev = events(kt)
    ok = [e for e in ev if e["pid"] == p.pid]
    check(len(ok) == 1 and ok[0]["args"] == [marker, "t1-" + UNIQUE, "t2"] and ok[0]["args_truncated"],
          "--max-args 3 on success: path + 2 arguments, truncated", ok)
    f = [e for e in ev if "f1-" + UNIQUE in e["args"]]
    check(len(f) == 1 and f[0]["args"] == [missing, "f1-" + UNIQUE, "f2"] and f[0]["args_truncated"],
          "--max-args 3 on failure: path + 2 arguments, truncated", f)
    lg = [e for e in ev if "long-" + UNIQUE in e["args"]]
    check(len(lg) == 1 and lg[0]["args_truncated"] and lg[0]["args"][2] == "x" * 511,
          "a failed exec's long argument is cut at 511 bytes and flagged", [(len(a), a[:20]) for e in lg for a in e["args"]])


def raw_tp(marker):
    """The raw_tp fallbacks of sched_process_exec/fork/exit (tp_btf is preferred here)."""
    me = os.getpid()
    kt = Ktrace("exec", "-j", "--ppid", me, env={"KTRACE_ATTACH": "raw_tp"})
    th = subprocess.Popen([workload("execer"), "thread", marker, "raw-" + UNIQUE], stdout=subprocess.PIPE)
    th.communicate(timeout=30)
    time.sleep(0.3)
    kt.stop()
    check_no_leak(kt)
    att = {a["hook"]: a["type"] for a in kt.records("meta")[0]["attach"]}
    check(att.get("process_exec") == "raw_tp", "KTRACE_ATTACH=raw_tp: sched_process_exec as raw_tp", att)
    t = [e for e in events(kt) if e["args"][:1] == [marker]]
    check(len(t) == 1 and t[0]["pid"] == th.pid and t[0]["args"] == [marker, "raw-" + UNIQUE],
          "raw_tp: thread exec with the right pid and argv", t)
    summary(marker, n=3, env={"KTRACE_ATTACH": "raw_tp"})


def usage():
    r = run_ktrace("exec", "--bogus")
    check(r.returncode == 2, "exec --bogus exits 2", r.stderr)
    r = run_ktrace("exec", "--max-args", "0")
    check(r.returncode == 2, "exec --max-args 0 exits 2", r.stderr)
    r = run_ktrace("exec", "--cgroup", "/nonexistent")
    check(r.returncode == 2, "exec --cgroup /nonexistent exits 2", r.stderr)


def test():
    d, marker, noexec, missing = setup()
    usage()
    stream_json(marker, noexec, missing)
    fails_only(marker, noexec, missing)
    text_mode(marker, missing)
    user_filters(marker)
    cgroup_filter(marker)
    truncation(marker, missing)
    summary(marker)
    summary_intervals(marker)
    summary_overflow()
    raw_tp(marker)


if __name__ == "__main__":
    main(test)
