#!/usr/bin/env python3
"""tcpretrans: retransmits, SYN-ACK retransmits, per-flow counts and resets,
provoked on loopback inside a private network namespace with nftables
dropping packets on input. ktrace runs in the host namespace: tracepoints
see every namespace. Only 127.0.0.1 and ::1 inside the test's netns are used.
"""
import os
import re
import random
import subprocess
import sys
import json

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktlib
from ktlib import check, check_no_leak, log

DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "workloads", "tcp_driver.py")
TABLE = "kttr"


def setup():
    ktlib.require_tool("nft", "nftables")
    ktlib.require_tool("ip", "iproute2")
    ns = ktlib.netns()
    ktlib.sh(["ip", "netns", "exec", ns, "nft", "add", "table", "inet", TABLE])
    ktlib.sh(["ip", "netns", "exec", ns, "nft", "add", "chain", "inet", TABLE, "in",
              "{ type filter hook input priority 0; policy accept; }"])
    return ns


class Driver:
    """tcp_driver.py in the netns: started first (so -p can name it), then released."""

    def __init__(self, ns, mode, addr, port, hold=1.5):
        self.p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, DRIVER, mode, addr,
                                   str(port), TABLE, str(hold)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ktlib.at_exit(self._kill)
        self.pid = json.loads(self.p.stdout.readline())["pid"]

    def _kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def release(self):
        self.p.stdin.write("go\n")
        self.p.stdin.flush()

    def go(self):
        self.release()
        return self.result()

    def result(self):
        out = self.p.stdout.readline()
        rc = self.p.wait(30)
        if rc != 0 or not out:
            raise RuntimeError("tcp driver failed (%d)" % rc)
        return json.loads(out)


def ports():
    base = random.randrange(20000, 30000, 20)
    return iter(range(base, base + 20))


def events(kt, kind=None):
    return [r for r in kt.records("event") if kind is None or r.get("kind") == kind]


def attach_env(attach):
    return {"KTRACE_ATTACH": attach} if attach else None


def check_attach(kt, attach, hook):
    if attach:
        a = {x["hook"]: x.get("type") for x in kt.records("meta")[0]["attach"]}
        check(a.get(hook) == attach, "[%s] %s attached with %s" % (attach, hook, attach), a)


def retrans(ns, addr, port, ip, attach=None):
    """Data to port dropped after the handshake: the client retransmits."""
    kt = ktlib.Ktrace("tcpretrans", "-j", "-s", "--rport", port, env=attach_env(attach))
    d = Driver(ns, "retrans", addr, port)
    res = d.go()
    kt.stop()
    check_attach(kt, attach, "retransmit")
    check(kt.rc == 0, "IPv%d: ktrace exited 0" % ip, kt.stderr())
    evs = events(kt)
    mine = [e for e in events(kt, "R") if e.get("laddr") == addr and e.get("lport") == res["cport"]
            and e.get("raddr") == addr and e.get("rport") == port
            and e.get("state") == "ESTABLISHED" and e.get("state_raw") == 1]
    check(len(mine) >= 2, "IPv%d: >= 2 retransmits of %s:%d -> %s:%d in ESTABLISHED (got %d)"
          % (ip, addr, res["cport"], addr, port, len(mine)), evs)
    check(all(e.get("ip") == ip for e in mine), "IPv%d: ip field is %d" % (ip, ip), mine)
    check(all(isinstance(e.get("seq"), int) for e in mine), "IPv%d: -s gives sequence numbers" % ip, mine)
    check(all(e.get("rport") == port for e in evs), "IPv%d: --rport keeps only the test's flow" % ip, evs)
    # retransmits run from the retransmit timer: no task to blame
    check(all(e.get("pid") is None and e.get("comm") is None for e in mine),
          "IPv%d: timer-driven retransmits name no task" % ip, mine)
    check_no_leak(kt)


def synack(ns, port):
    """SYN-ACKs dropped: the listener retransmits them (request socket, NEW_SYN_RECV)."""
    kt = ktlib.Ktrace("tcpretrans", "-j", "--lport", port)
    d = Driver(ns, "synack", "127.0.0.1", port, hold=2.5)
    res = d.go()
    kt.stop()
    evs = events(kt)
    mine = [e for e in events(kt, "S") if e.get("lport") == port and e.get("rport") == res["cport"]
            and e.get("laddr") == "127.0.0.1" and e.get("raddr") == "127.0.0.1"]
    check(len(mine) >= 2, "SYN-ACK retransmits 127.0.0.1:%d -> :%d (got %d)" % (port, res["cport"], len(mine)), evs)
    check(all(e.get("state") == "NEW_SYN_RECV" for e in mine), "SYN-ACK retransmits are in NEW_SYN_RECV", mine)
    check(all(e.get("lport") == port for e in evs), "--lport keeps only the listener's flows", evs)
    check_no_leak(kt)


