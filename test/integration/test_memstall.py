#!/usr/bin/env python3
"""memstall: memory-cgroup reclaim stalls of a writer over its cgroup's limit.

`dd` writes 200 MiB (page cache) from inside a 64 MiB memory cgroup (v1 on
this host: /sys/fs/cgroup/memory; v2 where that is the memory hierarchy), so
every few MiB the charge reclaims: mm_vmscan_memcg_reclaim_begin/end run in
dd. Five ktraces watch the same dd at once: the default attach (tp_btf, with
--hist), raw_tp, tracepoint, --slower 0 (one event per stall) and -p of
another process (must see nothing of dd). bpftrace counts the same ends and
pages reclaimed per pid: every ktrace must agree exactly with it, name dd's
cgroup by path, and show the system's PSI row.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktlib
from ktlib import check, check_no_leak, log

REF_BT = r"""
tracepoint:vmscan:mm_vmscan_memcg_reclaim_end { @n[pid] = count(); @pages[pid] = sum(args->nr_reclaimed); }
"""




def bpftrace_stop(p, out):
    text = ktlib.bpftrace_stop(p, out)
    res = {}
    for m in re.finditer(r"^@(\w+)\[(\d+)\]: (\d+)$", text, re.M):
        res.setdefault(m.group(1), {})[int(m.group(2))] = int(m.group(3))
    return res


def memory_cgroup():
    """A 64 MiB memory cgroup (v1 here, v2 otherwise) and its path as ktrace names it."""
    if os.path.isdir("/sys/fs/cgroup/memory"):
        cg = ktlib.cgroup_v1("memory", "memstall", {"memory.limit_in_bytes": 64 << 20})
        try:
            with open(os.path.join(cg, "memory.swappiness"), "w") as f:
                f.write("0")
        except OSError:
            pass
        return cg, "/" + os.path.basename(cg)
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            if "memory" not in f.read().split():
                raise OSError
    except OSError:
        ktlib.skip("no memory cgroup controller (neither v1 nor v2)")
    path = "/sys/fs/cgroup/%s_memstall" % ktlib.UNIQUE
    os.makedirs(path, exist_ok=True)
    ktlib.at_exit(lambda: os.path.isdir(path) and os.rmdir(path))
    with open(os.path.join(path, "memory.max"), "w") as f:
        f.write(str(64 << 20))
    return path, "/" + os.path.basename(path)


def rows_of(kt, table, **match):
    for t in kt.records("table"):
        if t.get("name") == table:
            return [r for r in t["rows"] if all(r.get(k) == v for k, v in match.items())]
    return None


def main():
    cg, cg_name = memory_cgroup()
    d = tempfile.mkdtemp(prefix="kt-memstall-", dir="/var/tmp")
    ktlib.at_exit(shutil.rmtree, d, True)
    target = os.path.join(d, "dd.out")

    ref = ktlib.bpftrace_start(REF_BT) if shutil.which("bpftrace") else None
    if not ref:
        log("no bpftrace: the counts run without their cross-check")
    kts = {
        "default": ktlib.Ktrace("memstall", "-j", "--hist"),
        "raw_tp": ktlib.Ktrace("memstall", "-j", env={"KTRACE_ATTACH": "raw_tp"}),
        "tracepoint": ktlib.Ktrace("memstall", "-j", env={"KTRACE_ATTACH": "tracepoint"}),
        "slower": ktlib.Ktrace("memstall", "-j", "--slower", "0"),
        "other_pid": ktlib.Ktrace("memstall", "-j", "-p", os.getpid()),
        "record": ktlib.Ktrace("memstall", "--hist", "--record", os.path.join(d, "ms.tape")),
    }
    dd = subprocess.Popen(ktlib.in_cgroup(cg, ["dd", "if=/dev/zero", "of=" + target, "bs=1M", "count=200",
                                               "status=none"]))
    dd.wait(60)
    time.sleep(0.5)
    for kt in kts.values():
        kt.stop()
    counts = bpftrace_stop(*ref) if ref else {}
    check(dd.returncode == 0, "dd wrote 200 MiB in its 64 MiB cgroup", dd.returncode)
    ref_n = counts.get("n", {}).get(dd.pid)
    ref_pages = counts.get("pages", {}).get(dd.pid)
    log("dd pid %d; bpftrace: %s reclaims, %s pages" % (dd.pid, ref_n, ref_pages))

    for name in ("default", "raw_tp", "tracepoint"):
        kt = kts[name]
        tag = "[%s] " % name
        check(kt.rc == 0, tag + "ktrace exited 0", kt.stderr())
        meta = kt.records("meta")[0]
        if name != "default":
            check(all(a.get("type") == name for a in meta["attach"]), tag + "every hook attached with " + name,
                  meta["attach"])
        check("compact_control" in meta.get("kernel_notes", ""), tag + "meta says what differs between kernels", meta)
        mine = rows_of(kt, "processes", pid=dd.pid, kind="memcg_reclaim")
        check(mine is not None and len(mine) == 1, tag + "one process row for dd (pid %d), memcg reclaim" % dd.pid,
              kt.records("table"))
        if not mine:
            continue
        r = mine[0]
        check(r["comm"] == "dd", tag + "comm is dd", r)
        check(r["count"] >= 10, tag + "dd stalled in memcg reclaim at least 10 times (%d)" % r["count"], r)
        check(r["pages"] >= 25000, tag + "reclaimed at least 100 MiB of pages (%d)" % r["pages"], r)
        check(0 < r["max_ns"] <= r["total_ns"], tag + "0 < max <= total", r)
        check(r["memcg"] == cg_name, tag + "dd's memory cgroup is named %s" % cg_name, r)
        if ref_n is not None:
            check(r["count"] == ref_n, tag + "count equals bpftrace's (%d, %d)" % (r["count"], ref_n), r)
            check(r["pages"] == ref_pages, tag + "pages equal bpftrace's (%d, %d)" % (r["pages"], ref_pages), r)
        cgrows = rows_of(kt, "memcgs", memcg=cg_name, kind="memcg_reclaim")
        check(cgrows and cgrows[0]["count"] >= r["count"], tag + "the memcg table has %s" % cg_name,
              kt.records("table"))
        psi = rows_of(kt, "pressure", scope="system")
        if os.path.exists("/proc/pressure/memory"):
            check(psi and psi[0]["some_total_us"] > 0, tag + "the pressure table has the system's PSI", psi)
        summ = kt.records("summary")[0]
        check(summ.get("lost") == 0, tag + "nothing lost", summ)
        check_no_leak(kt)

    kt = kts["default"]
    hists = [h for h in kt.records("hist") if h.get("key") == {"kind": "memcg_reclaim"}]
    mine = rows_of(kt, "processes", kind="memcg_reclaim") or []
    check(len(hists) == 1 and hists[0]["count"] == sum(r["count"] for r in mine),
          "--hist: the memcg_reclaim histogram counts every memcg reclaim", hists)

    kt = kts["slower"]
    evs = [e for e in kt.records("event") if e.get("pid") == dd.pid and e.get("kind") == "memcg_reclaim"]
    check(kt.rc == 0 and not kt.records("table"), "--slower prints events, no tables", kt.stderr())
    if ref_n is not None:
        check(len(evs) == ref_n, "--slower 0: one event per stall of dd (%d, bpftrace %d)" % (len(evs), ref_n))
    check(evs and all(e["memcg"] == cg_name and e["ms"] >= 0 and e["comm"] == "dd" for e in evs),
          "--slower events name dd and its cgroup", evs[:3])

    kt = kts["other_pid"]
    check(kt.rc == 0 and rows_of(kt, "processes", pid=dd.pid) == [], "-p of another process: nothing of dd",
          kt.records("table"))

    # the cgroup paths and PSI totals are on the tape: a replay prints the same, byte for byte
    kt = kts["record"]
    r = subprocess.run([ktlib.KTRACE, "replay", os.path.join(d, "ms.tape")], capture_output=True)
    check(kt.rc == 0 and r.returncode == 0 and r.stdout == kt.stdout_bytes() and cg_name.encode() in r.stdout,
          "--record: the replay prints what the live run printed, cgroup and pressure included",
          (r.stderr, kt.stdout_bytes()[:800], r.stdout[:800]))

    for bad in (["--slower", "abc"], ["--hist", "--slower", "1"], ["--bogus"]):
        r = ktlib.run_ktrace("memstall", *bad)
        check(r.returncode == 2, "memstall %s is a usage error (exit 2)" % " ".join(bad), r.stderr)
        check(bad[-1] in r.stderr or bad[0] in r.stderr, "the message names the option", r.stderr)


if __name__ == "__main__":
    ktlib.main(main)
