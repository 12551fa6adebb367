#!/usr/bin/env python3
"""tcplife: sessions in a private network namespace (loopback only), ktrace
in the host namespace.

1. A client connects and sends 300000 bytes; a server thread of the same
   process reads them, answers 1000 bytes and closes its side; the client
   reads to the end, forks, and its child closes the socket last (the
   parent closed its copy first).
   ktrace -j shows both sessions with the workload's own byte counts, the
   client's session under the parent (the opener), not the child, with
   opened_by "connect"; the server's with opened_by "close". bpftrace
   reads the kernel's counters at the same CLOSE: bytes_acked = payload +
   SYN + FIN on the client (so ktrace's 300000 is the kernel's 300002
   minus those two), and the same on every other session of the run.
2. -p PARENT --lport SPORT: exactly the server's session;
   -n python --rport SPORT the client's
   session, -n nosuchcomm nothing.
3. IPv6 over ::1, text with -w: one line per session with the [::1]:port
   endpoints and the kilobytes; the refused connect before it shows 0 bytes.
4. The raw_tp and tracepoint alternatives give the same bytes.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktlib
from ktlib import check, check_no_leak

# argv: FAMILY SPORT CLOSEDPORT. Prints {"pid"}, waits for a line, then runs one
# session (and a refused connect to CLOSEDPORT first) and prints what it did.
WORKLOAD = r'''
import json, os, socket, sys, threading
fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
addr = "::1" if sys.argv[1] == "6" else "127.0.0.1"
sport, closed = int(sys.argv[2]), int(sys.argv[3])
print(json.dumps({"pid": os.getpid()}), flush=True)
sys.stdin.readline()
r = socket.socket(fam)
r.bind((addr, 0))
rport = r.getsockname()[1]
try:
    r.connect((addr, closed))
except ConnectionRefusedError:
    pass
r.close()
l = socket.socket(fam)
l.bind((addr, sport))
l.listen()
got = {}
def serve():
    s, _ = l.accept()
    n = 0
    while n < 300000:
        b = s.recv(65536)
        if not b:
            break
        n += len(b)
    s.sendall(b"y" * 1000)
    got["server_rx"] = n
    s.close()
t = threading.Thread(target=serve)
t.start()
c = socket.socket(fam)
c.bind((addr, 0))
cport = c.getsockname()[1]
c.connect((addr, sport))
c.sendall(b"x" * 300000)
m = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    m += len(b)
t.join()
l.close()
# the child closes the client socket last: the parent drops its copy first
rd, wr = os.pipe()
child = os.fork()
if child == 0:
    os.read(rd, 1)
    c.close()
    os._exit(0)
c.close()
os.write(wr, b"x")
os.waitpid(child, 0)
print(json.dumps({"cport": cport, "child": child, "client_tx": 300000, "client_rx": m,
                  "server_rx": got["server_rx"], "refused_port": rport}), flush=True)
'''

REF_BT = r'''
tracepoint:sock:inet_sock_set_state /args->protocol == 6 && args->newstate == 7/
{
	$tp = (struct tcp_sock *)args->skaddr;
	printf("close %d %d %d %d\n", args->sport, args->dport, $tp->bytes_acked, $tp->bytes_received);
}
'''


class Workload:
    def __init__(self, ns, fam, sport, closed):
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", WORKLOAD,
                                   fam, str(sport), str(closed)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ktlib.at_exit(lambda: self.p.poll() is None and (self.p.kill(), self.p.wait()))
        self.pid = json.loads(self.p.stdout.readline())["pid"]

    def run(self):
        self.p.stdin.write("go\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        self.p.wait(60)
        if not line:
            raise RuntimeError("the workload failed")
        return json.loads(line)




def bpftrace_stop(p, out):
    text = ktlib.bpftrace_stop(p, out)
    res = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 5 and f[0] == "close":
            res[(int(f[1]), int(f[2]))] = (int(f[3]), int(f[4]))
    return res


def one(evs, lport, rport):
    return [e for e in evs if e.get("lport") == lport and e.get("rport") == rport]


def session(ns, ports):
    sport, closed = next(ports), next(ports)
    w = Workload(ns, "4", sport, closed)
    ref = ktlib.bpftrace_start(REF_BT) if shutil.which("bpftrace") else None
    if not ref:
        ktlib.log("no bpftrace: the byte counts run without their cross-check")
    kt = ktlib.Ktrace("tcplife", "-j")
    kp = ktlib.Ktrace("tcplife", "-j", "-p", w.pid, "--lport", sport)
    r = w.run()
    time.sleep(0.3)
    for k in (kt, kp):
        k.stop()
    raw = bpftrace_stop(*ref) if ref else None
    check(kt.rc == 0 and kp.rc == 0, "ktrace exited 0", kt.stderr() + kp.stderr())
    check(r["client_rx"] == 1000 and r["server_rx"] == 300000, "the workload moved 300000 + 1000 bytes", r)
    evs = kt.records("event")
    cl, sv = one(evs, r["cport"], sport), one(evs, sport, r["cport"])
    check(len(cl) == 1 and len(sv) == 1, "one record for each side of the session", evs)
    if cl:
        e = cl[0]
        check(e.get("tx_bytes") == 300000 and e.get("rx_bytes") == 1000,
              "client: tx 300000, rx 1000 bytes (the workload's counts)", e)
        check(e.get("pid") == w.pid and e.get("opened_by") == "connect",
              "client: the opener's pid %d, not the child %d that closed it" % (w.pid, r["child"]), e)
        check(e.get("comm", "").startswith("python"), "client: the opener's comm", e)
        check(e.get("ip") == 4 and e.get("laddr") == "127.0.0.1" and e.get("raddr") == "127.0.0.1",
              "client: family and addresses as strings", e)
        check(isinstance(e.get("duration_ms"), float) and 0 < e["duration_ms"] < 30000,
              "client: a lifetime in ms", e)
        check(e.get("from_state") == "LAST_ACK" and e.get("from_state_raw") == 9,
              "client: closed from LAST_ACK (name and raw)", e)
    if sv:
        e = sv[0]
        check(e.get("tx_bytes") == 1000 and e.get("rx_bytes") == 300000,
              "server: tx 1000, rx 300000 bytes", e)
        check(e.get("pid") == w.pid and e.get("opened_by") == "close",
              "server: the process that closed the accepted socket", e)
        check(e.get("from_state") == "FIN_WAIT2", "server: closed from FIN_WAIT2", e)
    rf = one(evs, r["refused_port"], closed)
    check(len(rf) == 1 and rf[0].get("tx_bytes") == 0 and rf[0].get("rx_bytes") == 0
          and rf[0].get("from_state") == "SYN_SENT" and rf[0].get("pid") == w.pid,
          "the refused connect: one session of 0 bytes from SYN_SENT", rf)
    if raw is not None:
        rc, rs = raw.get((r["cport"], sport)), raw.get((sport, r["cport"]))
        check(rc == (300002, 1001) and rs == (1001, 300001),
              "bpftrace: the kernel's counters are payload + SYN + FIN (client) and + FIN (server)",
              (rc, rs))
        # every other session of the run (the machine is shared): the kernel's
        # counters are at most 2 (tx) and 1 (rx) above what ktrace reports
        n = 0
        for e in evs:
            k = raw.get((e["lport"], e["rport"]))
            if not k:
                continue
            n += 1
            check(0 <= k[0] - e["tx_bytes"] <= 2 and 0 <= k[1] - e["rx_bytes"] <= 1,
                  "bpftrace agrees on %d -> %d" % (e["lport"], e["rport"]), (k, e))
        check(n >= 3, "bpftrace saw the sessions ktrace saw (%d)" % n)
    evs = kp.records("event")
    check(len(evs) == 1 and evs[0].get("lport") == sport and evs[0].get("pid") == w.pid,
          "-p %d --lport %d: exactly the server's session" % (w.pid, sport), evs)
    for k in (kt, kp):
        check_no_leak(k)


def comm_filter(ns, ports):
    """-n on the opener's comm passes the session, another comm drops it."""
    sport, closed = next(ports), next(ports)
    w = Workload(ns, "4", sport, closed)
    ka = ktlib.Ktrace("tcplife", "-j", "-n", "python", "--rport", sport)
    kn = ktlib.Ktrace("tcplife", "-j", "-n", "nosuchcomm", "--rport", sport)
    r = w.run()
    ka.stop()
    kn.stop()
    evs = ka.records("event")
    check(len(evs) == 1 and evs[0].get("lport") == r["cport"] and evs[0].get("pid") == w.pid,
          "-n python --rport %d: the client's session" % sport, evs)
    check(not kn.records("event"), "-n nosuchcomm: nothing", kn.stdout())


