#!/usr/bin/env python3
"""Least privilege: every command run as an unprivileged uid with exactly the
capability set README.md documents (its setpriv line, read from the README),
each seeing an event the test provokes; with less, the error names the
missing capability; `check` run the same way judges these credentials, not
root's, in JSON Lines (meta first, summary last); exec and open fall back to
the raw sys_enter/sys_exit tracepoints when tracefs cannot be read, and a mix
of the two kinds of hook (forced with KTRACE_ATTACH) reports each call once."""
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time

from ktlib import (UNIQUE, Ktrace, at_exit, check, check_no_leak, main, run_ktrace, skip,
                   workload)

SOURCE = os.environ.get("KT_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))


def documented_prefix():
    """The README's non-root example, up to (not including) `ktrace`."""
    with open(os.path.join(SOURCE, "README.md")) as f:
        for line in f:
            words = shlex.split(line.strip())
            if words[:1] == ["setpriv"] and "ktrace" in words:
                return words[:words.index("ktrace")]
    raise AssertionError("README.md has no `setpriv ... ktrace` example")


def with_caps(prefix, caps):
    """prefix with its --inh-caps/--ambient-caps lists replaced by caps ("+bpf")."""
    out = []
    for w in prefix:
        if w.startswith("--inh-caps") or w.startswith("--ambient-caps"):
            continue
        out.append(w)
    return [out[0], "--inh-caps", caps, "--ambient-caps", caps] + out[1:] if caps else out


def strip_caps_values(prefix):
    """setpriv takes `--inh-caps LIST` as two words: join them for with_caps()."""
    out, i = [], 0
    while i < len(prefix):
        w = prefix[i]
        if w in ("--inh-caps", "--ambient-caps") and i + 1 < len(prefix):
            out.append(w + "=" + prefix[i + 1])
            i += 2
            continue
        out.append(w)
        i += 1
    return out


def records(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def attach_of(recs):
    meta = [r for r in recs if r.get("type") == "meta"]
    return {a["hook"]: a["type"] for a in meta[0]["attach"]} if meta else {}


def jsonl_shape(recs, what):
    check(recs and recs[0].get("type") == "meta" and recs[-1].get("type") == "summary",
          what + ": JSON Lines with meta first and summary last",
          [r.get("type") for r in recs][:20])


def test_check(user):
    r = run_ktrace("check", "-j", user=user, timeout=120)
    recs = records(r.stdout)
    check(r.returncode == 0, "check -j as the documented user: exit 0 (every command can run)",
          (r.returncode, r.stderr[-2000:]))
    jsonl_shape(recs, "check -j")
    tables = {x.get("name"): x for x in recs if x.get("type") == "table"}
    env = {row["item"]: row["value"] for row in tables.get("environment", {}).get("rows", [])}
    check(env.get("privileges") == "CAP_BPF and CAP_PERFMON",
          "check: privileges are the credentials it runs with, not root's", env)
    check("not readable" in env.get("tracefs", ""), "check: tracefs is mounted but not readable",
          env.get("tracefs"))
    cmds = {row["cmd"]: row for row in tables.get("commands", {}).get("rows", [])}
    check(set(cmds) >= {"exec", "open", "biolat", "runqlat", "offcpu", "profile", "tcpretrans",
                        "oom"}, "check: a verdict for every command", sorted(cmds))
    check(all(c["status"] in ("ok", "limited") for c in cmds.values()),
          "check: no command fails with CAP_BPF and CAP_PERFMON", cmds)
    lim = cmds.get("profile", {})
    if lim.get("status") == "limited":
        check(lim.get("add_caps") and all(c.startswith("CAP_") for c in lim["add_caps"])
              and lim.get("why"), "check: a limited command names the capabilities to add", lim)
    hooks = tables.get("hooks", {}).get("rows", [])
    ex = {h["hook"]: h["chosen"] for h in hooks if h["cmd"] == "exec"}
    check(ex.get("sys_enter_execve") == "raw_tp" and ex.get("sys_exit_execve") == "raw_tp",
          "check: exec's syscall hooks fall back to raw_tp without tracefs access", ex)

    # the same as root: the syscall tracepoints, and nothing limited
    r = run_ktrace("check", "-j", timeout=120)
    recs = records(r.stdout)
    tables = {x.get("name"): x for x in recs if x.get("type") == "table"}
    hooks = tables.get("hooks", {}).get("rows", [])
    ex = {h["hook"]: h["chosen"] for h in hooks if h["cmd"] == "exec"}
    check(r.returncode == 0 and ex.get("sys_enter_execve") == "tracepoint",
          "check as root: exec prefers the syscall tracepoints", (r.returncode, ex))
    cmds = {row["cmd"]: row for row in tables.get("commands", {}).get("rows", [])}
    check(cmds and all(c["status"] == "ok" for c in cmds.values()),
          "check as root: every command ok", cmds)

    # with CAP_DAC_READ_SEARCH the user can read tracefs: the tracepoints again
    r = run_ktrace("check", "-j", user=with_caps(user, "+bpf,+perfmon,+dac_read_search"),
                   timeout=120)
    tables = {x.get("name"): x for x in records(r.stdout) if x.get("type") == "table"}
    ex = {h["hook"]: h["chosen"] for h in tables.get("hooks", {}).get("rows", [])
          if h["cmd"] == "exec"}
    check(ex.get("sys_enter_execve") == "tracepoint",
          "check with CAP_DAC_READ_SEARCH too: exec uses the syscall tracepoints", ex)


def test_exec(user, d):
    marker = os.path.join(d, UNIQUE + "pv")
    shutil.copy("/bin/true", marker)
    os.chmod(marker, 0o755)
    missing = os.path.join(d, UNIQUE + "_nothere")
    kt = Ktrace("exec", "-j", user=user)
    subprocess.run([marker, "priv-" + UNIQUE])
    try:
        subprocess.run([missing, "m-" + UNIQUE])
    except OSError:
        pass
    subprocess.run([workload("execer"), "at", marker, "at-" + UNIQUE])
    time.sleep(0.5)
    rc = kt.stop()
    check(rc == 0, "exec as the documented user: exit 0", kt.stderr()[-2000:])
    recs = kt.records()
    jsonl_shape(recs, "exec")
    att = attach_of(recs)
    check(att.get("sys_enter_execve") == "raw_tp" and att.get("sys_exit_execve") == "raw_tp",
          "exec: syscall hooks attached as raw_tp (no tracefs access)", att)
    ev = [e for e in recs if e.get("type") == "event"]
    ok = [e for e in ev if e.get("path") == marker and e["syscall"] == "execve"]
    check(len(ok) == 1 and ok[0]["ret"] == 0 and ok[0]["args"] == [marker, "priv-" + UNIQUE],
          "exec: the marker's exec seen once, with its argv", ok or ev[-5:])
    at = [e for e in ev if e.get("path") == marker and e["syscall"] == "execveat"]
    check(len(at) == 1 and at[0]["args"] == [marker, "at-" + UNIQUE],
          "exec: execveat through raw_tp seen once", at or ev[-5:])
    bad = [e for e in ev if e.get("path") == missing]
    check(len(bad) == 1 and bad[0]["errno"] == "ENOENT" and bad[0]["args"] == [missing, "m-" + UNIQUE],
          "exec: the failed exec (ENOENT) seen once, argv from the caller", bad or ev[-5:])
    check_no_leak(kt)


def test_open(user, d):
    present = os.path.join(d, "present")
    with open(present, "w") as f:
        f.write("x")
    absent = os.path.join(d, "absent")
    kt = Ktrace("open", "-j", "--path", d + "/", user=user)
    opens = workload("opens")
    subprocess.run([opens, "at", present], capture_output=True)
    subprocess.run([opens, "at", absent], capture_output=True)
    subprocess.run([opens, "at2", present], capture_output=True)
    subprocess.run([opens, "sysopen", absent], capture_output=True)
    time.sleep(0.5)
    rc = kt.stop()
    check(rc == 0, "open as the documented user: exit 0", kt.stderr()[-2000:])
    recs = kt.records()
    jsonl_shape(recs, "open")
    att = attach_of(recs)
    check(att.get("sys_enter_openat") == "raw_tp", "open: syscall hooks attached as raw_tp", att)
    ev = [(e["syscall"], e["path"], e["errno"]) for e in recs if e.get("type") == "event"]
    want = [("openat", present, None), ("openat", absent, "ENOENT"), ("openat2", present, None),
            ("open", absent, "ENOENT")]
    check(sorted(ev) == sorted(want), "open: each call seen once with its syscall and result",
          ev)
    check_no_leak(kt)


def test_summaries(user, d):
    # biolat: direct writes to a file on / reach the disk
    kt = Ktrace("biolat", "-j", user=user)
    f = os.path.join("/var/tmp", UNIQUE + ".dio")
    at_exit(lambda: os.path.exists(f) and os.unlink(f))
    subprocess.run(["dd", "if=/dev/zero", "of=" + f, "bs=4k", "count=64", "oflag=direct",
                    "status=none"], check=True)
    time.sleep(0.3)
    rc = kt.stop()
    recs = kt.records()
    n = sum(h.get("count", 0) for h in recs if h.get("type") == "hist")
    check(rc == 0 and n >= 64, "biolat as the documented user: >= 64 I/Os counted (%d)" % n,
          kt.stderr()[-2000:])
    jsonl_shape(recs, "biolat")

    kt = Ktrace("runqlat", "-j", user=user)
    subprocess.run(["taskset", "-c", "0", workload("spinner"), "0.3"])
    rc = kt.stop()
    recs = kt.records()
    n = sum(h.get("count", 0) for h in recs if h.get("type") == "hist")
    check(rc == 0 and n > 0, "runqlat as the documented user: wakeups measured (%d)" % n,
          kt.stderr()[-2000:])

    for cmd, load in (("offcpu", [workload("napper"), "5", "50000"]),
                      ("profile", [workload("spinner"), "0.5"])):
        kt = Ktrace(cmd, "-j", user=user)
        subprocess.run(load)
        rc = kt.stop()
        recs = kt.records()
        st = [r for r in recs if r.get("type") == "stacks"]
        check(rc == 0 and st, "%s as the documented user: stacks reported (%d)" % (cmd, len(st)),
              kt.stderr()[-2000:])
        jsonl_shape(recs, cmd)

    for cmd in ("tcpretrans", "oom"):
        r = run_ktrace(cmd, "-j", "-d", "1", user=user, timeout=60)
        recs = records(r.stdout)
        check(r.returncode == 0 and recs and recs[-1].get("stopped_by") == "duration",
              "%s as the documented user: attaches and ends by itself" % cmd,
              (r.returncode, r.stderr[-2000:]))
        att = attach_of(recs)
        check(att and all(t in ("tp_btf", "raw_tp", None) for t in att.values()),
              "%s: attached without tracefs (tp_btf or raw_tp)" % cmd, att)


def test_less(user):
    # each half of the pair alone is refused, naming what is missing
    for caps, missing in (("+bpf", "CAP_PERFMON"), ("+perfmon", "CAP_BPF")):
        r = run_ktrace("biolat", "1", "1", user=with_caps(user, caps))
        check(r.returncode == 1 and "missing: %s;" % missing in r.stderr,
              "only %s: exit 1 naming %s" % (caps, missing), r.stderr)
    r = run_ktrace("check", user=with_caps(user, "+bpf"))
    check(r.returncode == 1 and "fails" in r.stdout and "CAP_PERFMON" in r.stdout,
          "check with CAP_BPF only: commands fail, CAP_PERFMON to add", r.stdout[-1500:])
    # a forced alternative the credentials cannot use names the capability it needs
    r = run_ktrace("exec", "-d", "1", user=user,
                   env={"KTRACE_ATTACH": "sys_enter_execve=tracepoint"})
    check(r.returncode == 1 and "CAP_DAC_READ_SEARCH" in r.stderr
          and "hook sys_enter_execve cannot be attached" in r.stderr,
          "forced syscall tracepoint without tracefs access: exit 1 naming CAP_DAC_READ_SEARCH",
          r.stderr)


def test_mixed(d):
    """As root, one hook of a call on raw_tp and its partner on the tracepoint."""
    marker = os.path.join(d, UNIQUE + "mx")
    shutil.copy("/bin/true", marker)
    os.chmod(marker, 0o755)
    kt = Ktrace("exec", "-j", env={"KTRACE_ATTACH": "sys_enter_execve=raw_tp"})
    subprocess.run([marker, "mixed"])
    time.sleep(0.3)
    kt.stop()
    recs = kt.records()
    att = attach_of(recs)
    ok = [e for e in recs if e.get("type") == "event" and e.get("path") == marker]
    check(att.get("sys_enter_execve") == "raw_tp" and att.get("sys_exit_execve") == "tracepoint"
          and att.get("sys_enter_execveat") == "tracepoint",
          "KTRACE_ATTACH=sys_enter_execve=raw_tp: only that hook is raw_tp", att)
    check(len(ok) == 1, "mixed exec hooks: the marker's exec once", ok)

    present = os.path.join(d, "mixed-present")
    open(present, "w").close()
    kt = Ktrace("open", "-j", "--path", present,
                env={"KTRACE_ATTACH": "sys_enter_openat=raw_tp,sys_exit_openat=raw_tp"})
    opens = workload("opens")
    subprocess.run([opens, "at", present], capture_output=True)
    subprocess.run([opens, "at2", present], capture_output=True)
    time.sleep(0.3)
    kt.stop()
    recs = kt.records()
    att = attach_of(recs)
    ev = sorted(e["syscall"] for e in recs if e.get("type") == "event")
    check(att.get("sys_enter_openat") == "raw_tp" and att.get("sys_enter_openat2") == "tracepoint",
          "open: openat on raw_tp, openat2 on its tracepoint", att)
    check(ev == ["openat", "openat2"], "mixed open hooks: each call once", ev)


def test():
    if not shutil.which("setpriv"):
        skip("setpriv not installed (apt-get install util-linux)")
    user = strip_caps_values(documented_prefix())
    check(any(w.startswith("--reuid=") for w in user) and "--clear-groups" in user,
          "README's example really drops uid 0 and the groups", user)
    d = tempfile.mkdtemp(prefix="kt-priv-")
    at_exit(shutil.rmtree, d, True)
    os.chmod(d, 0o755)
    r = run_ktrace("--help", user=user)
    if r.returncode != 0:
        skip("the unprivileged user cannot run %s (%s)" % (os.environ.get("KTRACE"), r.stderr[:200]))
    test_check(user)
    test_exec(user, d)
    test_open(user, d)
    test_summaries(user, d)
    test_less(user)
    test_mixed(d)


main(test)
