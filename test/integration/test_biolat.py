#!/usr/bin/env python3
"""biolat against real block I/O on loop devices (see ../shared/TRIGGERS.md)."""
import os
import re
import signal
import subprocess
import time

from ktlib import (UNIQUE, Ktrace, at_exit, cgroup_v1, check, check_no_leak, in_cgroup, log, main,
                   make_loop, sh, skip, run_ktrace)


def direct_read(dev, count, skip_blocks=0, prefix=()):
    """count 4 KiB O_DIRECT reads: count block requests on dev."""
    sh(list(prefix) + ["dd", "if=" + dev, "of=/dev/null", "bs=4k", "count=%d" % count,
                       "skip=%d" % skip_blocks, "iflag=direct", "status=none"])


def hists(kt):
    return kt.records("hist")


def count_for(recs, disk):
    return sum(r["count"] for r in recs if r["key"].get("disk") == disk)


def text_counts(text):
    """{key line or '': total count} from text output."""
    out, key = {}, ""
    for line in text.splitlines():
        if line.startswith("disk = "):
            key = line.split("'")[1]
        m = re.match(r"count (\d+), p50", line)
        if m:
            out[key] = out.get(key, 0) + int(m.group(1))
            key = ""
    return out


def test():
    dev_a = make_loop()
    dev_b = make_loop()
    name_a, name_b = dev_a.split("/")[-1], dev_b.split("/")[-1]

    # -D separates two devices, with the right names and at least the requests issued
    kt = Ktrace("biolat", "-D", "-j")
    direct_read(dev_a, 20)
    direct_read(dev_b, 35)
    time.sleep(0.3)
    check(kt.stop(signal.SIGINT) == 0, "SIGINT: exit status 0", kt.stderr())
    recs = hists(kt)
    check(count_for(recs, name_a) >= 20, "-D: %s has >= 20 requests" % name_a, recs)
    check(count_for(recs, name_b) >= 35, "-D: %s has >= 35 requests" % name_b, recs)
    meta = kt.records("meta")
    check(len(meta) == 1 and kt.records()[0]["type"] == "meta", "first record is meta")
    check(meta and {a["hook"]: a["type"] for a in meta[0]["attach"]}.get("rq_issue") == "tp_btf",
          "meta: rq_issue attached with tp_btf", meta)
    check(kt.records()[-1]["type"] == "summary", "last record is summary")
    for r in recs:
        b = r["buckets"]
        ok = all(x["min"] <= x["max"] for x in b) and sum(x["count"] for x in b) == r["count"]
        if not ok:
            break
    check(recs and ok, "buckets: inclusive bounds and counts add up", recs[:1])
    check_no_leak(kt)

    # -d filters one disk, in the kernel
    kt = Ktrace("biolat", "-D", "-b", name_a, "-j")
    direct_read(dev_a, 10, 100)
    direct_read(dev_b, 10, 100)
    time.sleep(0.3)
    check(kt.stop(signal.SIGTERM) == 0, "SIGTERM: exit status 0", kt.stderr())
    recs = hists(kt)
    check(count_for(recs, name_a) >= 10, "-d %s: its requests are counted" % name_a, recs)
    check(count_for(recs, name_b) == 0 and all(r["key"].get("disk") == name_a for r in recs),
          "-d %s: nothing from %s or elsewhere" % (name_a, name_b), recs)
    check_no_leak(kt)

    # text and JSON count the same requests (two instances over the same I/O)
    kt_j = Ktrace("biolat", "-b", name_b, "-j")
    kt_t = Ktrace("biolat", "-b", name_b)
    direct_read(dev_b, 25, 300)
    time.sleep(0.3)
    kt_t.stop()
    kt_j.stop()
    jc = sum(r["count"] for r in hists(kt_j))
    tc = text_counts(kt_t.stdout()).get("", -1)
    check(jc >= 25 and jc == tc, "-j and text count the same requests (json %d, text %d)" % (jc, tc),
          kt_t.stdout())
    check("usecs" in kt_t.stdout() and "distribution" in kt_t.stdout(), "text histogram header")
    check("p50 ~" in kt_t.stdout(), "text prints percentiles")
    check_no_leak(kt_j)
    check_no_leak(kt_t)

    # raw_tp fallback path, forced
    kt = Ktrace("biolat", "-D", "-j", env={"KTRACE_ATTACH": "raw_tp"})
    direct_read(dev_a, 12, 500)
    time.sleep(0.3)
    kt.stop()
    meta = kt.records("meta")[0]
    check(all(a["type"] == "raw_tp" for a in meta["attach"] if a["type"]),
          "KTRACE_ATTACH=raw_tp: every hook on raw_tp", meta["attach"])
    check(count_for(hists(kt), name_a) >= 12, "raw_tp path counts the requests", hists(kt))
    check_no_leak(kt)

    # -Q attaches block_rq_insert too and still counts
    kt = Ktrace("biolat", "-Q", "-D", "-j")
    direct_read(dev_a, 8, 700)
    time.sleep(0.3)
    kt.stop()
    meta = kt.records("meta")[0]
    check({a["hook"]: a["type"] for a in meta["attach"]}.get("rq_insert") is not None,
          "-Q: rq_insert attached", meta["attach"])
    check(count_for(hists(kt), name_a) >= 8, "-Q counts the requests")
    check_no_leak(kt)

    # interval and count: exits by itself after two intervals
    t0 = time.time()
    r = run_ktrace("biolat", "-j", "1", "2", timeout=30)
    el = time.time() - t0
    recs = [l for l in r.stdout.splitlines() if '"type":"hist"' in l]
    check(r.returncode == 0 and 1.9 < el < 10, "biolat 1 2 exits 0 by itself (%.1fs)" % el, r.stderr)
    check(len(recs) == 2, "two intervals, two histograms", r.stdout)

    # a closed pipe ends the run promptly and quietly
    t0 = time.time()
    p = subprocess.run("%s biolat -j 1 | head -1" % kt.args[0], shell=True, capture_output=True,
                       text=True, timeout=30)
    el = time.time() - t0
    check(p.stdout.startswith('{"type":"meta"'), "| head -1 gets the meta record", p.stdout)
    check(el < 5, "| head -1 ends promptly (%.1fs)" % el)
    check("error" not in p.stderr.lower() and "broken pipe" not in p.stderr.lower(),
          "| head -1: no error message", p.stderr)


