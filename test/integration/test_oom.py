#!/usr/bin/env python3
"""oom: a memory-cgroup OOM kill, provoked in a cgroup-v1 memory cgroup
limited to 64 MiB: an idle 40 MiB victim, then a hog that allocates 200 MiB.
The OOM killer takes the victim (largest RSS) while the hog's allocation
invoked it; then the hog itself.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktlib
from ktlib import check, check_no_leak, log

MIB_KB = 1024


def named_copy(name):
    """The memhog workload under a unique name, so comm tells victim from hog."""
    d = tempfile.mkdtemp(prefix="kt-oom-", dir="/var/tmp")
    ktlib.at_exit(shutil.rmtree, d, True)
    path = os.path.join(d, name)
    shutil.copy(ktlib.workload("memhog"), path)
    return path


def provoke(cg, victim_bin, hog_bin):
    victim = subprocess.Popen(ktlib.in_cgroup(cg, [victim_bin, "40", "60"]), stdout=subprocess.PIPE, text=True)
    ktlib.at_exit(lambda: victim.poll() is None and victim.kill())
    line = victim.stdout.readline()
    if not line.startswith("ready"):
        raise RuntimeError("victim did not get its 40 MiB: %r" % line)
    hog = subprocess.Popen(ktlib.in_cgroup(cg, [hog_bin, "200"]), stdout=subprocess.DEVNULL)
    ktlib.at_exit(lambda: hog.poll() is None and hog.kill())
    hog.wait(60)
    victim.wait(60)
    log("victim pid %d rc %d, hog pid %d rc %d" % (victim.pid, victim.returncode, hog.pid, hog.returncode))
    return victim, hog


def scenario(cg, vname, hname, victim_bin, hog_bin, attach):
    tag = "[%s] " % (attach or "default")
    env = {"KTRACE_ATTACH": attach} if attach else None

    def tcheck(cond, what, detail=None):
        return check(cond, tag + what, detail)

    kt = ktlib.Ktrace("oom", "-j", "--stack", "--summary", env=env)
    victim, hog = provoke(cg, victim_bin, hog_bin)
    kt.stop()
    meta = kt.records("meta")
    if attach:
        tcheck(meta and meta[0]["attach"][0].get("type") == attach, "attached with " + attach, meta)
    tcheck(kt.rc == 0, "ktrace exited 0", kt.stderr())
    tcheck(victim.returncode == -9, "the victim was killed (SIGKILL)", victim.returncode)
    evs = kt.records("event")
    mine = [e for e in evs if e.get("victim_pid") == victim.pid]
    tcheck(len(mine) == 1, "one record names victim pid %d" % victim.pid, evs)
    if mine:
        e = mine[0]
        tcheck(e.get("victim_comm") == vname[:15], "victim comm is %s" % vname[:15], e)
        tcheck(isinstance(e.get("anon_rss_kb"), int) and e["anon_rss_kb"] >= 35 * MIB_KB,
              "victim anon RSS >= 35 MiB (%s kB)" % e.get("anon_rss_kb"), e)
        tcheck(e.get("total_vm_kb", 0) >= e.get("anon_rss_kb", 0), "total_vm covers anon RSS", e)
        tcheck(e.get("victim_uid") == 0, "victim uid 0", e)
        tcheck(e.get("pid") == hog.pid and e.get("comm") == hname[:15],
              "trigger is the hog (pid %d, comm %s)" % (hog.pid, hname[:15]), e)
        tcheck(e.get("scope") == "memcg", "a memory-cgroup OOM", e)
        tcheck(e.get("cgroup") == "/" + os.path.basename(cg), "cgroup path is /%s" % os.path.basename(cg), e)
        tcheck(isinstance(e.get("loadavg_1"), float) or isinstance(e.get("loadavg_1"), int),
              "load average present", e)
        tcheck(isinstance(e.get("oom_score_adj"), int), "oom_score_adj present", e)
        stack = e.get("stack") or []
        tcheck(any("out_of_memory" in f for f in stack), "-s: the trigger's stack reaches out_of_memory", stack)
        tcheck(not any(f.startswith("bpf_") for f in stack[:1]), "-s: ktrace's own frames are not shown", stack)
    tables = {t.get("name"): t for t in kt.records("table")}
    by_comm = {r["victim_comm"]: r["kills"] for r in tables.get("kills_by_comm", {}).get("rows", [])}
    tcheck(by_comm.get(vname[:15]) == 1, "--summary counts one kill of %s" % vname[:15], tables)
    by_cg = {r["cgroup"]: r["kills"] for r in tables.get("kills_by_cgroup", {}).get("rows", [])}
    tcheck(by_cg.get("/" + os.path.basename(cg), 0) >= 1, "--summary counts kills in the test's cgroup", tables)
    check_no_leak(kt)


def main():
    if not os.path.isdir("/sys/fs/cgroup/memory"):
        ktlib.skip("no cgroup-v1 memory controller at /sys/fs/cgroup/memory")
    cg = ktlib.cgroup_v1("memory", "oom", {"memory.limit_in_bytes": 64 << 20})
    # without swap accounting the limit is on memory only; make sure no swap hides the OOM
    try:
        with open(os.path.join(cg, "memory.swappiness"), "w") as f:
            f.write("0")
    except OSError:
        pass
    vname, hname = "v" + ktlib.UNIQUE, "h" + ktlib.UNIQUE
    victim_bin, hog_bin = named_copy(vname), named_copy(hname)

    scenario(cg, vname, hname, victim_bin, hog_bin, None)
    # the other attach alternatives this kernel has (fentry/kprobe are tested under qemu)
    for attach in ("raw_tp", "tracepoint"):
        scenario(cg, vname, hname, victim_bin, hog_bin, attach)

    r = ktlib.run_ktrace("oom", "1", "2", "3")
    check(r.returncode == 2, "a third positional argument is a usage error", r.stderr)


if __name__ == "__main__":
    ktlib.main(main)
