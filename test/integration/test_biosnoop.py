#!/usr/bin/env python3
"""ktrace biosnoop: each block request, with its submitter, disk, sector, size and latency."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

from ktlib import (Ktrace, at_exit, cgroup_v1, check, check_no_leak, in_cgroup, log, main,
                   make_loop, run_ktrace, skip)

SKIP_BLOCKS = 100  # the reads start at block 100 (sector 800) of the loop device

# The reference: completions on one device, counted by bpftrace.
REF_BT = r"""
tracepoint:block:block_rq_complete /args->dev == $1/ { @n = count(); }
"""

# The reference for latencies: issue -> completion of each request on one
# device, by sector, in microseconds.
REF_LAT_BT = r"""
tracepoint:block:block_rq_issue /args->dev == $1/ { @t[args->sector] = nsecs; }
tracepoint:block:block_rq_complete /args->dev == $1 && @t[args->sector]/ {
	printf("lat %d %d\n", args->sector, (nsecs - @t[args->sector]) / 1000);
	delete(@t[args->sector]);
}
END { clear(@t); }
"""


def dev_t(name):
    """The tracepoints' dev: major << 20 | minor."""
    with open("/sys/block/%s/dev" % name) as f:
        major, minor = f.read().strip().split(":")
    return int(major) << 20 | int(minor)


def dd_reads(dev, count, prefix=()):
    """count 4 KiB O_DIRECT reads from block SKIP_BLOCKS by one dd process; its pid."""
    argv = list(prefix) + ["dd", "if=" + dev, "of=/dev/null", "bs=4k", "count=%d" % count,
                           "skip=%d" % SKIP_BLOCKS, "iflag=direct", "status=none"]
    p = subprocess.Popen(argv)
    check(p.wait(60) == 0, "dd exits 0")
    return p.pid  # in_cgroup's shell execs dd: the same pid