def test_slow():
    """Throttled loop device: at least 8 requests of 64 ms or more."""
    dev = make_loop()
    name = dev.split("/")[-1]
    try:
        with open("/sys/block/vda/dev") as f:
            vda = f.read().strip()
    except OSError:
        skip("no /sys/block/vda: the throttled-loop recipe needs the root disk vda")
    cg = cgroup_v1("blkio", "slowio", {"blkio.throttle.read_iops_device": "%s 10" % vda,
                                        "blkio.throttle.write_iops_device": "%s 10" % vda})
    kt = Ktrace("biolat", "-m", "-b", name, "-j")
    t0 = time.time()
    direct_read(dev, 10, 2000, prefix=in_cgroup(cg, []))
    log("10 throttled reads took %.2fs" % (time.time() - t0))
    time.sleep(0.3)
    kt.stop()
    recs = hists(kt)
    slow = sum(b["count"] for r in recs for b in r["buckets"] if b["min"] >= 64)
    check(slow >= 8, ">= 8 requests in buckets at or above 64 ms (got %d)" % slow, recs)
    check(all(r["unit"] == "msecs" for r in recs), "-m: unit msecs")
    check_no_leak(kt)


def test_cgroup():
    """--cgroup: I/O submitted from a cgroup below the one given counts, I/O from outside not."""
    base = "/sys/fs/cgroup/unified"
    if not os.path.exists(os.path.join(base, "cgroup.procs")):
        log("no cgroup-v2 hierarchy at %s: --cgroup part skipped" % base)
        return
    parent = os.path.join(base, UNIQUE + "_bio")
    child = os.path.join(parent, "below")
    os.makedirs(child)
    at_exit(lambda: (os.path.isdir(child) and os.rmdir(child),
                     os.path.isdir(parent) and os.rmdir(parent)))
    dev_a, dev_b = make_loop(), make_loop()
    name_a, name_b = dev_a.split("/")[-1], dev_b.split("/")[-1]
    kt = Ktrace("biolat", "-D", "-j", "--cgroup", parent)
    direct_read(dev_a, 15, 900, prefix=in_cgroup(child, []))
    direct_read(dev_b, 20, 900)
    time.sleep(0.3)
    kt.stop()
    recs = hists(kt)
    meta = kt.records("meta")[0]
    check({a["hook"]: a["type"] for a in meta["attach"]}.get("rq_insert") is not None,
          "--cgroup: rq_insert attached (the submitter is current there)", meta["attach"])
    check(count_for(recs, name_a) >= 15, "--cgroup: the reads from a cgroup below it count", recs)
    check(count_for(recs, name_b) == 0, "--cgroup: the reads from outside do not", recs)
    check_no_leak(kt)


def run():
    test()
    test_cgroup()
    test_slow()


main(run)
