#!/usr/bin/env python3
"""biolat against real block I/O on loop devices (see ../shared/TRIGGERS.md)."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
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


# The reference for -Q: keyed by (dev, sector) like the block tracepoints
# print them, restarted on every insert, started at issue only for requests
# that were never inserted; counts completions and those of 32 ms or more,
# and keeps the slowest. $2: a cgroup-v2 id the submitter must be in (0: any).
# Two writes to one block in flight share a key: the second insert restarts
# the first one's clock and only one of them is measured. With 1024 writes in
# flight over 512 blocks that is common, and in a stall it hides half of the
# slow requests: @hidden_slow counts restarts of a start 32 ms to 1 s old
# (older ones are left by merged requests, not in flight), so the reference's
# slow count is @slow + @hidden_slow.
REF_BT = r"""
tracepoint:block:block_rq_insert /args->dev == $1 && ($2 == 0 || cgroup == $2)/ {
	$prev = @start[args->dev, args->sector];
	if ($prev != 0 && nsecs - $prev >= 32000000 && nsecs - $prev < 1000000000) {
		@hidden_slow = count();
	}
	@start[args->dev, args->sector] = nsecs;
}
tracepoint:block:block_rq_insert /args->dev == $1 && $2 != 0 && cgroup != $2/ {
	delete(@start[args->dev, args->sector]);
}
tracepoint:block:block_rq_issue /args->dev == $1 && @start[args->dev, args->sector] == 0 &&
				 ($2 == 0 || cgroup == $2)/ {
	@start[args->dev, args->sector] = nsecs;
}
tracepoint:block:block_rq_merge /args->dev == $1/ { @merges = count(); }
tracepoint:block:block_rq_complete /args->dev == $1 && @start[args->dev, args->sector] != 0/ {
	$ms = (nsecs - @start[args->dev, args->sector]) / 1000000;
	@all = count();
	@max_ms = max($ms);
	if ($ms >= 32) { @slow = count(); }
	delete(@start[args->dev, args->sector]);
}
END { clear(@start); }
"""


class Bpftrace:
    """bpftrace running a script with its arguments, ready to count."""

    def __init__(self, script, *args):
        d = tempfile.mkdtemp(prefix="kt-bt-")
        at_exit(shutil.rmtree, d, True)
        path = os.path.join(d, "ref.bt")
        with open(path, "w") as f:
            f.write(script)
        self.out = open(os.path.join(d, "out"), "w+")
        self.p = subprocess.Popen(["bpftrace", path] + [str(a) for a in args], stdout=self.out,
                                  stderr=subprocess.STDOUT, text=True)
        at_exit(lambda: self.p.poll() is None and (self.p.kill(), self.p.wait()))
        end = time.time() + 60
        while "Attaching" not in self.text():
            if self.p.poll() is not None or time.time() > end:
                raise RuntimeError("bpftrace did not start:\n" + self.text())
            time.sleep(0.1)
        time.sleep(1)  # "Attaching" comes before the probes are in

    def text(self):
        self.out.seek(0)
        return self.out.read()

    def stop(self):
        """{map name: count} printed at exit (a count() never hit is absent: 0)."""
        self.p.send_signal(signal.SIGINT)
        self.p.wait(60)
        return {m.group(1): int(m.group(2))
                for m in re.finditer(r"^@(\w+): (\d+)$", self.text(), re.M)}


def dev_t(name):
    """The tracepoints' dev: major << 20 | minor."""
    with open("/sys/block/%s/dev" % name) as f:
        major, minor = f.read().strip().split(":")
    return int(major) << 20 | int(minor)


def slow_count(recs, ms):
    return sum(b["count"] for r in recs for b in r["buckets"] if b["min"] >= ms)


