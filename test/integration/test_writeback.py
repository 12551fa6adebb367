#!/usr/bin/env python3
"""writeback: dirty-page throttling of a writer and writeback with reason sync.

With vm.dirty_bytes at 4 MiB, dd writing 64 MiB of page cache is paused by
balance_dirty_pages again and again (about 10-20 pauses of 30-200 ms here);
then a file is written and `sync` run, which makes the flusher write it back
with reason "sync". Five ktraces watch at once: default (tp_btf work hooks,
with --hist), raw_tp, tp_btf, tracepoint, and -p of another process. bpftrace counts
the same pauses of dd and their sum in ms: each ktrace must agree exactly.
The sysctls are restored even when the test fails.
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
tracepoint:writeback:balance_dirty_pages /args->pause > 0/ { @n[pid] = count(); @ms[pid] = sum(args->pause); }
"""

SYSCTLS = ("/proc/sys/vm/dirty_bytes", "/proc/sys/vm/dirty_ratio",
           "/proc/sys/vm/dirty_background_bytes", "/proc/sys/vm/dirty_background_ratio")


def read(path):
    with open(path) as f:
        return f.read().strip()


def write(path, v):
    with open(path, "w") as f:
        f.write(str(v))


def save_sysctls():
    saved = {p: read(p) for p in SYSCTLS}

    def restore():
        # the bytes and ratio forms exclude each other: write the one that was in use last
        for b, r in ((SYSCTLS[0], SYSCTLS[1]), (SYSCTLS[2], SYSCTLS[3])):
            write(r if saved[b] == "0" else b, saved[r] if saved[b] == "0" else saved[b])
    ktlib.at_exit(restore)
    return restore




def bpftrace_stop(p, out):
    text = ktlib.bpftrace_stop(p, out)
    res = {}
    for m in re.finditer(r"^@(\w+)\[(\d+)\]: (\d+)$", text, re.M):
        res.setdefault(m.group(1), {})[int(m.group(2))] = int(m.group(3))
    return res


def table(kt, name):
    for t in kt.records("table"):
        if t.get("name") == name:
            return t["rows"]
    return None


