#!/usr/bin/env python3
"""--prom-textfile: metrics for node_exporter's textfile collector.

1. biolat -D -b LOOP -j --prom-textfile DIR 1 over direct reads of a loop
   device: the .prom file exists after the first interval, every read of it
   while ktrace rewrites it each second is whole, and at the end its
   cumulative count for the disk equals the sum of the JSON histograms'
   counts of every interval (the renderer keeps state across drains), with
   buckets cumulative, +Inf == _count, base units (seconds).
2. promtool check metrics accepts the file (and runqlat's); mode 0644, no
   temporary file left behind.
   syscalls -p over sysmix (5000 getppid, 300 failed openat) at 1 s
   intervals: table rows become counters, getppid's equal to the sum of
   the JSON tables, openat's errors >= 300, time in seconds.
3. node_exporter with only the textfile collector scrapes the directory:
   node_textfile_scrape_error 0 and the same count under the same name.
4. A symlink or a missing directory is refused before tracing (exit 1);
   on a full file system each interval warns, the run exits 1, and the old
   file is left whole; a stream command has no such option (exit 2).
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import ktlib
from ktlib import Ktrace, at_exit, check, check_no_leak, make_loop, run_ktrace, sh

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def parse(text):
    """[(name, {label: value}, float)] of an exposition text (simple label values only)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError("not a sample line: %r" % line)
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def value(samples, name, **labels):
    for n, l, v in samples:
        if n == name and all(l.get(k) == w for k, w in labels.items()):
            return v
    return None


def direct_read(dev, count, skip_blocks=0):
    sh(["dd", "if=" + dev, "of=/dev/null", "bs=4k", "count=%d" % count, "skip=%d" % skip_blocks,
        "iflag=direct", "status=none"])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def node_exporter(directory):
    exe = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    if not exe:
        ktlib.log("SKIP part: prometheus-node-exporter not installed "
                  "(apt-get install prometheus-node-exporter)")
        return None
    port = free_port()
    p = subprocess.Popen([exe, "--collector.disable-defaults", "--collector.textfile",
                          "--collector.textfile.directory=" + directory,
                          "--web.listen-address=127.0.0.1:%d" % port],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    at_exit(lambda: p.poll() is None and (p.kill(), p.wait()))
    end = time.time() + 20
    while time.time() < end:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2) as r:
                return r.read().decode()
        except OSError:
            if p.poll() is not None:
                raise RuntimeError("node_exporter exited: %s" % p.stderr.read().decode())
            time.sleep(0.2)
    raise RuntimeError("node_exporter did not answer on port %d" % port)


