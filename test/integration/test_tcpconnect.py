#!/usr/bin/env python3
"""tcpconnect: refused IPv4 and IPv6 connects, an established one and a timed
out one, made by a client inside a private network namespace (loopback only);
ktrace runs in the host namespace and must name the client's pid, the
addresses, ports and outcome of each. -c counts 50 established and 32
refused connects per destination as the workload and bpftrace count them.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktlib
from ktlib import check, check_no_leak

TABLE = "kttc"

# The client: each argument is FAMILY:ADDR:PORT:KIND; prints its pid and, per
# attempt, the local port and the errno connect() gave (0 = connected).
CLIENT = r'''
import errno, json, os, socket, sys
res = []
for spec in sys.argv[1:]:
    fam, port, kind = spec.split(",")
    af = socket.AF_INET6 if fam == "6" else socket.AF_INET
    addr = "::1" if fam == "6" else "127.0.0.1"
    if kind == "listen":
        l = socket.socket(af)
        l.bind((addr, int(port)))
        l.listen()
    s = socket.socket(af)
    s.bind((addr, 0))
    cport = s.getsockname()[1]
    try:
        s.connect((addr, int(port)))
        err = 0
    except OSError as e:
        err = e.errno
    res.append({"cport": cport, "err": err})
    s.close()
print(json.dumps({"pid": os.getpid(), "res": res}))
'''


def setup():
    ktlib.require_tool("nft", "nftables")
    ktlib.require_tool("ip", "iproute2")
    ns = ktlib.netns()
    ktlib.sh(["ip", "netns", "exec", ns, "sysctl", "-q", "net.ipv4.tcp_syn_retries=1"])
    ktlib.sh(["ip", "netns", "exec", ns, "nft", "add", "table", "inet", TABLE])
    ktlib.sh(["ip", "netns", "exec", ns, "nft", "add", "chain", "inet", TABLE, "in",
              "{ type filter hook input priority 0; policy accept; }"])
    return ns


def client(ns, *specs):
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", CLIENT] + list(specs),
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("client failed: %s" % out.stderr)
    return json.loads(out.stdout)


def events(kt):
    return kt.records("event")


def find(evs, cport):
    return [e for e in evs if e.get("lport") == cport]


def basic(ns, ports, attach=None):
    closed, listen = next(ports), next(ports)
    env = {"KTRACE_ATTACH": attach} if attach else None
    kt = ktlib.Ktrace("tcpconnect", "-j", env=env)
    c = client(ns, "4,%d,closed" % closed, "6,%d,closed" % closed, "4,%d,listen" % listen)
    kt.stop()
    tag = "[%s] " % attach if attach else ""
    check(kt.rc == 0, tag + "ktrace exited 0", kt.stderr())
    if attach:
        a = {x["hook"]: x.get("type") for x in kt.records("meta")[0]["attach"]}
        check(a.get("sock_state") == attach, tag + "sock_state attached with " + attach, a)
    evs = events(kt)
    r4, r6, est = c["res"]
    check(r4["err"] == 111 and r6["err"] == 111 and est["err"] == 0, tag + "client saw refused, refused, connected", c)
    for r, ip, addr, port, outcome, raw in ((r4, 4, "127.0.0.1", closed, "refused", 111),
                                            (r6, 6, "::1", closed, "refused", 111),
                                            (est, 4, "127.0.0.1", listen, "established", 0)):
        mine = find(evs, r["cport"])
        what = "%sIPv%d %s:%d -> :%d" % (tag, ip, addr, r["cport"], port)
        check(len(mine) == 1, what + ": exactly one record", evs)
        if not mine:
            continue
        e = mine[0]
        check(e.get("outcome") == outcome and e.get("outcome_raw") == raw,
              "%s: outcome %s (%d)" % (what, outcome, raw), e)
        check(e.get("pid") == c["pid"] and e.get("comm", "").startswith("python"),
              "%s: pid %d and comm of the caller" % (what, c["pid"]), e)
        check(e.get("ip") == ip and e.get("laddr") == addr and e.get("raddr") == addr
              and e.get("rport") == port, what + ": family, addresses and ports", e)
        check(isinstance(e.get("latency_ms"), float) and e["latency_ms"] > 0,
              what + ": latency > 0", e)
    check_no_leak(kt)


def failed_and_filters(ns, ports):
    """-x keeps only failures; -6 and --rport narrow the flows; -p the caller."""
    closed, listen = next(ports), next(ports)
    kx = ktlib.Ktrace("tcpconnect", "-j", "-x")
    k6 = ktlib.Ktrace("tcpconnect", "-j", "-6", "--rport", str(closed))
    c = client(ns, "4,%d,closed" % closed, "6,%d,closed" % closed, "4,%d,listen" % listen)
    kx.stop()
    k6.stop()
    r4, r6, est = c["res"]
    evs = events(kx)
    check(len(find(evs, r4["cport"])) == 1 and len(find(evs, r6["cport"])) == 1,
          "-x: both refused connects reported", evs)
    check(not find(evs, est["cport"]), "-x: the established connect is left out", evs)
    check(all(e.get("outcome") != "established" for e in evs), "-x: no established outcome at all", evs)
    evs = events(k6)
    check(len(find(evs, r6["cport"])) == 1, "-6 --rport: the IPv6 connect reported", evs)
    check(all(e.get("ip") == 6 and e.get("rport") == closed for e in evs),
          "-6 --rport %d: only IPv6 flows to that port" % closed, evs)
    check_no_leak(kx)
    check_no_leak(k6)


def timed_out(ns, ports):
    """SYNs dropped by nftables, tcp_syn_retries=1: connect() times out (~3 s)."""
    port = next(ports)
    ktlib.sh(["ip", "netns", "exec", ns, "nft", "add", "rule", "inet", TABLE, "in",
              "tcp", "dport", str(port), "drop"])
    kt = ktlib.Ktrace("tcpconnect", "-j", "--failed", "--rport", str(port))
    c = client(ns, "4,%d,closed" % port)
    kt.stop()
    r = c["res"][0]
    check(r["err"] == 110, "client's connect timed out (ETIMEDOUT)", c)
    evs = events(kt)
    mine = find(evs, r["cport"])
    check(len(mine) == 1 and mine[0].get("outcome") == "timed_out" and mine[0].get("outcome_raw") == 110
          and mine[0].get("pid") == c["pid"] and mine[0].get("rport") == port,
          "timed out connect to :%d reported as timed_out (110) by pid %d" % (port, c["pid"]), evs)
    check(mine and mine[0].get("latency_ms", 0) >= 1000, "timed out connect: latency >= 1 s", mine)
    check_no_leak(kt)


def text(ns, ports):
    closed = next(ports)
    kt = ktlib.Ktrace("tcpconnect", "--rport", str(closed))
    c = client(ns, "6,%d,closed" % closed)
    kt.stop()
    out = kt.stdout()
    line = [l for l in out.splitlines() if ":%d" % c["res"][0]["cport"] in l]
    check(len(line) == 1 and "refused" in line[0] and str(c["pid"]) in line[0]
          and "[::1]:%d" % closed in line[0], "text: one line with pid, [::1]:port and refused", out)


# SYN_SENT -> ESTABLISHED (1) or CLOSE (7) of connects to one port
REF_BT = r'''
tracepoint:sock:inet_sock_set_state /args->protocol == 6 && args->oldstate == 2 && args->dport == %d/
{
	@out[args->newstate] = count();
}
'''

# N connects to a listener on PORT, then M to the closed PORT+1, over FAMILY
STORM = r'''
import json, socket, sys
fam, port, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
af = socket.AF_INET6 if fam == "6" else socket.AF_INET
addr = "::1" if fam == "6" else "127.0.0.1"
l = socket.socket(af); l.bind((addr, port)); l.listen(128)
ok = bad = 0
for i in range(n):
    s = socket.socket(af)
    try:
        s.connect((addr, port)); ok += 1
    except OSError:
        pass
    s.close()
for i in range(m):
    s = socket.socket(af)
    try:
        s.connect((addr, port + 1))
    except ConnectionRefusedError:
        bad += 1
    s.close()
print(json.dumps({"established": ok, "refused": bad}))
'''




def bpftrace_stop(p, out):
    text = ktlib.bpftrace_stop(p, out)
    return {int(m.group(1)): int(m.group(2))
            for m in re.finditer(r"^@out\[(\d+)\]: (\d+)$", text, re.M)}


def counting(ns, ports):
    """-c: connects per destination, against the workload and bpftrace."""
    port = next(ports)
    next(ports)  # port + 1: the closed one
    refs = {}
    if shutil.which("bpftrace"):
        refs = {p: ktlib.bpftrace_start(REF_BT % p) for p in (port, port + 1)}
    else:
        ktlib.log("no bpftrace: -c runs without its bpftrace cross-check")
    kt = ktlib.Ktrace("tcpconnect", "-j", "-c")
    kx = ktlib.Ktrace("tcpconnect", "-c", "-x", "-6")
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", STORM, "4", str(port),
                          "40", "25"], capture_output=True, text=True, timeout=60)
    out6 = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", STORM, "6", str(port),
                           "10", "7"], capture_output=True, text=True, timeout=60)
    kt.stop()
    kx.stop()
    bt = {p: bpftrace_stop(*r) for p, r in refs.items()}
    w4, w6 = json.loads(out.stdout), json.loads(out6.stdout)
    check(w4 == {"established": 40, "refused": 25} and w6 == {"established": 10, "refused": 7},
          "the workload: 40 + 10 connected, 25 + 7 refused", (w4, w6))
    check(kt.rc == 0 and not kt.records("event"), "-c: exit 0 and no per-connect records", kt.stderr())
    tabs = [t for t in kt.records("table") if t.get("name") == "connects"]
    rows = tabs[-1].get("rows", []) if tabs else []

    def row(ip, addr, p):
        r = [x for x in rows if x.get("ip") == ip and x.get("raddr") == addr and x.get("rport") == p]
        return r[0] if len(r) == 1 else {}

    for ip, addr, w in ((4, "127.0.0.1", w4), (6, "::1", w6)):
        r = row(ip, addr, port)
        check(r.get("connects") == w["established"] and r.get("established") == w["established"]
              and r.get("refused") == 0, "-c: %s:%d: %d connects, all established" % (addr, port, w["established"]), rows)
        check(isinstance(r.get("avg_latency_ms"), float) and r["avg_latency_ms"] > 0,
              "-c: %s:%d: a mean latency" % (addr, port), r)
        r = row(ip, addr, port + 1)
        check(r.get("connects") == w["refused"] and r.get("refused") == w["refused"]
              and r.get("established") == 0, "-c: %s:%d: %d connects, all refused" % (addr, port + 1, w["refused"]), rows)
    if bt:
        check(bt[port].get(1) == 50 and not bt[port].get(7) and bt[port + 1].get(7) == 32
              and not bt[port + 1].get(1),
              "bpftrace saw the same: 50 SYN_SENT -> ESTABLISHED to :%d, 32 -> CLOSE to :%d"
              % (port, port + 1), bt)
    text = kx.stdout()
    lines = [l for l in text.splitlines() if "[::1]:" in l]
    check(len(lines) == 1 and ("[::1]:%d" % (port + 1)) in lines[0] and lines[0].split()[2:5] == ["7", "0", "7"],
          "-c -x -6, text: one row, [::1]:%d with 7 connects, 0 established, 7 refused" % (port + 1), text)
    check("Connects per destination" in text and "CONNECTS" in text, "-c text: title and header", text)
    check_no_leak(kt)


def main():
    ns = setup()
    base = random.randrange(20000, 30000, 20)
    ports = iter(range(base, base + 20))
    basic(ns, ports)
    failed_and_filters(ns, ports)
    text(ns, ports)
    timed_out(ns, ports)
    counting(ns, ports)
    for attach in ("raw_tp", "tracepoint"):
        basic(ns, ports, attach)


if __name__ == "__main__":
    ktlib.main(main)