class Bpftrace:
    """bpftrace running a script (REF_BT by default) for one device."""

    def __init__(self, dev, script=REF_BT):
        d = tempfile.mkdtemp(prefix="kt-bt-")
        at_exit(shutil.rmtree, d, True)
        path = os.path.join(d, "ref.bt")
        with open(path, "w") as f:
            f.write(script)
        self.out = open(os.path.join(d, "out"), "w+")
        self.p = subprocess.Popen(["bpftrace", path, str(dev)], stdout=self.out,
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
        self.p.send_signal(signal.SIGINT)
        self.p.wait(60)
        return self.count()

    def count(self):
        for line in self.text().splitlines():
            if line.startswith("@n: "):
                return int(line.split()[1])
        return 0

    def latencies_ms(self):
        """{sector: issue -> completion in ms} from REF_LAT_BT's lines."""
        out = {}
        for line in self.text().splitlines():
            w = line.split()
            if len(w) == 3 and w[0] == "lat":
                out[int(w[1])] = int(w[2]) / 1000.0
        return out


def check_reads(evs, pid, name, what):
    check(len(evs) == 10, what + ": exactly the 10 requests (got %d)" % len(evs), evs)
    check(all(e["pid"] == pid and e["comm"] == "dd" for e in evs),
          what + ": every request is dd's (pid %d), not the completing task's" % pid, evs)
    check(all(e["disk"] == name for e in evs), what + ": on " + name, evs)
    check(all(e["op"] == "Read" and e["rwbs"].startswith("R") for e in evs), what + ": reads (R)",
          evs)
    check(all(e["bytes"] == 4096 for e in evs), what + ": 4096 bytes each", evs)
    want = [(SKIP_BLOCKS + i) * 8 for i in range(10)]
    check(sorted(e["sector"] for e in evs) == want,
          what + ": sectors %d..%d, 8 apart, as dd's offsets" % (want[0], want[-1]), evs)


def test_fast():
    dev = make_loop()
    name = dev.split("/")[-1]
    have_bt = shutil.which("bpftrace") is not None
    ref = Bpftrace(dev_t(name)) if have_bt else None
    kt = Ktrace("biosnoop", "-b", name, "-j")
    kt_q = Ktrace("biosnoop", "-Q", "-b", name, "-j", env={"KTRACE_ATTACH": "raw_tp"})
    kt_slow = Ktrace("biosnoop", "--slower", "20", "-b", name, "-j")
    kt_text = Ktrace("biosnoop", "-b", name)
    pid = dd_reads(dev, 10)
    time.sleep(0.3)
    for k in (kt, kt_q, kt_slow, kt_text):
        check(k.stop() == 0, "exit status 0 (%s)" % " ".join(k.args[1:]), k.stderr())
    evs = kt.records("event")
    check_reads(evs, pid, name, "tp_btf")
    check(all(e["lat_ms"] > 0 and e["lat_ms"] < 10000 for e in evs), "latencies are plausible",
          evs)
    if ref:
        n = ref.stop()
        check(n == len(evs), "bpftrace counts the same completions on %s (%d, ktrace %d)"
              % (name, n, len(evs)))
    else:
        log("no bpftrace: the cross-check is skipped")
    meta = kt_q.records("meta")[0]
    check(all(a["type"] == "raw_tp" for a in meta["attach"] if a["type"]),
          "KTRACE_ATTACH=raw_tp: every hook on raw_tp", meta["attach"])
    evs_q = kt_q.records("event")
    check_reads(evs_q, pid, name, "raw_tp -Q")
    check(all(e["queue_ms"] is None or e["queue_ms"] >= 0 for e in evs_q),
          "-Q: queue times are null (issued directly) or >= 0", evs_q)
    check(kt_slow.records("event") == [], "--slower 20: a fast run shows none",
          kt_slow.records("event"))
    text = kt_text.stdout().splitlines()
    check(text and text[0].split()[:4] == ["COMM", "PID", "DISK", "T"] and "LAT(ms)" in text[0]
          and "QUE(ms)" not in text[0], "text header, no QUE(ms) without -Q", text[:1])
    rows = [l.split() for l in text[1:]]
    check(len(rows) == 10 and all(r[0] == "dd" and r[1] == str(pid) and r[2] == name and
                                  r[5] == "4096" for r in rows),
          "text: 10 lines of dd's reads", text)
    for k in (kt, kt_q, kt_slow, kt_text):
        check_no_leak(k)


def test_slow():
    """Throttled to 10 IOPS on vda under the loop device: slow reads, --slower 20 keeps them.

    blk-throttle lets a read through at once now and then (the first one of
    a fresh cgroup, and about one in ten after it): two reads elsewhere on
    the device (by another dd, just before) spend the first budget, and of the 10 reads at least 8 wait
    for their 100 ms slot (TRIGGERS.md). --slower 20 must keep exactly the
    ones the unfiltered run saw over 20 ms.
    """
    try:
        with open("/sys/block/vda/dev") as f:
            vda = f.read().strip()
    except OSError:
        skip("no /sys/block/vda: the throttled-loop recipe needs the root disk vda")
    dev = make_loop()
    name = dev.split("/")[-1]
    cg = cgroup_v1("blkio", "bsslow", {"blkio.throttle.read_iops_device": "%s 10" % vda,
                                        "blkio.throttle.write_iops_device": "%s 10" % vda})
    have_bt = shutil.which("bpftrace") is not None
    ref = Bpftrace(dev_t(name), REF_LAT_BT) if have_bt else None
    kt_all = Ktrace("biosnoop", "-b", name, "-j")
    kt = Ktrace("biosnoop", "--slower", "20", "-Q", "-b", name, "-j")
    t0 = time.time()
    prime = in_cgroup(cg, ["dd", "if=" + dev, "of=/dev/null", "bs=4k", "count=2", "skip=2000",
                           "iflag=direct", "status=none"])
    sh = "%s; exec \"$@\"" % " ".join("'%s'" % a for a in prime)
    pid = dd_reads(dev, 10, prefix=in_cgroup(cg, ["sh", "-c", sh, "sh"]))
    log("2 + 10 throttled reads took %.2fs" % (time.time() - t0))
    time.sleep(0.3)
    check(kt.stop() == 0, "--slower: exit status 0", kt.stderr())
    check(kt_all.stop() == 0, "exit status 0", kt_all.stderr())
    ours = [e for e in kt_all.records("event") if e["sector"] >= SKIP_BLOCKS * 8 and
            e["sector"] < (SKIP_BLOCKS + 10) * 8]
    check_reads(ours, pid, name, "throttled")
    slow = [e for e in ours if e["lat_ms"] >= 50]
    check(len(slow) >= 8, "throttled: >= 8 of the 10 latencies >= 50 ms",
          [e["lat_ms"] for e in ours])
    evs = [e for e in kt.records("event") if e["sector"] < 2000 * 8]  # not the priming reads
    check(len(evs) >= 8 and all(e["pid"] == pid and e["comm"] == "dd" and e["bytes"] == 4096 and
                                e["lat_ms"] > 20 for e in evs),
          "--slower 20: dd's slow reads, each over 20 ms (%d)" % len(evs), evs)
    slow_all = sorted(e["sector"] for e in kt_all.records("event") if e["lat_ms"] > 20)
    check(sorted(e["sector"] for e in kt.records("event")) == slow_all,
          "--slower 20 keeps exactly the requests over 20 ms", slow_all)
    if ref:
        ref.stop()
        bt = ref.latencies_ms()
        diffs = [(e["sector"], e["lat_ms"], bt.get(e["sector"])) for e in ours]
        # both read the clock in the same tracepoint calls: microseconds apart
        check(all(b is not None and abs(k - b) <= 1.0 for _, k, b in diffs),
              "each read's latency is bpftrace's for the same sector, within 1 ms", diffs)
    else:
        log("no bpftrace: the latency cross-check is skipped")
    check_no_leak(kt)
    check_no_leak(kt_all)


def test_usage():
    r = run_ktrace("biosnoop", "--slower", "x")
    check(r.returncode == 2 and "--slower" in r.stderr, "--slower x: usage error (2)", r.stderr)
    r = run_ktrace("biosnoop", "-b", "nosuchdisk0")
    check(r.returncode == 2 and "nosuchdisk0" in r.stderr, "-b nosuchdisk0: usage error (2)",
          r.stderr)


def run():
    test_usage()
    test_fast()
    test_slow()


main(run)