def counts(ns, port):
    """-c counts at least what the kernel's TCP_INFO says was retransmitted; -p filters."""
    d = Driver(ns, "retrans", "127.0.0.1", port, hold=2.0)
    other = Driver(ns, "retrans", "127.0.0.1", port + 100, hold=1.5)
    kt = ktlib.Ktrace("tcpretrans", "-j", "-c", "-p", d.pid)
    kt_t = ktlib.Ktrace("tcpretrans", "-c", "-p", d.pid)
    # another process's flow retransmits at the same time: -p must leave it out
    other.release()
    res = d.go()
    ores = other.result()
    check(ores["total_retrans"] >= 1, "the other process's flow retransmitted too", ores)
    kt.stop()
    kt_t.stop()
    check(kt.rc == 0, "-c: ktrace exited 0", kt.stderr())
    tables = kt.records("table")
    check(len(tables) == 1, "-c: one table at exit", kt.stdout())
    rows = tables[-1]["rows"] if tables else []
    flow = [r for r in rows if r.get("lport") == res["cport"] and r.get("rport") == port
            and r.get("kind") == "R"]
    n = flow[0]["count"] if flow else 0
    check(n >= max(2, res["total_retrans"]),
          "-c: counted %d retransmits, kernel's tcpi_total_retrans is %d" % (n, res["total_retrans"]), rows)
    check(all(r.get("lport") in (res["cport"], port) for r in rows),
          "-p %d: only the driver's sockets are counted" % d.pid, rows)
    check_no_leak(kt)
    summ = kt.records("summary")
    check(summ and "events" not in summ[-1] and summ[-1].get("lost") == 0,
          "-c JSON: the summary has no handled-events count (nothing streams) and lost 0", summ)
    # text: the closing line says what the kernel counted (no "0 events reported")
    err = kt_t.stderr()
    m = re.search(r"^ktrace: counted (\d+) retransmits in the kernel; (\d+) not counted$", err, re.M)
    total = sum(r.get("count", 0) for r in rows)
    check(m and int(m.group(1)) == total and m.group(2) == "0",
          "-c text: 'counted %d retransmits in the kernel; 0 not counted'" % total, err)
    check("events reported" not in err and "--buffer" not in err,
          "-c text: no stream wording (events reported, --buffer)", err)
    check_no_leak(kt_t)


def resets(ns, refused_port, linger_port, attach=None):
    kt = ktlib.Ktrace("tcpretrans", "-j", "--resets", env=attach_env(attach))
    r1 = Driver(ns, "refused", "127.0.0.1", refused_port).go()
    d2 = Driver(ns, "linger", "::1", linger_port)
    r2 = d2.go()
    kt.stop()
    check_attach(kt, attach, "send_reset")
    check_attach(kt, attach, "receive_reset")
    check(r1["refused"] and r2["reset"], "driver saw the refusal and the reset", (r1, r2))
    evs = events(kt)
    # refused connect: the kernel answers a SYN to a closed port, no socket, no state
    sent = [e for e in events(kt, "RST_SENT") if e.get("lport") == refused_port
            and e.get("rport") == r1["cport"] and e.get("laddr") == "127.0.0.1"]
    check(len(sent) >= 1, "reset sent for the refused connect to :%d" % refused_port, evs)
    check(all(e.get("state") is None for e in sent), "a reset without a socket has no state", sent)
    check(all(e.get("reason") == "NO_SOCKET" and e.get("reason_raw") == 1 for e in sent),
          "refused connect: reason NO_SOCKET (1)", sent)
    got = [e for e in events(kt, "RST_RECV") if e.get("lport") == r1["cport"] and e.get("rport") == refused_port]
    check(len(got) >= 1 and got[0].get("state") == "SYN_SENT",
          "reset received by the connecting socket in SYN_SENT", evs)
    # linger-0 close: the client sends the reset itself, in its own process context
    sent = [e for e in events(kt, "RST_SENT") if e.get("lport") == r2["cport"] and e.get("rport") == linger_port
            and e.get("laddr") == "::1" and e.get("ip") == 6]
    check(len(sent) >= 1, "reset sent by the SO_LINGER {1,0} close of [::1]:%d" % r2["cport"], evs)
    check(any(e.get("pid") == d2.pid for e in sent), "linger reset names the closing process %d" % d2.pid, sent)
    check(all(isinstance(e.get("reason"), str) for e in sent), "linger reset has a reason name", sent)
    got = [e for e in events(kt, "RST_RECV") if e.get("lport") == linger_port and e.get("rport") == r2["cport"]]
    check(len(got) >= 1 and got[0].get("state") == "ESTABLISHED", "server received the reset in ESTABLISHED", evs)
    check_no_leak(kt)


def usage():
    r = ktlib.run_ktrace("tcpretrans", "-4", "-6")
    check(r.returncode == 2, "-4 with -6 is a usage error", r.stderr)
    r = ktlib.run_ktrace("tcpretrans", "--lport", "70000")
    check(r.returncode == 2 and "lport" in r.stderr, "--lport 70000 is a usage error", r.stderr)
    r = ktlib.run_ktrace("tcpretrans", "-i", "5", "7")
    check(r.returncode == 2 and "two different intervals" in r.stderr,
          "-i and a different positional interval are a usage error", r.stderr)
    r = ktlib.run_ktrace("tcpretrans", "--lossprobe", "-d", "1")
    check(r.returncode == 0, "--lossprobe runs (with or without loss probe support)", r.stderr)
    if "fentry" not in r.stderr and "kprobe" not in r.stderr:
        check(True, "--lossprobe: loss probes attached")
    else:
        check("tail loss probes" in r.stderr, "--lossprobe without kprobes/fentry says so", r.stderr)


def main():
    ns = setup()
    p = ports()
    usage()
    retrans(ns, "127.0.0.1", next(p), 4)
    retrans(ns, "::1", next(p), 6)
    synack(ns, next(p))
    counts(ns, next(p))
    resets(ns, next(p), next(p))
    # the other alternatives this kernel has (fentry/kprobe are tested under qemu)
    for attach in ("raw_tp", "tracepoint"):
        retrans(ns, "127.0.0.1", next(p), 4, attach)
        resets(ns, next(p), next(p), attach)


if __name__ == "__main__":
    ktlib.main(main)
