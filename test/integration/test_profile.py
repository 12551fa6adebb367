#!/usr/bin/env python3
"""profile: timed CPU sampling of stacks.

A frame-pointer spinner (kt_spin_outer -> kt_spin_hot) runs 1.5 s under
-p: its samples resolve to its own functions, most of them with kt_spin_hot
as the innermost frame. -f prints well-formed folded lines, --svg a valid
XML flame graph naming them, and the JSON meta record says which perf event
sampled (no PMU here: the software cpu-clock).
"""
import os
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import ktlib
from ktlib import check, check_no_leak, Ktrace, workload


def held(argv):
    p = subprocess.Popen(["sh", "-c", 'read x; exec "$@"', "held"] + list(argv),
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    ktlib.at_exit(lambda: p.poll() is None and (p.kill(), p.wait()))
    return p


def release(p):
    p.stdin.write(b"go\n")
    p.stdin.close()


def json_test():
    sp = held([workload("spinner"), "1.5"])
    kt = Ktrace("profile", "-j", "-F", "99", "-p", sp.pid)
    release(sp)
    sp.wait(30)
    kt.stop()
    check(kt.rc == 0, "profile -j -p exits 0", kt.stderr())
    meta = kt.records("meta")
    ev = meta[0].get("event", "") if meta else ""
    has_pmu = os.path.exists("/sys/bus/event_source/devices/cpu")
    check(("cycles" if has_pmu else "cpu-clock") in ev, "meta names the perf event (%r)" % ev, meta)
    recs = kt.records("stacks")
    check(recs and all(r["pid"] == sp.pid for r in recs), "-p %d keeps only that process" % sp.pid,
          [(r["pid"], r["comm"]) for r in recs[:10]])
    total = sum(r["count"] for r in recs)
    hot = sum(r["count"] for r in recs
              if r["user_frames"] and r["user_frames"][0].get("symbol") == "kt_spin_hot")
    outer = sum(r["count"] for r in recs
                if any(f.get("symbol") == "kt_spin_outer" for f in r["user_frames"]))
    check(total >= 30, "at least 30 samples in 1.5 s at 99 Hz, even on a loaded machine (got %d)" % total)
    check(hot * 2 > total, "most samples (%d of %d) are in kt_spin_hot" % (hot, total),
          [[f.get("symbol") for f in r["user_frames"]] for r in recs[:5]])
    check(outer * 10 >= total * 9, "their stacks go through kt_spin_outer (%d of %d)" % (outer, total))
    f0 = recs[0]["user_frames"][0] if recs and recs[0]["user_frames"] else {}
    check(f0.get("module") == "spinner" and str(f0.get("address", "")).startswith("0x")
          and isinstance(f0.get("offset"), int),
          "user frames carry module, address and offset", f0)
    check_no_leak(kt)


def folded_svg_test():
    svg = tempfile.NamedTemporaryFile(prefix="kt-prof-", suffix=".svg", delete=False).name
    ktlib.at_exit(os.unlink, svg)
    sp = held([workload("spinner"), "1.2"])
    kt = Ktrace("profile", "-f", "--delimited", "--svg", svg, "-p", sp.pid)
    release(sp)
    sp.wait(30)
    kt.stop()
    check(kt.rc == 0, "profile -f -d --svg exits 0", kt.stderr())
    lines = [l for l in kt.stdout().splitlines() if l.strip()]
    bad = [l for l in lines if not re.match(r"^[^;\s][^;]*(;[^;]+)* \d+$", l)]
    check(lines and not bad, "every folded line is comm;frames... N", bad[:5] or lines[:5])
    spin = [l for l in lines if l.startswith("spinner;")]
    check(spin and "kt_spin_outer;kt_spin_hot" in spin[0],
          "the top folded line is the spinner's hot path, root first", lines[:3])
    try:
        text = ET.tostring(ET.parse(svg).getroot(), encoding="unicode")
        check("kt_spin_hot" in text and "kt_spin_outer" in text,
              "the SVG flame graph is valid XML naming kt_spin_hot and kt_spin_outer")
    except ET.ParseError as e:
        check(False, "the flame graph is valid XML", e)
    check_no_leak(kt)


def kernel_cpu_test():
    # a kernel-heavy loop pinned to CPU 1, sampled on CPU 1 only, kernel stacks only
    dd = subprocess.Popen(["taskset", "-c", "1", "dd", "if=/dev/zero", "of=/dev/null", "bs=4k"],
                          stderr=subprocess.DEVNULL)
    ktlib.at_exit(lambda: dd.poll() is None and (dd.kill(), dd.wait()))
    kt = Ktrace("profile", "-K", "-C", "1", "-j", "-p", dd.pid, "1")
    kt.wait(60)
    dd.kill()
    st = kt.records("stacks")
    check(kt.rc == 0 and st, "profile -K -C 1 of a dd loop gives stacks", kt.stderr())
    check(all(not x["user_frames"] for x in st), "-K shows no user frames")
    ks = {f.get("symbol") for x in st for f in x["kernel_frames"]}
    check(ks & {"read_zero", "vfs_read", "ksys_read", "do_syscall_64", "iov_iter_zero",
                "write_null", "vfs_write"}, "dd's kernel stacks name its read/write path",
          sorted(ks)[:30])
    check_no_leak(kt)


def usage_test():
    for args, what in ((["-F", "0"], "-F 0"), (["-C", "100000"], "-C 100000"),
                       (["-U", "-K"], "-U with -K"), (["-f", "-j"], "-f with -j"),
                       (["--stack-storage-size", "x"], "--stack-storage-size x"),
                       (["--svg", "/nonexistent-%s/x.svg" % ktlib.UNIQUE], "--svg into a missing directory")):
        r = ktlib.run_ktrace("profile", *args)
        check(r.returncode == 2, "%s is a usage error (exit 2)" % what, r.stderr)


def main():
    json_test()
    folded_svg_test()
    kernel_cpu_test()
    usage_test()


ktlib.main(main)
