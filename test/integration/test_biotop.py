#!/usr/bin/env python3
"""ktrace biotop: block I/O per process, disk and operation, charged to the submitter.

A loop device whose I/O is throttled to 10 IOPS on vda (blkio cgroup v1,
TRIGGERS.md): one dd reads 10 blocks of 4 KiB, another writes 5 blocks of
16 KiB, both with O_DIRECT. biotop must show each dd's own pid (the
completion runs on whatever task the interrupt hit) with its own counts, and
its totals for the loop device must equal the kernel's own counters in
/sys/block/loopN/stat over the same time.
"""
import subprocess
import time

from ktlib import (Ktrace, cgroup_v1, check, check_no_leak, in_cgroup, log, main, make_loop,
                   run_ktrace, skip)


def stat(name):
    """(read I/Os, read bytes, write I/Os, write bytes) of /sys/block/NAME/stat."""
    with open("/sys/block/%s/stat" % name) as f:
        v = [int(x) for x in f.read().split()]
    return v[0], v[2] * 512, v[4], v[6] * 512


def run_dd(cg, args):
    """One dd in cgroup cg (the shell execs it: same pid); its pid."""
    p = subprocess.Popen(in_cgroup(cg, ["dd"] + args + ["status=none"]))
    check(p.wait(60) == 0, "dd %s exits 0" % " ".join(args))
    return p.pid


def rows_by(recs, pid, op):
    return [r for r in recs if r["pid"] == pid and r["op"] == op]


def total(rows, key):
    return sum(r[key] for r in rows)


def test_throttled():
    try:
        with open("/sys/block/vda/dev") as f:
            vda = f.read().strip()
    except OSError:
        skip("no /sys/block/vda: the throttled-loop recipe needs the root disk vda")
    dev = make_loop()
    name = dev.split("/")[-1]
    cg = cgroup_v1("blkio", "btop", {"blkio.throttle.read_iops_device": "%s 10" % vda,
                                      "blkio.throttle.write_iops_device": "%s 10" % vda})
    time.sleep(0.5)  # udev's probe of the new device is over
    kt = Ktrace("biotop", "-b", name, "-j", "1")  # one row set per second
    kt_raw = Ktrace("biotop", "-b", name, "-j", "--top", "1", "60",
                    env={"KTRACE_ATTACH": "raw_tp"})  # one interval: the busiest by bytes
    kt_ios = Ktrace("biotop", "-b", name, "-j", "--top", "1", "--sort", "ios", "60")
    kt_text = Ktrace("biotop", "-b", name, "60")
    before = stat(name)
    t0 = time.time()
    reader = run_dd(cg, ["if=" + dev, "of=/dev/null", "bs=4k", "count=10", "skip=100",
                         "iflag=direct"])
    writer = run_dd(cg, ["if=/dev/zero", "of=" + dev, "bs=16k", "count=5", "seek=200",
                         "oflag=direct"])
    log("10 throttled reads and 5 throttled writes took %.2fs" % (time.time() - t0))
    time.sleep(0.3)
    after = stat(name)
    for k in (kt, kt_raw, kt_ios, kt_text):
        check(k.stop() == 0, "exit status 0 (%s)" % " ".join(k.args[1:]), k.stderr())
    delta = [a - b for a, b in zip(after, before)]
    log("/sys/block/%s/stat delta: reads %d (%d bytes), writes %d (%d bytes)" % ((name,) + tuple(delta)))

    recs = kt.records("row")
    check(all(r["disk"] == name for r in recs), "every row is on " + name, recs)
    rd = rows_by(recs, reader, "Read")
    check(total(rd, "ios") == 10 and total(rd, "bytes") == 40960,
          "the reading dd (pid %d): 10 reads, 40960 bytes" % reader, recs)
    check(all(r["comm"] == "dd" for r in rd), "its comm is dd", rd)
    wr = rows_by(recs, writer, "Write")
    check(total(wr, "ios") == 5 and total(wr, "bytes") == 81920,
          "the writing dd (pid %d): 5 writes, 81920 bytes" % writer, recs)
    check(not rows_by(recs, reader, "Write") and not rows_by(recs, writer, "Read"),
          "the reader did not write, the writer did not read", recs)
    # throttled to 10 IOPS: most requests wait ~100 ms for their slot
    lat = total(rd, "ios") and sum(r["avg_ms"] * r["ios"] for r in rd) / total(rd, "ios")
    check(lat >= 30, "the reads' average latency shows the throttle (%.1f ms >= 30)" % lat, rd)
    # the last interval is cut short by Ctrl-C
    check(all(0 < r["interval_s"] < 3 for r in recs) and
          any(0.9 < r["interval_s"] < 1.2 for r in recs),
          "1-second intervals", [r["interval_s"] for r in recs])
    got = (total([r for r in recs if r["op"] == "Read"], "ios"),
           total([r for r in recs if r["op"] == "Read"], "bytes"),
           total([r for r in recs if r["op"] == "Write"], "ios"),
           total([r for r in recs if r["op"] == "Write"], "bytes"))
    check(list(got) == delta, "biotop's totals on %s equal /sys/block/%s/stat's deltas" % (name, name),
          (got, delta))

    top = kt_raw.records("row")
    check(len(top) == 1 and top[0]["pid"] == writer and top[0]["bytes"] == 81920,
          "--top 1: the writer (most bytes) alone", top)
    meta = kt_raw.records("meta")[0]
    check(all(a["type"] == "raw_tp" for a in meta["attach"] if a["type"]),
          "KTRACE_ATTACH=raw_tp: every hook on raw_tp", meta["attach"])
    top = kt_ios.records("row")
    check(len(top) == 1 and top[0]["pid"] == reader and top[0]["ios"] == 10,
          "--sort ios --top 1: the reader (most requests) alone", top)

    lines = kt_text.stdout().splitlines()
    check(lines and lines[0].split() == ["PID", "COMM", "DISK", "T", "I/O", "KBYTES", "AVG(ms)"],
          "text header", lines[:1])
    rows = [l.split() for l in lines[1:] if l.strip()]
    check(["dd", name, "R", "10", "40"] in [r[1:6] for r in rows if r[0] == str(reader)],
          "text: the reader's row: dd, R, 10 I/Os, 40 KBYTES", lines)
    check(["dd", name, "W", "5", "80"] in [r[1:6] for r in rows if r[0] == str(writer)],
          "text: the writer's row: dd, W, 5 I/Os, 80 KBYTES", lines)
    for k in (kt, kt_raw, kt_ios, kt_text):
        check_no_leak(k)


def test_usage():
    for args, opt in ((["--sort", "size"], "--sort"), (["--top", "x"], "--top"),
                      (["-b", "nosuchdisk0"], "nosuchdisk0")):
        r = run_ktrace("biotop", *args)
        check(r.returncode == 2 and opt in r.stderr, "%s: usage error (2)" % " ".join(args),
              r.stderr)


def run():
    test_usage()
    test_throttled()


main(run)