def test_merges(cgroup=False):
    """-Q on a merge-heavy job measures each request from its own insert.

    The loop device gets mq-deadline (loop devices default to none, which
    never merges one queued request into another), and fio's random 4 KiB
    writes at depth 512 from two jobs over 2 MB keep its queue full of
    neighbours: a write that fills the gap between two queued requests joins
    them (block_rq_merge) and the second one is freed without a completion.
    Each burst is followed by a pause and then by more writes than the
    scheduler has requests, so that every struct request is used again: a
    start time left behind by a merged request and lent to the next request
    at its address (the bug) shows up as a request at least as slow as the
    pause (1.1 s), far above anything the reference measures. Four bursts
    left one such request each on Linux 6.18, every time; the reference is
    bpftrace on the same run.

    With cgroup, fio runs in a cgroup-v2 directory and the writes after the
    pause outside it, under -Q --cgroup: a request must be judged by its own
    submitter, not by the one whose merged request left an entry behind.
    """
    if not shutil.which("fio") or not shutil.which("bpftrace"):
        skip("fio and bpftrace are needed for the -Q merge check (apt-get install fio bpftrace)")
    dev = make_loop()
    name = dev.split("/")[-1]
    sched = "/sys/block/%s/queue/scheduler" % name
    try:
        with open(sched, "w") as f:
            f.write("mq-deadline")
    except OSError as e:
        skip("cannot select mq-deadline for %s (%s): no request merges without a scheduler"
             % (name, e))
    cg, cg_id, inside, what = None, 0, [], "-Q"
    if cgroup:
        base = "/sys/fs/cgroup/unified"
        if not os.path.exists(os.path.join(base, "cgroup.procs")):
            log("no cgroup-v2 hierarchy at %s: -Q --cgroup merge check skipped" % base)
            return
        cg = os.path.join(base, UNIQUE + "_biomerge")
        os.mkdir(cg)
        at_exit(os.rmdir, cg)
        cg_id, inside, what = os.stat(cg).st_ino, in_cgroup(cg, []), "-Q --cgroup"
    ref = Bpftrace(REF_BT, dev_t(name), cg_id)
    kt = Ktrace("biolat", "-Q", "-m", "-b", name, "-j", *(["--cgroup", cg] if cg else []))
    for _ in range(4):
        sh(inside + ["fio", "--name=merges", "--filename=" + dev, "--rw=randwrite", "--bs=4k",
            "--iodepth=512", "--numjobs=2", "--size=2M", "--direct=1", "--ioengine=libaio",
            "--time_based", "--runtime=1", "--group_reporting", "--output-format=terse"])
        time.sleep(1.1)
        sh(["dd", "if=/dev/zero", "of=" + dev, "bs=4k", "count=600", "oflag=direct",
            "status=none"])
    time.sleep(0.3)
    check(kt.stop() == 0, what + ": exit status 0", kt.stderr())
    counts = ref.stop()
    recs = hists(kt)
    total = sum(r["count"] for r in recs)
    slow = slow_count(recs, 32)
    top = max((b["min"] for r in recs for b in r["buckets"] if b["count"]), default=0)
    ref_slow, ref_all = counts.get("slow", 0), counts.get("all", 0)
    hidden = counts.get("hidden_slow", 0)
    ref_max, merges = counts.get("max_ms", 0), counts.get("merges", 0)
    log(what + ": reference: %d requests, %d >= 32 ms (+%d hidden by a shared key), slowest "
        "%d ms, %d merges; ktrace: %d requests, %d >= 32 ms, slowest bucket from %d ms"
        % (ref_all, ref_slow, hidden, ref_max, merges, total, slow, top))
    check(merges >= 100, "the workload merges requests (%d block_rq_merge)" % merges)
    check(slow <= (ref_slow + hidden) * 1.3 + 3,
          what + ": no more requests >= 32 ms than the reference (ktrace %d, bpftrace %d + %d "
          "hidden, allowed 30%% + 3)" % (slow, ref_slow, hidden), recs)
    check(top <= ref_max, what + ": no request slower than the reference's slowest (%d ms): "
          "ktrace's slowest bucket starts at %d ms" % (ref_max, top), recs)
    # (dev, sector) keys collide between concurrent writes to one block: the
    # reference undercounts a little; ktrace keys by request
    check(total >= ref_all * 0.9, what + ": counts at least the reference's requests (ktrace %d, "
          "bpftrace %d)" % (total, ref_all))
    check_no_leak(kt)


def test_flags():
    """-F names the request flags this kernel sets, Idle and Preflush included.

    O_DIRECT writes to a block device are REQ_SYNC | REQ_IDLE (block/fops.c);
    with O_DSYNC the cache flush after each write is a Flush op with
    REQ_PREFLUSH (the loop device has a write cache and no FUA).
    """
    dev = make_loop()
    name = dev.split("/")[-1]
    kt = Ktrace("biolat", "--flags", "-b", name, "-j")
    sh(["dd", "if=/dev/zero", "of=" + dev, "bs=4k", "count=20", "seek=100", "oflag=direct",
        "status=none"])
    sh(["dd", "if=/dev/zero", "of=" + dev, "bs=4k", "count=5", "seek=200", "oflag=direct,dsync",
        "status=none"])
    direct_read(dev, 7, 300)
    time.sleep(0.3)
    check(kt.stop() == 0, "-F: exit status 0", kt.stderr())
    by = {}
    for r in hists(kt):
        by[r["key"].get("flags")] = by.get(r["key"].get("flags"), 0) + r["count"]
    log("-F: %s" % by)
    writes = sum(c for k, c in by.items() if k and k.endswith("-Write") and
                 {"Sync", "Idle"} <= set(k.split("-")))
    check(writes >= 25, "-F: O_DIRECT writes are Sync-Idle-Write (%d of 25)" % writes, by)
    flushes = sum(c for k, c in by.items() if k and k.endswith("Flush") and "Preflush" in k)
    check(flushes >= 5, "-F: O_DSYNC writes bring Preflush-Flush requests (%d)" % flushes, by)
    reads = sum(c for k, c in by.items() if k and k.split("-")[-1] == "Read")
    check(reads >= 7, "-F: the O_DIRECT reads are counted as reads (%d)" % reads, by)
    check(all(k and not re.search(r"Bit\d|Op\d", k) for k in by),
          "-F: every flag and op has a name", by)
    check_no_leak(kt)


def run():
    test()
    test_cgroup()
    test_flags()
    test_slow()
    test_merges()
    test_merges(cgroup=True)


main(run)