def text_v6(ns, ports):
    sport, closed = next(ports), next(ports)
    w = Workload(ns, "6", sport, closed)
    kt = ktlib.Ktrace("tcplife", "-w", "-6", "-p", w.pid)
    r = w.run()
    time.sleep(0.2)
    kt.stop()
    out = kt.stdout()
    check(kt.rc == 0, "text: exit 0", kt.stderr())
    head = out.splitlines()[0] if out else ""
    check(all(h in head for h in ("PID", "COMM", "LADDR:LPORT", "RADDR:RPORT", "TX_KB", "RX_KB", "MS")),
          "text: the header", out)
    line = [l for l in out.splitlines() if "[::1]:%d" % r["cport"] in l.split()[3:4]]
    check(len(line) == 1 and str(w.pid) in line[0] and "[::1]:%d" % sport in line[0]
          and line[0].split()[5:7] == ["292", "0"],
          "text -w: the client's line with [::1] endpoints and 292 KB sent", out)


def attach(ns, ports, how):
    sport, closed = next(ports), next(ports)
    w = Workload(ns, "4", sport, closed)
    kt = ktlib.Ktrace("tcplife", "-j", "-p", w.pid, env={"KTRACE_ATTACH": how})
    r = w.run()
    kt.stop()
    a = {x["hook"]: x.get("type") for x in kt.records("meta")[0]["attach"]}
    check(a.get("sock_state") == how, "[%s] attached with %s" % (how, how), a)
    evs = kt.records("event")
    cl = one(evs, r["cport"], sport)
    check(len(cl) == 1 and cl[0].get("tx_bytes") == 300000 and cl[0].get("rx_bytes") == 1000
          and cl[0].get("pid") == w.pid, "[%s] the client's session and bytes" % how, evs)
    check_no_leak(kt)


def main():
    ktlib.require_tool("ip", "iproute2")
    ns = ktlib.netns()
    base = random.randrange(30000, 40000, 20)
    ports = iter(range(base, base + 20))
    session(ns, ports)
    comm_filter(ns, ports)
    text_v6(ns, ports)
    for how in ("raw_tp", "tracepoint"):
        attach(ns, ports, how)


if __name__ == "__main__":
    ktlib.main(main)