def test():
    ktlib.require_tool("promtool", "prometheus")
    dev = make_loop()
    disk = dev.split("/")[-1]
    d = tempfile.mkdtemp(prefix="kt-prom-")
    os.chmod(d, 0o755)
    at_exit(shutil.rmtree, d, True)
    path = os.path.join(d, "ktrace_biolat.prom")
    name = "ktrace_biolat_latency_seconds"

    kt = Ktrace("biolat", "-D", "-b", disk, "-j", "--prom-textfile", d, "1")
    direct_read(dev, 20)
    end = time.time() + 10
    first = None
    while time.time() < end and first is None:
        if os.path.exists(path):
            first = value(parse(open(path).read()), name + "_count", disk=disk)
        time.sleep(0.1)
    check(first is not None and first >= 20,
          "after the first interval the file has the disk's >= 20 requests (%s)" % first)
    # ktrace replaces the file every second: no read may see half of it
    torn = []
    end = time.time() + 2.5
    while time.time() < end:
        with open(path) as f:
            t = f.read()
        if not t.endswith("\n") or "# TYPE %s histogram" % name not in t or name + "_count" not in t:
            torn.append(t[-200:])
        time.sleep(0.01)
    check(not torn, "every read during the rewrites is a whole file", torn[:2])
    direct_read(dev, 30, 200)
    time.sleep(0.3)
    check(kt.stop() == 0, "biolat --prom-textfile exits 0", kt.stderr())
    check_no_leak(kt)

    text = open(path).read()
    s = parse(text)
    jtotal = sum(r["count"] for r in kt.records("hist") if r["key"].get("disk") == disk)
    count = value(s, name + "_count", disk=disk)
    check(jtotal >= 50 and count == jtotal,
          "cumulative count across intervals == the JSON histograms' sum (%s, json %d)"
          % (count, jtotal), text)
    buckets = [(float(l["le"]), v) for n, l, v in s
               if n == name + "_bucket" and l.get("disk") == disk]
    check(buckets and buckets[-1] == (float("inf"), count),
          "the +Inf bucket holds the count", buckets)
    check(all(a[0] < b[0] and a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
          "buckets rise in le and are cumulative", buckets)
    check(all(le == float("inf") or (le * 1e6).is_integer() and le < 10 for le, _ in buckets),
          "le in seconds at microsecond log2 bounds", buckets)
    total = value(s, name + "_sum", disk=disk)
    check(total is not None and 0 < total < count * 10, "an estimated _sum in seconds (%s)" % total)
    check("# HELP %s " % name in text and "estimated" in text, "HELP says the sum is estimated")
    r = sh(["promtool", "check", "metrics"], check_rc=False, input=text)
    check(r.returncode == 0, "promtool check metrics passes on biolat's file", r.stdout + r.stderr)
    st = os.stat(path)
    check(st.st_mode & 0o777 == 0o644, "the file is 0644 (node_exporter's user reads it)",
          oct(st.st_mode))
    check(os.listdir(d) == ["ktrace_biolat.prom"], "no temporary file left", os.listdir(d))

    # a second command, with a count: the file is written at every interval and at the end
    r = run_ktrace("runqlat", "--prom-textfile", d, "1", "2", timeout=60)
    check(r.returncode == 0, "runqlat --prom-textfile 1 2 exits 0", r.stderr)
    rq = open(os.path.join(d, "ktrace_runqlat.prom")).read()
    check(value(parse(rq), "ktrace_runqlat_latency_seconds_count") > 0,
          "runqlat's metrics have waits", rq[:500])
    r = sh(["promtool", "check", "metrics"], check_rc=False, input=rq)
    check(r.returncode == 0, "promtool check metrics passes on runqlat's file", r.stdout + r.stderr)

    # table rows: syscalls' counts of a workload with a known mix, across intervals
    missing = os.path.join(d, "nothere")
    w = subprocess.Popen([ktlib.workload("sysmix"), "5000", "300", missing], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    at_exit(lambda: w.poll() is None and (w.kill(), w.wait()))
    kt = Ktrace("syscalls", "-p", w.pid, "-j", "--prom-textfile", d, "1")
    w.communicate("go\n", timeout=30)
    time.sleep(1.2)
    check(kt.stop() == 0, "syscalls --prom-textfile exits 0", kt.stderr())
    sc = open(os.path.join(d, "ktrace_syscalls.prom")).read()
    ss = parse(sc)
    rows = [row for t in kt.records("table") for row in t["rows"]]
    jp = sum(row["count"] for row in rows if row["syscall"] == "getppid")
    pp = value(ss, "ktrace_syscalls_total", syscall="getppid")
    check(jp >= 5000 and pp == jp, "getppid: counter == the JSON tables' sum, >= 5000 (%s, json %d)"
          % (pp, jp), sc[:1500])
    oe = value(ss, "ktrace_syscalls_errors_total", syscall="openat")
    check(oe is not None and oe >= 300, "openat: errors counter >= 300 (%s)" % oe)
    st = value(ss, "ktrace_syscalls_seconds_total", syscall="getppid")
    check(st is not None and 0 < st < 5, "getppid: time counter in seconds (%s)" % st)
    r = sh(["promtool", "check", "metrics"], check_rc=False, input=sc)
    check(r.returncode == 0, "promtool check metrics passes on syscalls' file", r.stdout + r.stderr)

    scraped = node_exporter(d)
    if scraped is not None:
        ns = parse(scraped)
        check(value(ns, "node_textfile_scrape_error") == 0, "node_textfile_scrape_error 0",
              [l for l in scraped.splitlines() if "textfile" in l])
        check(value(ns, name + "_count", disk=disk) == count,
              "node_exporter shows biolat's count for %s (%s)" % (disk, count),
              [l for l in scraped.splitlines() if "ktrace_biolat" in l][:20])
        check(value(ns, "ktrace_runqlat_latency_seconds_count") is not None,
              "node_exporter shows runqlat's metrics too")

    # refused before tracing
    link = os.path.join(tempfile.gettempdir(), ktlib.UNIQUE + "-promlink")
    os.symlink(d, link)
    at_exit(os.unlink, link)
    r = run_ktrace("biolat", "--prom-textfile", link, "1", "1")
    check(r.returncode == 1 and "symbolic link" in r.stderr, "a symlink as DIR: exit 1, said why",
          r.stderr)
    r = run_ktrace("biolat", "--prom-textfile", os.path.join(d, "nothere"), "1", "1")
    check(r.returncode == 1 and "does not exist" in r.stderr, "a missing DIR: exit 1, said why",
          r.stderr)
    # a full file system: each interval warns, the end fails the run; the old file stays whole
    full = tempfile.mkdtemp(prefix="kt-prom-full-")
    at_exit(shutil.rmtree, full, True)
    if sh(["mount", "-t", "tmpfs", "-o", "size=64k", "none", full], check_rc=False).returncode == 0:
        at_exit(sh, ["umount", "-l", full], False)
        with open(os.path.join(full, "ktrace_runqlat.prom"), "w") as f:
            f.write("# an older version\n")
        sh("dd if=/dev/zero of=%s/fill bs=4k status=none" % full, check_rc=False)
        r = run_ktrace("runqlat", "--prom-textfile", full, "1", "2")
        check(r.returncode == 1 and r.stderr.count("writing the metrics failed") == 2 and
              "No space left" in r.stderr and r.stderr.count("trying again") == 1,
              "ENOSPC: a warning at the interval, exit 1 at the end", r.stderr)
        check(open(os.path.join(full, "ktrace_runqlat.prom")).read() == "# an older version\n"
              and sorted(os.listdir(full)) == ["fill", "ktrace_runqlat.prom"],
              "ENOSPC: the old file untouched, no temporary file left", os.listdir(full))
    else:
        ktlib.log("cannot mount a tmpfs: ENOSPC part skipped")

    r = run_ktrace("exec", "--prom-textfile", d)
    check(r.returncode == 2, "a stream command has no --prom-textfile (usage error)", r.stderr)


if __name__ == "__main__":
    ktlib.main(test)
