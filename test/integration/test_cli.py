#!/usr/bin/env python3
"""The command line: help, version, usage errors (exit 2), runtime errors
(exit 1) with clear messages, privileges, missing BTF, and `check`."""
import json
import os
import re
import subprocess
import tempfile
import time

from ktlib import KTRACE, check, main, nobody, run_ktrace


def expect(args, rc, what, stderr_has=None, user=None, stdout_has=None):
    r = run_ktrace(*args, user=user, timeout=60)
    ok = r.returncode == rc
    if stderr_has:
        ok = ok and stderr_has in r.stderr
    if stdout_has:
        ok = ok and stdout_has in r.stdout
    check(ok, "%s: exit %d%s" % (what, rc, ", says '%s'" % stderr_has if stderr_has else ""),
          "rc=%d\nstdout=%s\nstderr=%s" % (r.returncode, r.stdout[:800], r.stderr[:800]))
    check("Segmentation" not in r.stderr and "Aborted" not in r.stderr and r.returncode >= 0,
          "%s: no crash" % what)
    return r


def test():
    r = expect(["--version"], 0, "--version", stdout_has="ktrace ")
    r = expect(["--help"], 0, "--help", stdout_has="Commands:")
    for cmd in ("check", "biolat"):
        check(("  %s " % cmd) in r.stdout, "--help lists %s" % cmd)
    expect([], 2, "no command", stderr_has="Usage")
    expect(["nosuch"], 2, "unknown command", stderr_has="unknown command 'nosuch'")
    expect(["biolatt"], 2, "typo", stderr_has="did you mean 'biolat'")
    expect(["-j", "biolat"], 2, "option before the command", stderr_has="options go after it")
    r = expect(["help", "biolat"], 0, "help biolat", stdout_has="Examples:")
    r2 = expect(["biolat", "--help"], 0, "biolat --help", stdout_has="--milliseconds")
    check(r.stdout == r2.stdout, "help CMD and CMD --help say the same")
    expect(["help", "nosuch"], 2, "help nosuch", stderr_has="unknown command")

    # usage errors: exit 2, before anything is loaded
    expect(["biolat", "--bogus"], 2, "unknown option", stderr_has="unrecognized option")
    expect(["biolat", "0"], 2, "zero interval", stderr_has="invalid interval")
    expect(["biolat", "abc"], 2, "non-numeric interval", stderr_has="invalid interval")
    expect(["biolat", "1", "0"], 2, "zero count", stderr_has="invalid value for count")
    expect(["biolat", "1", "2", "3"], 2, "too many arguments", stderr_has="unexpected argument")
    expect(["biolat", "-b", "nosuchdisk"], 2, "unknown disk", stderr_has="no block device named")
    expect(["biolat", "-b", "../../etc"], 2, "disk name with a path", stderr_has="no block device")
    expect(["biolat", "--cgroup", "/nonexistent"], 2, "bad cgroup", stderr_has="--cgroup /nonexistent")
    expect(["biolat", "--cgroup", "/proc"], 2, "not a cgroup", stderr_has="not a cgroup-v2 directory")
    expect(["biolat", "-o", "/nonexistent/dir/out", "1", "1"], 1, "unwritable output",
           stderr_has="-o /nonexistent/dir/out: cannot open the file for writing: No such file or directory")

    # a process filter naming no process is a usage error, not an empty trace
    p = subprocess.Popen(["true"])
    p.wait()
    for args in (["open", "-p"], ["open", "-t"], ["exec", "--ppid"], ["exec", "-p"], ["tcpretrans", "-p"],
                 ["runqlat", "-p"], ["offcpu", "-p"], ["offcpu", "-t"], ["profile", "-p"],
                 ["profile", "-t"], ["runqlat", "-t"]):
        expect(args + [str(p.pid)], 2, "%s of a process that is gone" % " ".join(args),
               stderr_has="%s %d: no such process" % (args[1], p.pid))

    # -d/--duration: every tracing command stops by itself and says why
    for cmd in ("exec", "open", "tcpretrans", "oom", "biolat", "runqlat", "offcpu", "profile"):
        r = run_ktrace(cmd, "-j", "-d", "1", timeout=30)
        last = json.loads(r.stdout.splitlines()[-1]) if r.stdout.strip() else {}
        check(r.returncode == 0 and last.get("type") == "summary"
              and last.get("stopped_by") == "duration", "%s -d 1 stops by itself" % cmd,
              (r.returncode, r.stderr[-300:], last))
    expect(["exec", "-d", "0"], 2, "exec -d 0", stderr_has="invalid --duration")
    # -i/--interval is the positional interval: giving two different ones is a usage error
    expect(["runqlat", "-i", "2", "3"], 2, "-i 2 with interval 3", stderr_has="two different intervals")
    expect(["check", "-d", "1"], 2, "check has no --duration", stderr_has="invalid option")

    # privileges: nobody without capabilities gets the clear message and exit 1
    expect(["biolat", "1", "1"], 1, "non-root", user=nobody(),
           stderr_has="ktrace needs root or CAP_BPF and CAP_PERFMON")
    r = expect(["check"], 1, "check as non-root", user=nobody(),
               stderr_has="ktrace needs root or CAP_BPF and CAP_PERFMON")
    check("privileges" in r.stdout and "none" in r.stdout, "check reports missing privileges")

    # no BTF: hide /sys/kernel/btf in a private mount namespace
    r = subprocess.run(["unshare", "-m", "sh", "-c",
                        "mount -t tmpfs none /sys/kernel/btf && exec \"$0\" biolat 1 1", KTRACE],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "kernel BTF not found" in r.stderr,
          "missing BTF: exit 1 with a clear message", r.stderr)

    # no tracefs: in a private mount namespace with every tracefs mount gone,
    # `open` (syscall tracepoints, which need tracefs for their ids) mounts
    # it itself and still sees the marker's open
    mark = "/tmp/kt-tracefs-%d-%d" % (os.getpid(), int(time.time()))
    script = r'''
umount -l /sys/kernel/debug/tracing 2>/dev/null; umount -l /sys/kernel/tracing 2>/dev/null
while grep -q " tracefs " /proc/self/mounts; do
    umount -l "$(awk '$3 == "tracefs" {print $2; exit}' /proc/self/mounts)" || exit 3
done
"$0" open -v -j --path "$1" -d 20 >"$2.out" 2>"$2.err" &
for i in $(seq 200); do grep -q "Hit Ctrl-C" "$2.err" && break; sleep 0.05; done
cat "$1" 2>/dev/null
kill -INT $! && wait $!
'''
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, KTRACE,
                        mark, mark], capture_output=True, text=True, timeout=60)
    out = err = ""
    for ext in ("out", "err"):
        try:
            with open("%s.%s" % (mark, ext)) as f:
                if ext == "out":
                    out = f.read()
                else:
                    err = f.read()
            os.unlink("%s.%s" % (mark, ext))
        except OSError:
            pass
    evs = [x for l in out.splitlines() for x in [json.loads(l)] if x.get("type") == "event"]
    check(r.returncode == 0 and "mounted tracefs" in err, "no tracefs: ktrace mounts it",
          "rc=%d\n%s%s" % (r.returncode, r.stderr, err))
    check(any(e.get("path") == mark and e.get("errno") == "ENOENT" for e in evs),
          "no tracefs: the marker's failed open is still traced", out[:2000])

    # check: text and JSON, every hook has a chosen alternative here
    r = expect(["check"], 0, "check", stdout_has="Attach plans")
    r = expect(["check", "-j"], 0, "check -j")
    recs = [json.loads(l) for l in r.stdout.splitlines()]
    tables = {x.get("name"): x for x in recs if x.get("type") == "table"}
    check("environment" in tables and "hooks" in tables, "check -j: environment and hooks tables")
    hooks = tables.get("hooks", {}).get("rows", [])
    # an optional hook (e.g. tcpretrans --lossprobe's kprobe/fentry-only loss probes) may have none
    check(hooks and all(h["chosen"] or h.get("optional") for h in hooks),
          "check -j: every required hook has a choice", hooks)
    bio = {h["hook"]: h["chosen"] for h in hooks if h["cmd"] == "biolat"}
    check(bio.get("rq_issue") == "tp_btf", "check: biolat rq_issue prefers tp_btf", bio)
    r = run_ktrace("check", "-j", env={"KTRACE_ATTACH": "raw_tp"})
    rows = [x for l in r.stdout.splitlines() for x in [json.loads(l)] if x.get("name") == "hooks"]
    bio = {h["hook"]: h["chosen"] for h in rows[0]["rows"] if h["cmd"] == "biolat"} if rows else {}
    check(bio.get("rq_issue") == "raw_tp", "check honours KTRACE_ATTACH=raw_tp", bio)
    # KTRACE_ATTACH items that name nothing real are usage errors listing the valid names
    for val, says in (("bogus", "unknown attach type 'bogus' (valid: fentry, fexit, kprobe, kretprobe, tp_btf, raw_tp, tracepoint, perf_event, uprobe, uretprobe)"),
                      ("rq_issue=kprobe", "hook rq_issue has no kprobe alternative (valid: tp_btf, raw_tp)"),
                      ("nohook=raw_tp", "unknown hook 'nohook' (valid hooks of biolat: rq_insert, rq_issue, rq_merge, rq_complete)"),
                      ("raw_tp,rq_issue=bogus", "unknown attach type 'bogus' (valid for hook rq_issue: tp_btf, raw_tp)")):
        r = run_ktrace("biolat", "1", "1", env={"KTRACE_ATTACH": val})
        check(r.returncode == 2 and says in r.stderr and r.stdout == "",
              "KTRACE_ATTACH=%s: exit 2, says what is valid" % val, (r.returncode, r.stderr))
    r = run_ktrace("check", env={"KTRACE_ATTACH": "oom_kill=bogus"})
    check(r.returncode == 2 and "valid for hook oom_kill: fentry, kprobe, tp_btf, raw_tp, tracepoint" in r.stderr,
          "check: a bad KTRACE_ATTACH is a usage error too", (r.returncode, r.stderr))
    # a bare type is a rule over hooks: one no hook has forces nothing
    r = run_ktrace("biolat", "-j", "1", "1", env={"KTRACE_ATTACH": "kprobe"})
    check(r.returncode == 0, "KTRACE_ATTACH=kprobe (no biolat hook has it): biolat runs", r.stderr)
    # two items for one hook allow either type, in the plan's order
    r = run_ktrace("oom", "-j", "-d", "1", env={"KTRACE_ATTACH": "oom_kill=raw_tp,oom_kill=tracepoint"})
    meta = json.loads(r.stdout.splitlines()[0]) if r.stdout.strip() else {}
    check(r.returncode == 0 and [a.get("type") for a in meta.get("attach", [])] == ["raw_tp"],
          "KTRACE_ATTACH=oom_kill=raw_tp,oom_kill=tracepoint: raw_tp first", (r.stderr, meta))

    # -o FILE: data in the file, nothing on stdout; -T: a time line per interval
    fd, path = tempfile.mkstemp(prefix="kt-out-", suffix=".jsonl")
    os.close(fd)
    r = run_ktrace("biolat", "-j", "-o", path, "1", "1")
    with open(path) as f:
        types = [json.loads(l)["type"] for l in f]
    os.unlink(path)
    check(r.returncode == 0 and r.stdout == "" and types[0] == "meta" and types[-1] == "summary"
          and "hist" in types, "-o FILE gets the records, stdout nothing", (r.stdout, types))
    r = run_ktrace("biolat", "-T", "1", "1")
    check(r.returncode == 0 and re.search(r"^\d\d:\d\d:\d\d\.\d\d\d$", r.stdout, re.M),
          "-T prints the time (HH:MM:SS.mmm) before the interval's histogram", r.stdout)


main(test)
