#!/usr/bin/env python3
"""TCP events on loopback for the tcpretrans tests. Run it inside a private
network namespace whose nftables table TABLE has an input-hook chain "in".

    tcp_driver.py MODE ADDR PORT TABLE [HOLD]

It prints {"pid": N} and waits for a line on stdin (so the test can start
ktrace with -p N first), then provokes MODE and prints one JSON line with
what it did:
  retrans  a connection to PORT; then data to PORT is dropped: the client
           retransmits. Reports the client port and TCP_INFO's total_retrans.
  synack   a listener on PORT whose SYN-ACKs are dropped: SYN-ACK retransmits.
  refused  a connect to the closed PORT: the kernel answers with a reset.
  linger   a connection to PORT closed by the client with SO_LINGER {1, 0}:
           a reset sent by the client (in its own context), received by the server.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import time

TCP_INFO_TOTAL_RETRANS = 100  # offset of tcpi_total_retrans in struct tcp_info


def nft(*rule):
    subprocess.check_call(["nft"] + list(rule))


def add_rule(table, *match):
    """Adds a drop rule to the input chain; returns its handle (other drivers may run too)."""
    out = subprocess.check_output(["nft", "--echo", "--handle", "add", "rule", "inet", table, "in"]
                                  + list(match) + ["drop"], text=True)
    return out.rsplit("# handle", 1)[1].split()[0]


def del_rule(table, handle):
    nft("delete", "rule", "inet", table, "in", "handle", handle)


def say(**kw):
    print(json.dumps(kw), flush=True)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def listener(addr, port):
    s = socket.socket(family(addr))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(8)
    return s


def client(addr):
    """A client socket bound to an ephemeral port we know before connecting."""
    c = socket.socket(family(addr))
    c.bind((addr, 0))
    return c


def main():
    mode, addr, port, table = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    hold = float(sys.argv[5]) if len(sys.argv) > 5 else 1.5
    say(pid=os.getpid())
    sys.stdin.readline()

    if mode == "retrans":
        ls = listener(addr, port)
        c = client(addr)
        c.connect((addr, port))
        s, _ = ls.accept()
        c.sendall(b"ping")
        assert s.recv(4) == b"ping"
        h = add_rule(table, "tcp", "dport", str(port))
        try:
            c.sendall(b"x" * 100)
            time.sleep(hold)
            info = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
            total = struct.unpack_from("I", info, TCP_INFO_TOTAL_RETRANS)[0]
        finally:
            del_rule(table, h)
        say(mode=mode, cport=c.getsockname()[1], total_retrans=total)
        c.close()
        s.close()
        ls.close()
    elif mode == "synack":
        ls = listener(addr, port)
        h = add_rule(table, "tcp", "sport", str(port), "tcp", "flags", "&", "(syn|ack)", "==", "syn|ack")
        c = client(addr)
        cport = c.getsockname()[1]
        c.settimeout(hold)
        try:
            c.connect((addr, port))
            connected = True
        except (socket.timeout, OSError):
            connected = False
        finally:
            del_rule(table, h)
        say(mode=mode, cport=cport, connected=connected)
        c.close()
        ls.close()
    elif mode == "refused":
        c = client(addr)
        cport = c.getsockname()[1]
        try:
            c.connect((addr, port))
            refused = False
        except ConnectionRefusedError:
            refused = True
        say(mode=mode, cport=cport, refused=refused)
        c.close()
    elif mode == "linger":
        ls = listener(addr, port)
        c = client(addr)
        c.connect((addr, port))
        s, _ = ls.accept()
        cport = c.getsockname()[1]
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        time.sleep(0.2)
        try:
            s.recv(10)
            reset = False
        except ConnectionResetError:
            reset = True
        say(mode=mode, cport=cport, reset=reset)
        s.close()
        ls.close()
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
