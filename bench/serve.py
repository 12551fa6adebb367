#!/usr/bin/env python3
"""ktrace serve: what a scrape costs, and serve's memory next to the command's own.

usage: sudo bench/serve.py [path/to/ktrace] [--procs N] [--scrapes N] [--no-save]

A workload of N processes (default 500) each calling getppid and getpid
every 0.2 s gives `syscalls -P --top 0 --syscall getppid,getpid --hist` a
row per (call, process): 2N series per metric (the cap is 1000: the 1000th
and later fold into the `other` series), a counter, its errors, its time and
a histogram each. Then, with serve's metrics settled:

- scrape latency: --scrapes GETs of /metrics over one kept-alive connection
  (as Prometheus scrapes), each timed from the request to the last byte of
  the body, for both formats: p50, p90, p99, max, and the size;
- memory: serve's own RSS (the HTTP server and the latest metrics) and its
  command's, next to the RSS of the same command run alone with the same
  metrics (`ktrace syscalls ... -j --prom-textfile DIR 1`, its output thrown
  away) over the same workload.

Prints a table, and writes it to bench/results/<date>-<kernel>-serve.txt
unless --no-save.
"""
import argparse
import http.client
import os
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = ["syscalls", "-P", "--top", "0", "--syscall", "getppid,getpid", "--hist"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def workload(n):
    """n processes calling getppid and getpid every 0.2 s; returns their pids."""
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            end = time.time() + 120
            while time.time() < end and os.getppid() != 1:
                os.getpid()
                time.sleep(0.2)
            os._exit(0)
        pids.append(pid)
    return pids


def stop(pids):
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    for p in pids:
        try:
            os.waitpid(p, 0)
        except OSError:
            pass


def wait_ready(p, mark, timeout=30):
    end = time.time() + timeout
    buf = b""
    while time.time() < end:
        line = p.stderr.readline()
        if not line:
            break
        buf += line
        if mark in line:
            return
    raise RuntimeError("not ready: %s" % buf.decode(errors="replace"))


def series(text, metric):
    return sum(1 for line in text.splitlines() if line.startswith(metric + "{"))


def scrape_times(port, n, accept):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    times, size = [], 0
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", "/metrics", headers={"Accept": accept} if accept else {})
        r = conn.getresponse()
        body = r.read()
        times.append((time.perf_counter() - t) * 1000)
        size = len(body)
        if r.status != 200:
            raise RuntimeError("scrape: HTTP %d" % r.status)
    conn.close()
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    return pick(0.5), pick(0.9), pick(0.99), times[-1], size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ktrace", nargs="?", default=os.path.join(HERE, "..", "build", "ktrace"))
    ap.add_argument("--procs", type=int, default=500)
    ap.add_argument("--scrapes", type=int, default=200)
    ap.add_argument("--no-save", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/serve.py: run as root")
    port = free_port()
    out = []

    srv = subprocess.Popen([a.ktrace, "serve", "--listen", "127.0.0.1:%d" % port] + ARGS,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    pids = []
    try:
        wait_ready(srv, b"Hit Ctrl-C to end")
        pids = workload(a.procs)
        # until the rows of every process are in (two intervals without growth)
        last, text, stable = -1, "", 0
        end = time.time() + 30
        while time.time() < end and stable < 2:
            time.sleep(1)
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/metrics")
            text = c.getresponse().read().decode()
            c.close()
            n = series(text, "ktrace_syscalls_total")
            stable = stable + 1 if n == last else 0
            last = n
        nser = series(text, "ktrace_syscalls_total")
        nhist = series(text, "ktrace_syscalls_duration_seconds_count")
        lines = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        out.append("ktrace serve %s, %d processes: %d series per counter metric, %d histogram "
                   "series, %d samples in all" % (" ".join(ARGS), a.procs, nser, nhist, lines))
        for fmt, accept in (("text 0.0.4", None),
                            ("OpenMetrics", "application/openmetrics-text;version=1.0.0")):
            p50, p90, p99, mx, size = scrape_times(port, a.scrapes, accept)
            out.append("scrape %-12s %7d bytes: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms "
                       "(%d scrapes, one kept-alive connection)"
                       % (fmt, size, p50, p90, p99, mx, a.scrapes))
        kids = children(srv.pid)
        srss = rss_kb(srv.pid)
        crss = sum(rss_kb(k) for k in kids)
        srv.send_signal(signal.SIGTERM)
        srv.wait(30)

        pdir = tempfile.mkdtemp(prefix="ktb-serve-")
        alone = subprocess.Popen([a.ktrace] + ARGS + ["-j", "--prom-textfile", pdir, "1"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_ready(alone, b"Hit Ctrl-C to end")
        time.sleep(3)
        arss = rss_kb(alone.pid)
        alone.send_signal(signal.SIGTERM)
        alone.wait(30)
        shutil.rmtree(pdir, ignore_errors=True)
        out.append("RSS: serve's HTTP process %d kB + its command %d kB = %d kB; the command "
                   "alone (-j --prom-textfile DIR 1: the same metrics) %d kB: serve adds %+d kB"
                   % (srss, crss, srss + crss, arss, srss + crss - arss))
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
        stop(pids)
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    if not a.no_save:
        name = "%s-%s-serve.txt" % (time.strftime("%Y-%m-%d"), os.uname().release)
        with open(os.path.join(HERE, "results", name), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
