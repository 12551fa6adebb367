#!/usr/bin/env python3
"""The common filters (-p, -t, -u USER, --cgroup PATH, -n NAME) are declared
once and applied by core and one BPF header: they behave the same in each
command family, on the task each command says they apply to: the task that
opens or calls exec (streams), the task that waits (runqlat), the task that
blocks (offcpu), the task on the CPU (profile)."""
import os
import shutil
import subprocess
import tempfile
import time

import ktlib
from ktlib import check, check_no_leak, Ktrace, at_exit, in_cgroup, nobody, workload

NOBODY = 65534


def held(argv):
    """argv started but held at a shell `read` until released: its pid is known before it runs."""
    p = subprocess.Popen(["sh", "-c", 'read x; exec "$@"', "held"] + list(argv),
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    at_exit(lambda: p.poll() is None and (p.kill(), p.wait()))
    return p


def release(*ps):
    for p in ps:
        p.stdin.write(b"go\n")
        p.stdin.close()
    for p in ps:
        p.wait(60)


def setup():
    """Copies of napper and spinner under names no other task has (the comm filter's target)."""
    d = tempfile.mkdtemp(prefix="ktf")
    at_exit(shutil.rmtree, d, True)
    os.chmod(d, 0o755)
    tag = ktlib.UNIQUE[2:8]
    nap = os.path.join(d, "nap" + tag)
    spin = os.path.join(d, "spin" + tag)
    shutil.copy(workload("napper"), nap)
    shutil.copy(workload("spinner"), spin)
    for f in (nap, spin):
        os.chmod(f, 0o755)
    return nap, spin


def cgroups():
    """A cgroup-v2 directory and one below it, or (None, None)."""
    for base in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        if os.path.exists(os.path.join(base, "cgroup.procs")) and \
                os.path.exists(os.path.join(base, "cgroup.subtree_control")):
            break
    else:
        return None, None
    parent = os.path.join(base, ktlib.UNIQUE + "_filt")
    child = os.path.join(parent, "below")
    os.makedirs(child)
    at_exit(lambda: (os.path.isdir(child) and os.rmdir(child),
                     os.path.isdir(parent) and os.rmdir(parent)))
    return parent, child


def events(kt):
    return kt.records("event")


def open_filters(nap, parent, child):
    name = os.path.basename(nap)
    # -n: by comm, in the kernel; -u: a user name
    kt = Ktrace("open", "-j", "-n", name, "-u", "nobody")
    mine = subprocess.Popen(nobody() + [nap, "1", "1"])
    root = subprocess.Popen([nap, "1", "1"])
    other = subprocess.Popen(nobody() + [workload("napper"), "1", "1"])
    for p in (mine, root, other):
        p.wait(30)
    time.sleep(0.3)
    kt.stop()
    check_no_leak(kt)
    pids = {e["pid"] for e in events(kt)}
    check(pids == {mine.pid}, "open -n NAME -u nobody: only the named command run by nobody",
          (pids, mine.pid, root.pid, other.pid))
    check(all(e["uid"] == NOBODY and e["comm"] == name for e in events(kt)),
          "open -u nobody -n NAME: every event has that uid and comm", events(kt)[:3])
    if not parent:
        return
    # --cgroup: the directory or one below it
    kt = Ktrace("open", "-j", "--cgroup", parent, "-n", name)
    below = subprocess.Popen(in_cgroup(child, [nap, "1", "1"]))
    outside = subprocess.Popen([nap, "1", "1"])
    below.wait(30)
    outside.wait(30)
    time.sleep(0.3)
    kt.stop()
    check_no_leak(kt)
    pids = {e["pid"] for e in events(kt)}
    check(pids == {below.pid}, "open --cgroup PARENT: a task in a cgroup below it counts, "
          "one outside does not", (pids, below.pid, outside.pid))


def exec_filters(nap):
    name = os.path.basename(nap)
    kt = Ktrace("exec", "-j", "-u", "nobody", "-n", name[:5])
    mine = subprocess.Popen(nobody() + [nap, "1", "1"])
    root = subprocess.Popen([nap, "1", "1"])
    other = subprocess.Popen(nobody() + ["/bin/true"])
    for p in (mine, root, other):
        p.wait(30)
    time.sleep(0.3)
    kt.stop()
    check_no_leak(kt)
    got = [(e["pid"], e["comm"]) for e in events(kt)]
    check(got == [(mine.pid, name)],
          "exec -u nobody -n PART: only the exec by nobody whose new comm contains PART", got)
    # -p: the process that calls exec
    p = held([nap, "1", "1"])
    q = held([nap, "1", "1"])
    kt = Ktrace("exec", "-j", "-p", p.pid)
    release(p, q)
    time.sleep(0.3)
    kt.stop()
    check_no_leak(kt)
    got = [e["pid"] for e in events(kt)]
    check(got == [p.pid], "exec -p PID: only that process's exec", (got, p.pid, q.pid))


def runqlat_filters(nap, parent, child):
    name = os.path.basename(nap)
    args = ["runqlat", "-j", "-P", "-n", name]
    if parent:
        args += ["--cgroup", parent]
    mine = held(in_cgroup(child, [nap, "200", "1000"]) if parent else [nap, "200", "1000"])
    other = held([workload("napper"), "200", "1000"])
    kt = Ktrace(*args)
    release(mine, other)
    kt.stop()
    check_no_leak(kt)
    pids = {r["key"].get("pid") for r in kt.records("hist")}
    check(pids == {mine.pid}, "runqlat -P -n NAME%s: only the waits of that task"
          % (" --cgroup PARENT (task below it)" if parent else ""), (pids, mine.pid, other.pid))


def offcpu_filters(nap):
    name = os.path.basename(nap)
    mine = held(nobody() + [nap, "20", "20000"])
    root = held([nap, "20", "20000"])
    kt = Ktrace("offcpu", "-j", "-u", "nobody", "-n", name)
    release(mine, root)
    kt.stop()
    check_no_leak(kt)
    recs = kt.records("stacks")
    pids = {r["pid"] for r in recs}
    check(pids == {mine.pid}, "offcpu -u nobody -n NAME: only the blocks of that task",
          (pids, mine.pid, root.pid))


def profile_filters(spin):
    name = os.path.basename(spin)
    mine = held([spin, "1"])
    other = held([workload("spinner"), "1"])
    kt = Ktrace("profile", "-j", "-F", "199", "-n", name)
    release(mine, other)
    kt.stop()
    check_no_leak(kt)
    recs = kt.records("stacks")
    check(recs and all(r["pid"] == mine.pid and r["comm"] == name for r in recs),
          "profile -n NAME: only samples of that command",
          ({(r["pid"], r["comm"]) for r in recs}, mine.pid, other.pid))
    # -t: one thread (profile's -L in BCC)
    mine = held([spin, "1"])
    kt = Ktrace("profile", "-j", "-F", "199", "-t", mine.pid)
    release(mine)
    kt.stop()
    check_no_leak(kt)
    pids = {r["pid"] for r in kt.records("stacks")}
    check(pids == {mine.pid}, "profile -t TID: only that thread", pids)


def usage():
    for cmd in ("open", "exec", "offcpu", "profile"):
        r = ktlib.run_ktrace(cmd, "-u", "no-such-user-" + ktlib.UNIQUE)
        check(r.returncode == 2 and "no such user" in r.stderr, "%s -u UNKNOWN: usage error" % cmd,
              r.stderr)
    r = ktlib.run_ktrace("runqlat", "-n", "x" * 16)
    check(r.returncode == 2 and "1 to 15 bytes" in r.stderr, "-n longer than a comm: usage error",
          r.stderr)
    r = ktlib.run_ktrace("biolat", "-p", "1")
    check(r.returncode == 2, "a filter the command does not declare is an unknown option", r.stderr)


def test():
    ktlib.require_tool("setpriv", "util-linux")
    nap, spin = setup()
    parent, child = cgroups()
    if not parent:
        ktlib.log("no cgroup-v2 hierarchy: --cgroup parts skipped")
    usage()
    open_filters(nap, parent, child)
    exec_filters(nap)
    runqlat_filters(nap, parent, child)
    offcpu_filters(nap)
    profile_filters(spin)


if __name__ == "__main__":
    ktlib.main(test)
