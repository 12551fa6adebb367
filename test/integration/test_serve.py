#!/usr/bin/env python3
"""ktrace serve: summary commands' metrics over HTTP, scraped by a real Prometheus.

1. Errors before anything is traced: a bad --listen (2), a port in use (1),
   an unknown command (2), a stream command (2, naming the summary
   commands), non-root (1); a command that fails to start (runqlat -p of a
   pid that does not exist) fails serve with its error and leaves none of
   the other command's programs behind.
2. `serve biolat -D -- runqlat` scraped every second by Prometheus (Debian's
   package, a temporary directory, a free port) while a process in a blkio
   cgroup (vda throttled to 10 reads/s, TRIGGERS.md: cgroup v2's io.max is
   not available on this machine) reads a loop device with O_DIRECT:
   histogram_quantile(0.5, ...) of the loop device's latency, through
   Prometheus's HTTP API, lies between 50 ms and 500 ms. promtool check
   metrics passes on the text format; the OpenMetrics answer (Accept) ends
   in # EOF and parses with prometheus_client's strict OpenMetrics parser
   (python3-prometheus-client) when it is there. Counters never go down
   between scrapes; only GET/HEAD of /metrics and / are answered.
3. Hostile clients: a slowloris (a header byte per second), 1 MB of headers,
   1000 idle connections (from other loopback addresses): a scrape loop
   still succeeds within a second each, serve's RSS stays bounded, and
   serve answers afterwards.
4. A command killed under serve is reported (stderr, ktrace_serve_command_up
   0) while the other is still served; SIGTERM stops serve and every
   program of its commands is gone (bpftool), exit 1 for the dead command.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import ktlib
from ktlib import (UNIQUE, Ktrace, all_prog_ids, at_exit, bpf_progs_of, cgroup_v1, check,
                   in_cgroup, log, make_loop, run_ktrace, sh)

OM_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(port, path="/metrics", accept=None, method="GET", timeout=2):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    if accept:
        req.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), ""


def value(text, name, **labels):
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, v = line.rpartition(" ")
        n = head.split("{")[0]
        if n != name:
            continue
        if all('%s="%s"' % kv in head for kv in labels.items()):
            return float(v)
    return None


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def om_parser():
    try:
        from prometheus_client.openmetrics import parser
        return parser
    except ImportError:
        pass
    if "/usr/lib/python3/dist-packages" not in sys.path:  # Debian's package, another python
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            from prometheus_client.openmetrics import parser
            return parser
        except ImportError:
            pass
    return None


def test_errors():
    r = run_ktrace("serve", "--listen", "localhost", "biolat")
    check(r.returncode == 2 and "--listen" in r.stderr, "a bad --listen: exit 2 and why", r.stderr)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    r = run_ktrace("serve", "--listen", "127.0.0.1:%d" % port, "biolat")
    busy.close()
    check(r.returncode == 1 and "Address already in use" in r.stderr,
          "a port in use: exit 1 and why", r.stderr)
    r = run_ktrace("serve", "biolatt")
    check(r.returncode == 2 and "unknown command 'biolatt'" in r.stderr and "biolat" in r.stderr,
          "an unknown command: exit 2, a suggestion", r.stderr)
    r = run_ktrace("serve", "biolat", "--", "exec")
    check(r.returncode == 2 and "exec is not a summary command" in r.stderr and
          "runqlat" in r.stderr, "a stream command: exit 2, the summary commands named", r.stderr)
    r = run_ktrace("serve", "biolat", user=ktlib.nobody())
    check(r.returncode == 1 and "CAP_BPF" in r.stderr, "non-root: exit 1, the capabilities named",
          r.stderr)
    before = all_prog_ids()
    r = run_ktrace("serve", "--listen", "127.0.0.1:%d" % free_port(), "biolat", "--",
                   "runqlat", "-p", "999999999")
    check(r.returncode == 2 and "runqlat did not start" in r.stderr,
          "a command that cannot start fails serve with its error (exit 2 here)", r.stderr)
    time.sleep(0.3)
    check(not (all_prog_ids() - before), "and leaves no program of the other command behind")


def prometheus(port, target_port, d):
    cfg = os.path.join(d, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: ktrace\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % target_port)
    p = subprocess.Popen(["prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" + d + "/data",
                          "--web.listen-address=127.0.0.1:%d" % port],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    at_exit(lambda: p.poll() is None and (p.terminate(), p.wait()))
    return p


def query(port, q):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": q}))
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            res = json.load(r)["data"]["result"]
    except (OSError, ValueError, KeyError):
        return None
    return float(res[0]["value"][1]) if res else None


def test():
    ktlib.require_tool("prometheus")
    ktlib.require_tool("promtool", "prometheus")
    test_errors()

    dev = make_loop()
    disk = dev.split("/")[-1]
    try:
        with open("/sys/block/vda/dev") as f:
            vda = f.read().strip()
    except OSError:
        ktlib.skip("no /sys/block/vda: the throttled-loop recipe needs the root disk vda")
    cg = cgroup_v1("blkio", "serve", {"blkio.throttle.read_iops_device": "%s 10" % vda})
    port, pport = free_port(), free_port()
    d = tempfile.mkdtemp(prefix="kt-serve-")
    at_exit(shutil.rmtree, d, True)
    prom = prometheus(pport, port, d)
    kt = Ktrace("serve", "--listen", "127.0.0.1:%d" % port, "biolat", "-D", "--", "runqlat")
    kids = children(kt.pid)
    progs = sorted({i for k in kids for i in bpf_progs_of(k)})
    check(len(kids) == 2 and progs, "serve runs two commands with their programs (%s)" % progs)

    # throttled reads while Prometheus scrapes every second
    reader = subprocess.Popen(in_cgroup(cg, ["dd", "if=" + dev, "of=/dev/null", "bs=4k",
                                             "count=60", "iflag=direct", "status=none"]))
    at_exit(lambda: reader.poll() is None and (reader.kill(), reader.wait()))
    name = "ktrace_biolat_latency_seconds"
    q = 'histogram_quantile(0.5, sum by (le) (rate(%s_bucket{disk="%s"}[4s])))' % (name, disk)
    p50 = None
    end = time.time() + 15
    time.sleep(4)
    while time.time() < end and p50 is None:
        p50 = query(pport, q)
        time.sleep(0.5)
    up = query(pport, 'up{job="ktrace"}')
    check(up == 1, "Prometheus scrapes serve (up 1)", prom.poll() or prom.stderr)
    check(p50 is not None and 0.05 <= p50 <= 0.5,
          "Prometheus: the median latency of %s is between 50 and 500 ms (%s s)" % (disk, p50))

    st, ct, text = get(port)
    check(st == 200 and ct.startswith("text/plain; version=0.0.4"), "text format by default", ct)
    r = sh(["promtool", "check", "metrics"], check_rc=False, input=text)
    check(r.returncode == 0, "promtool check metrics passes on the served text", r.stdout + r.stderr)
    check((value(text, name + "_count", disk=disk) or 0) >= 10 and
          value(text, "ktrace_serve_command_up", command="runqlat") == 1,
          "the loop device's reads and both commands up", text[:3000])
    st, ct, om = get(port, accept=OM_ACCEPT)
    check(st == 200 and ct.startswith("application/openmetrics-text; version=1.0.0") and
          om.endswith("# EOF\n") and "# TYPE ktrace_runqlat_lost counter" in om,
          "OpenMetrics when asked: # EOF, counter families without _total", om[-300:])
    parser = om_parser()
    if parser:
        try:
            fams = list(parser.text_string_to_metric_families(om))
            check(len(fams) >= 3, "prometheus_client's OpenMetrics parser accepts it (%d families)"
                  % len(fams))
        except ValueError as e:
            check(False, "prometheus_client's OpenMetrics parser accepts it", e)
    else:
        log("(python3-prometheus-client not installed: the OpenMetrics parse is skipped)")
    c1 = value(text, "ktrace_runqlat_latency_seconds_count")
    time.sleep(1.2)
    c2 = value(get(port)[2], "ktrace_runqlat_latency_seconds_count")
    check(c1 is not None and c2 is not None and c2 >= c1, "counts never go down (%s, %s)" % (c1, c2))
    check(get(port, method="POST")[0] == 405 and get(port, "/x")[0] == 404 and
          get(port, method="HEAD")[0] == 200 and "/metrics" in get(port, "/")[2],
          "POST 405, another path 404, HEAD 200, / points to /metrics")

    hostile(port, kt.pid)
    die_and_stop(kt, port, kids, progs)


def hostile(port, pid):
    """Slowloris, 1 MB of headers and 1000 idle connections, while a scrape loop runs."""
    rss0 = rss_kb(pid)
    stop = threading.Event()
    socks = []

    def slowloris():
        s = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0))
        socks.append(s)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        while not stop.is_set():
            try:
                s.sendall(b"a")
            except OSError:
                return
            stop.wait(1)

    def big_headers():
        s = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.3", 0))
        socks.append(s)
        s.settimeout(5)
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n" +
                      b"".join(b"X-Big-%d: %s\r\n" % (i, b"b" * 1000) for i in range(1000)) + b"\r\n")
            answer = s.recv(200)
        except OSError as e:
            answer = repr(e).encode()
        results["big"] = answer

    results = {}
    t1 = threading.Thread(target=slowloris, daemon=True)
    t2 = threading.Thread(target=big_headers, daemon=True)
    t1.start()
    t2.start()
    idle = 0
    for i in range(1000):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=2,
                                                  source_address=("127.0.0.4", 0)))
            idle += 1
        except OSError:
            pass
    times = []
    for _ in range(10):
        t = time.time()
        ok = get(port, timeout=1)[0] == 200
        times.append(time.time() - t if ok else None)
        time.sleep(0.1)
    t2.join(6)
    rss1 = rss_kb(pid)
    stop.set()
    for s in socks:
        s.close()
    check(all(x is not None and x < 1 for x in times),
          "with a slowloris, 1 MB of headers and %d idle connections opened, 10 scrapes succeed "
          "within a second each (%s)" % (idle, ["%.3f" % x if x else x for x in times]))
    big = results.get("big", b"")
    check(b" 431 " in big or b"reset" in big.lower() or big == b"",
          "1 MB of headers: refused (%r)" % big[:40])
    check(rss1 - rss0 < 16 << 10, "serve's RSS grew less than 16 MB (%d -> %d kB)" % (rss0, rss1))
    time.sleep(0.3)
    check(get(port)[0] == 200, "serve answers after the hostile clients are gone")


def die_and_stop(kt, port, kids, progs):
    """A command killed: reported, the other one still served; SIGTERM: everything detached."""
    rq = sorted(kids)[1]  # forked second
    os.kill(rq, signal.SIGKILL)
    text = ""
    end = time.time() + 5
    while time.time() < end:
        text = get(port)[2]
        if value(text, "ktrace_serve_command_up", command="runqlat") == 0:
            break
        time.sleep(0.1)
    check(value(text, "ktrace_serve_command_up", command="runqlat") == 0 and
          value(text, "ktrace_serve_command_up", command="biolat") == 1 and
          "ktrace_biolat_latency_seconds" in text and "ktrace_runqlat_latency" not in text,
          "a killed command: up 0, its metrics gone, the other still served", text[-600:])
    check("runqlat (pid %d) was killed by signal 9" % rq in kt.stderr(),
          "and serve says so on stderr", kt.stderr())
    rc = kt.stop(signal.SIGTERM)
    check(rc == 1, "SIGTERM stops serve: exit 1 after a command died (%d)" % rc, kt.stderr())
    left = None
    for _ in range(20):
        left = sorted(set(progs) & all_prog_ids())
        if not left:
            break
        time.sleep(0.1)
    check(not left, "none of the commands' %d programs is left" % len(progs), left)
    check(not any(os.path.exists("/proc/%d" % k) for k in kids), "no command process is left")


if __name__ == "__main__":
    ktlib.main(test)
