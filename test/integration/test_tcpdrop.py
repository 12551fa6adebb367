#!/usr/bin/env python3
"""tcpdrop: drops provoked in a private network namespace (loopback only),
ktrace in the host namespace.

1. SYNs to a port that nftables drops (tcp_syn_retries=1: the connect
   times out after two SYNs): ktrace shows each with reason NETFILTER_DROP,
   its raw number as this kernel's tracepoint format numbers it, the flow
   (127.0.0.1:CPORT > 127.0.0.1:PORT, TCP, flags S, in) and nft_do_chain as
   the location; as many records as the nft rule's own counter, and as
   bpftrace counts kfree_skb with that reason to that port.
2. Refused IPv4 and IPv6 connects: --reason NO_SOCKET shows both (and no
   NETFILTER_DROP), -6 only the IPv6 one.
3. Data of an established connection dropped by nftables on the way out
   (--rport PORT): the records carry the sending socket's state ESTABLISHED,
   the flags (PSH, ACK) and the direction "out".
4. -c: counts per reason agree with the records' counts; --stack: a kernel
   stack through nft_do_chain, in JSON and in text.
5. Usage errors: an unknown --reason, --stack with -c (exit 2, naming it).
6. The raw_tp and tracepoint alternatives give the same reason and flow.
On a kernel without drop reasons (before 5.17) the test skips: the qemu stage
covers those kernels (test/vm/guest-tests/52-tcpdrop.sh).
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktlib
from ktlib import check, check_no_leak

TABLE = "kttd"

# each argument FAMILY,PORT: a connect; prints the pid and, per connect,
# the local port and the errno (0 = connected)
CLIENT = r'''
import json, os, socket, sys
res = []
for spec in sys.argv[1:]:
    fam, port = spec.split(",")
    af = socket.AF_INET6 if fam == "6" else socket.AF_INET
    addr = "::1" if fam == "6" else "127.0.0.1"
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

# drops for one reason to one TCP port (network order: bpftrace 0.17 has no ntohs)
REF_BT = r'''
tracepoint:skb:kfree_skb /args->reason == %d/ {
	$skb = (struct sk_buff *)args->skbaddr;
	$th = (struct tcphdr *)($skb->head + $skb->transport_header);
	if ($th->dest == %d) { @drops = count(); }
}
'''


def nft(ns, *args):
    return ktlib.sh(["ip", "netns", "exec", ns, "nft"] + list(args))


def setup():
    ktlib.require_tool("nft", "nftables")
    ktlib.require_tool("ip", "iproute2")
    ns = ktlib.netns()
    ktlib.sh(["ip", "netns", "exec", ns, "sysctl", "-q", "net.ipv4.tcp_syn_retries=1"])
    nft(ns, "add", "table", "inet", TABLE)
    nft(ns, "add", "chain", "inet", TABLE, "in",
        "{ type filter hook input priority 0; policy accept; }")
    nft(ns, "add", "chain", "inet", TABLE, "out",
        "{ type filter hook output priority 0; policy accept; }")
    return ns


def client(ns, *specs):
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", CLIENT] + list(specs),
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("client failed: %s" % out.stderr)
    return json.loads(out.stdout)


def kernel_reasons():
    """{name: value} from the tracepoint's format (the kernel's own print table)."""
    ktlib.ensure_tracefs()
    for d in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        try:
            with open(d + "/events/skb/kfree_skb/format") as f:
                fmt = f.read()
            break
        except OSError:
            continue
    else:
        ktlib.skip("no skb/kfree_skb tracepoint format readable")
    return {m.group(2): int(m.group(1)) for m in re.finditer(r'\{ (\d+), "(\w+)" \}', fmt)}


def nft_counter(ns, port):
    out = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "chain", "inet", TABLE, "in"],
                         capture_output=True, text=True).stdout
    m = re.search(r"dport %d counter packets (\d+)" % port, out)
    return int(m.group(1)) if m else None




def bpftrace_stop(p, out):
    text = ktlib.bpftrace_stop(p, out)
    m = re.search(r"^@drops: (\d+)$", text, re.M)
    return int(m.group(1)) if m else 0


def mine(evs, **kw):
    return [e for e in evs if all(e.get(k) == v for k, v in kw.items())]


def netfilter(ns, ports, reasons):
    port = next(ports)
    nft(ns, "add", "rule", "inet", TABLE, "in", "tcp", "dport", str(port), "counter", "drop")
    nport = ((port & 0xff) << 8) | (port >> 8)
    ref = ktlib.bpftrace_start(REF_BT % (reasons["NETFILTER_DROP"], nport)) if shutil.which("bpftrace") else None
    if not ref:
        ktlib.log("no bpftrace: the drop count runs without its bpftrace cross-check")
    kt = ktlib.Ktrace("tcpdrop", "-j")
    kc = ktlib.Ktrace("tcpdrop", "-j", "-c")
    ks = ktlib.Ktrace("tcpdrop", "--stack", "--lport", port)
    c = client(ns, "4,%d" % port)
    time.sleep(0.3)
    kt.stop()
    kc.stop()
    ks.stop()
    bt = bpftrace_stop(*ref) if ref else None
    r = c["res"][0]
    check(r["err"] == 110, "the client's connect timed out (the SYNs were dropped)", c)
    check(kt.rc == 0 and kc.rc == 0 and ks.rc == 0, "ktrace exited 0", kt.stderr() + kc.stderr())
    meta = kt.records("meta")[0]
    check(meta.get("drop_reasons", "").startswith("kernel"), "meta: drop reasons from the kernel", meta)
    evs = kt.records("event")
    nf = mine(evs, dport=port)
    n = nft_counter(ns, port)
    check(n and n >= 2 and len(nf) == n,
          "one record per SYN the nft rule counted (%s) to :%d" % (n, port), evs)
    want = dict(reason="NETFILTER_DROP", reason_raw=reasons["NETFILTER_DROP"], ip=4,
                saddr="127.0.0.1", daddr="127.0.0.1", sport=r["cport"], proto="TCP",
                proto_raw=6, tcp_flags="S", dir="in")
    check(nf and all(all(e.get(k) == v for k, v in want.items()) for e in nf),
          "each: NETFILTER_DROP (%d, as the tracepoint format numbers it), the flow "
          "127.0.0.1:%d > 127.0.0.1:%d, TCP, flags S" % (reasons["NETFILTER_DROP"], r["cport"], port), nf)
    check(nf and all(e.get("location", "").startswith("nft_do_chain") for e in nf),
          "each: dropped in nft_do_chain", nf)
    if bt is not None:
        check(bt == len(nf), "bpftrace counted as many NETFILTER_DROP to :%d (%d) as ktrace (%d)"
              % (port, bt, len(nf)))
    tab = [t for t in kc.records("table") if t.get("name") == "drops"]
    rows = tab[-1].get("rows", []) if tab else []
    row = [x for x in rows if x.get("reason") == "NETFILTER_DROP"]
    check(row and row[0].get("count") >= len(nf)
          and row[0].get("reason_raw") == reasons["NETFILTER_DROP"],
          "-c: NETFILTER_DROP counted, at least the records to :%d" % port, rows)
    out = ks.stdout()
    check("NETFILTER_DROP" in out and "127.0.0.1:%d" % port in out and "nft_do_chain" in out
          and re.search(r"^\s+nf_hook_slow", out, re.M),
          "--stack, text: the drop line and its stack through nf_hook_slow", out)
    for k in (kt, kc, ks):
        check_no_leak(k)


def refused(ns, ports, reasons):
    port = next(ports)
    kr = ktlib.Ktrace("tcpdrop", "-j", "--reason", "NO_SOCKET")
    k6 = ktlib.Ktrace("tcpdrop", "-j", "-6", "--lport", port)
    c = client(ns, "4,%d" % port, "6,%d" % port)
    time.sleep(0.3)
    kr.stop()
    k6.stop()
    r4, r6 = c["res"]
    check(r4["err"] == 111 and r6["err"] == 111, "both connects refused", c)
    evs = kr.records("event")
    for r, ip, addr in ((r4, 4, "127.0.0.1"), (r6, 6, "::1")):
        m = mine(evs, sport=r["cport"], dport=port)
        check(len(m) == 1 and m[0].get("ip") == ip and m[0].get("saddr") == addr
              and m[0].get("reason_raw") == reasons["NO_SOCKET"] and m[0].get("tcp_flags") == "S",
              "--reason NO_SOCKET: the IPv%d SYN to closed :%d" % (ip, port), evs)
    check(all(e.get("reason") == "NO_SOCKET" for e in evs), "--reason NO_SOCKET: nothing else", evs)
    evs = k6.records("event")
    check(len(mine(evs, sport=r6["cport"])) == 1 and all(e.get("ip") == 6 and e.get("dport") == port
                                                          for e in evs),
          "-6 --lport %d: only the IPv6 SYN" % port, evs)


# a connection, then the data it sends is dropped on the way out: the client
# retransmits into the rule; each dropped segment belongs to its socket
ESTAB = r'''
import json, socket, subprocess, sys, time
port = int(sys.argv[1])
l = socket.socket(); l.bind(("127.0.0.1", port)); l.listen()
c = socket.socket(); c.connect(("127.0.0.1", port)); s, _ = l.accept()
subprocess.check_call(["nft", "add", "rule", "inet", sys.argv[2], "out", "tcp", "dport", str(port), "drop"])
c.send(b"x" * 100)
time.sleep(0.8)
print(json.dumps({"cport": c.getsockname()[1]}))
'''


def established(ns, ports):
    port = next(ports)
    kt = ktlib.Ktrace("tcpdrop", "-j", "--rport", port)
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", ESTAB, str(port), TABLE],
                         capture_output=True, text=True, timeout=60)
    kt.stop()
    check(out.returncode == 0, "the established workload ran", out.stderr)
    cport = json.loads(out.stdout)["cport"] if out.returncode == 0 else None
    evs = mine(kt.records("event"), sport=cport, dport=port)
    data = [e for e in evs if e.get("tcp_flags") == "PA"]
    check(len(data) >= 2, "the data and its retransmits dropped (%d of %d records)"
          % (len(data), len(evs)), evs)
    check(data and all(e.get("state") == "ESTABLISHED" and e.get("state_raw") == 1
                       and e.get("dir") == "out" and e.get("reason") == "NETFILTER_DROP"
                       for e in data),
          "each data segment: out, the socket's state ESTABLISHED, NETFILTER_DROP", evs)
    # the workload's exit closes the socket: its FIN, dropped too, shows the new state
    check(all(e.get("state") in ("ESTABLISHED", "FIN_WAIT1", "CLOSING", "LAST_ACK")
              for e in evs), "every record has the socket's state", evs)


def usage():
    r = ktlib.run_ktrace("tcpdrop", "--reason", "NO_SUCH_THING", "-d", "1")
    check(r.returncode == 2 and "--reason" in r.stderr and "NO_SUCH_THING" in r.stderr,
          "unknown --reason: usage error naming it", r.stderr)
    r = ktlib.run_ktrace("tcpdrop", "-c", "--stack", "-d", "1")
    check(r.returncode == 2 and "--stack" in r.stderr, "--stack with -c: usage error", r.stderr)


def attach(ns, ports, how, reasons):
    port = next(ports)
    kt = ktlib.Ktrace("tcpdrop", "-j", "--lport", port, env={"KTRACE_ATTACH": how})
    c = client(ns, "4,%d" % port)
    time.sleep(0.3)
    kt.stop()
    a = {x["hook"]: x.get("type") for x in kt.records("meta")[0]["attach"]}
    check(a.get("kfree_skb") == how, "[%s] attached with %s" % (how, how), a)
    m = mine(kt.records("event"), sport=c["res"][0]["cport"], dport=port)
    check(len(m) == 1 and m[0].get("reason") == "NO_SOCKET"
          and m[0].get("reason_raw") == reasons["NO_SOCKET"] and m[0].get("saddr") == "127.0.0.1",
          "[%s] the refused SYN with NO_SOCKET and its flow" % how, m)
    check_no_leak(kt)


def main():
    reasons = kernel_reasons()
    if "NETFILTER_DROP" not in reasons:
        ktlib.skip("this kernel's skb:kfree_skb has no drop reasons (5.17+)")
    ns = setup()
    base = random.randrange(40000, 50000, 20)
    ports = iter(range(base, base + 20))
    usage()
    netfilter(ns, ports, reasons)
    refused(ns, ports, reasons)
    established(ns, ports)
    for how in ("raw_tp", "tracepoint"):
        attach(ns, ports, how, reasons)


if __name__ == "__main__":
    ktlib.main(main)