def main():
    d = tempfile.mkdtemp(prefix="kt-wb-", dir="/var/tmp")
    ktlib.at_exit(shutil.rmtree, d, True)
    restore = save_sysctls()

    ref = ktlib.bpftrace_start(REF_BT) if shutil.which("bpftrace") else None
    if not ref:
        log("no bpftrace: the pause counts run without their cross-check")
    kts = {
        "default": ktlib.Ktrace("writeback", "-j", "--hist"),
        "raw_tp": ktlib.Ktrace("writeback", "-j", env={"KTRACE_ATTACH": "raw_tp"}),
        "tp_btf": ktlib.Ktrace("writeback", "-j", env={"KTRACE_ATTACH": "tp_btf"}),
        "tracepoint": ktlib.Ktrace("writeback", "-j", env={"KTRACE_ATTACH": "tracepoint"}),
        "other_pid": ktlib.Ktrace("writeback", "-j", "-p", os.getpid()),
        "record": ktlib.Ktrace("writeback", "--hist", "--record", os.path.join(d, "wb.tape")),
    }
    try:
        write(SYSCTLS[0], 4 << 20)
        dd = subprocess.Popen(["dd", "if=/dev/zero", "of=" + os.path.join(d, "big"), "bs=1M", "count=64",
                               "status=none"])
        dd.wait(60)
    finally:
        restore()
    check(dd.returncode == 0, "dd wrote 64 MiB", dd.returncode)
    ktlib.sh(["dd", "if=/dev/zero", "of=" + os.path.join(d, "small"), "bs=1M", "count=8", "status=none"])
    ktlib.sh(["sync"])
    time.sleep(0.3)
    for kt in kts.values():
        kt.stop()
    counts = bpftrace_stop(*ref) if ref else {}
    ref_n, ref_ms = counts.get("n", {}).get(dd.pid), counts.get("ms", {}).get(dd.pid)
    log("dd pid %d; bpftrace: %s pauses, %s ms" % (dd.pid, ref_n, ref_ms))
    check(read(SYSCTLS[0]) != str(4 << 20), "vm.dirty_bytes is restored")

    for name in ("default", "raw_tp", "tp_btf", "tracepoint"):
        kt = kts[name]
        tag = "[%s] " % name
        check(kt.rc == 0, tag + "ktrace exited 0", kt.stderr())
        meta = kt.records("meta")[0]
        types = {a["hook"]: a.get("type") for a in meta["attach"]}
        if name != "default":
            check(types.get("writeback_start") == name and types.get("writeback_written") == name,
                  tag + "the work hooks attached with " + name, types)
        # the raw forms exist where this kernel's argument layout and HZ are known (here they are)
        want = "tracepoint" if name == "default" else name
        check(types.get("balance_dirty_pages") == want, tag + "balance_dirty_pages attached as " + want, types)
        check("kernel_notes" in meta, tag + "meta says what differs between kernels", meta)
        mine = [r for r in table(kt, "throttled") or [] if r["pid"] == dd.pid]
        check(len(mine) == 1, tag + "one throttling row for dd (pid %d)" % dd.pid, table(kt, "throttled"))
        if mine:
            r = mine[0]
            check(r["comm"] == "dd" and re.match(r"^\d+:\d+$", r["bdi"]), tag + "comm dd, bdi MAJ:MIN", r)
            check(r["pauses"] >= 3, tag + "dd was paused at least 3 times (%d)" % r["pauses"], r)
            check(0 < r["max_ms"] <= r["total_ms"], tag + "0 < max <= total", r)
            check(0 < r["limit_pages"] <= 2048, tag + "the dirty limit is about 4 MiB (%d pages)" % r["limit_pages"], r)
            check(r["dirty_pages"] > 0, tag + "dirty pages at the pause", r)
            if ref_n is not None:
                check(r["pauses"] == ref_n, tag + "pauses equal bpftrace's (%d, %d)" % (r["pauses"], ref_n), r)
                check(r["total_ms"] == ref_ms, tag + "pause ms equal bpftrace's (%d, %d)" % (r["total_ms"], ref_ms), r)
        wb = table(kt, "writeback") or []
        sync = [r for r in wb if r.get("reason") == "sync" and r["pages"] > 0]
        check(sync, tag + "writeback with reason sync wrote pages", wb)
        check(all(r["runs"] >= 1 and r["max_ns"] <= r["total_ns"] for r in wb), tag + "runs and times add up", wb)
        if mine and sync:
            check(any(r["bdi"] == mine[0]["bdi"] for r in sync), tag + "sync wrote back on dd's device", wb)
        check_no_leak(kt)

    kt = kts["default"]
    mine = [r for r in table(kt, "throttled") or [] if r["pid"] == dd.pid]
    hists = [h for h in kt.records("hist") if h["key"].get("pid") == dd.pid]
    check(len(hists) == 1 and mine and hists[0]["count"] == mine[0]["pauses"] and hists[0]["unit"] == "msecs",
          "--hist: dd's pause histogram counts every pause", hists)

    kt = kts["other_pid"]
    check(kt.rc == 0 and not [r for r in table(kt, "throttled") or [] if r["pid"] == dd.pid],
          "-p of another process: no throttling of dd", table(kt, "throttled"))

    kt = kts["record"]
    r = subprocess.run([ktlib.KTRACE, "replay", os.path.join(d, "wb.tape")], capture_output=True)
    check(kt.rc == 0 and r.returncode == 0 and r.stdout == kt.stdout_bytes() and b"sync" in r.stdout,
          "--record: the replay prints what the live run printed", (r.stderr, r.stdout[:800]))

    # CAP_BPF and CAP_PERFMON alone cannot read tracefs: balance_dirty_pages falls back to tp_btf
    caps = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            "--inh-caps", "+bpf,+perfmon", "--ambient-caps", "+bpf,+perfmon"]
    r = ktlib.run_ktrace("writeback", "-j", "-d", "1", user=caps)
    meta = [l for l in r.stdout.splitlines() if '"meta"' in l]
    check(r.returncode == 0 and meta and '"hook":"balance_dirty_pages","type":"tp_btf"' in meta[0],
          "with CAP_BPF and CAP_PERFMON only: runs, balance_dirty_pages as tp_btf", (r.returncode, r.stderr, meta))

    for bad in (["--bogus"], ["1", "2", "3"], ["-p", "abc"]):
        r = ktlib.run_ktrace("writeback", *bad)
        check(r.returncode == 2, "writeback %s is a usage error (exit 2)" % " ".join(bad), r.stderr)


if __name__ == "__main__":
    ktlib.main(main)
