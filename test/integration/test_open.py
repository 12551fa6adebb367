#!/usr/bin/env python3
"""ktrace open: openat and openat2 of a unique existing path and a missing
one (fd and ENOENT), --path prefixes filtered in the kernel, -F resolving a
path relative to a dirfd, hostile file names (newline, escape sequence) in
text and JSON, --summary, and exact accounting (reported + lost ==
generated) under an open storm with a small ring buffer."""
import os
import shutil
import subprocess
import tempfile
import time

from ktlib import (UNIQUE, Ktrace, at_exit, check, check_no_leak, log, main, run_ktrace, workload)


def setup():
    d = tempfile.mkdtemp(prefix="kt-open-")
    at_exit(shutil.rmtree, d, True)
    sub = os.path.join(d, "sub")
    os.mkdir(sub)
    target = os.path.join(d, UNIQUE + "_target")
    open(target, "w").close()
    open(os.path.join(sub, UNIQUE + "_rel"), "w").close()
    return d, sub, target


def opens(*args):
    r = subprocess.run([workload("opens")] + list(args), capture_output=True, text=True, timeout=30)
    return r


def spawn(*args):
    """Runs the workload; returns (pid, output)."""
    p = subprocess.Popen([workload("opens")] + list(args), stdout=subprocess.PIPE, text=True)
    out = p.communicate(timeout=30)[0]
    return p.pid, out


def basic(d, target):
    missing = os.path.join(d, UNIQUE + "_missing")
    kt = Ktrace("open", "-j", "-e")
    p1, o1 = spawn("at", target)
    p2, o2 = spawn("at", missing)
    p3, o3 = spawn("at2", target)
    p4, o4 = spawn("at2", missing)
    # records are as long as their path: one near PATH_MAX comes whole
    long_path = d + "".join("/" + chr(ord("a") + i % 26) * 200 for i in range(19))
    long_path += "/" + "z" * (4095 - len(long_path) - 1)
    p5, _ = spawn("at", long_path)
    time.sleep(0.5)
    rc = kt.stop()
    check(rc == 0, "ktrace open exits 0", kt.stderr())
    check_no_leak(kt)
    ev = kt.records("event")

    def of(pid, path):
        return [e for e in ev if e["pid"] == pid and e["path"] == path]

    for pid, out, path, sysc, ok in ((p1, o1, target, "openat", True), (p2, o2, missing, "openat", False),
                                     (p3, o3, target, "openat2", True), (p4, o4, missing, "openat2", False)):
        m = of(pid, path)
        what = "%s of %s path" % (sysc, "an existing" if ok else "a missing")
        check(len(m) == 1, what + ": one event for its pid", [e for e in ev if e["pid"] == pid])
        if not m:
            continue
        e = m[0]
        check(e["syscall"] == sysc and e["tid"] == pid, what + ": syscall and tid", e)
        if ok:
            fd = int(out.split()[1])
            check(e["fd"] == fd and e["ret"] == fd and e["errno"] is None, what + ": fd %d" % fd, e)
        else:
            check(e["fd"] is None and e["ret"] == -2 and e["errno"] == "ENOENT" and e["errno_raw"] == 2,
                  what + ": ENOENT", e)
        check(e["flags"] == 0 and e["flag_names"] == ["O_RDONLY"] and e["dirfd"] == -100,
              what + ": -e flags", e)
        check(e["comm"] == "opens" and e["uid"] == 0, what + ": comm, uid", e)
    m = of(p5, long_path)
    check(len(m) == 1 and m[0]["errno"] == "ENOENT",
          "a path of %d bytes is reported whole" % len(long_path),
          [(len(e["path"]), e["errno"]) for e in ev if e["pid"] == p5])
    lost = kt.records("lost")
    check(lost and lost[-1]["final"] and "total" in lost[-1], "final lost record", lost)


def failed_and_creat(d, target):
    created = os.path.join(d, UNIQUE + "_created")
    kt = Ktrace("open", "-j", "-x", "-e", "-n", "opens")
    p1, _ = spawn("at", target)
    p2, _ = spawn("at", os.path.join(d, UNIQUE + "_nope"))
    kt.stop()
    check_no_leak(kt)
    ev = kt.records("event")
    check(ev and all(e["ret"] < 0 and e["comm"] == "opens" for e in ev), "-x -n: only failures of opens", ev)
    check(not [e for e in ev if e["pid"] == p1], "-x: the successful open is not reported")
    check([e for e in ev if e["pid"] == p2 and e["errno"] == "ENOENT"], "-x: the failure is", ev)

    kt = Ktrace("open", "-j", "-e", "--path", created)
    p, _ = spawn("creat", created)
    kt.stop()
    check_no_leak(kt)
    ev = [e for e in kt.records("event") if e["pid"] == p]
    check(len(ev) == 1 and ev[0]["flag_names"] == ["O_WRONLY", "O_CREAT", "O_CLOEXEC"] and ev[0]["mode"] == 0o640,
          "openat2 with O_CREAT: flags decoded, mode 0640", ev)


def legacy_syscalls(d, target):
    """open(2) and creat(2) proper, not the openat glibc uses for them."""
    import platform
    if platform.machine() not in ("x86_64", "i686"):
        check(True, "open/creat syscalls not on %s: skipped" % platform.machine())
        return
    created = os.path.join(d, UNIQUE + "_creat")
    kt = Ktrace("open", "-j", "-e", "--path", d)
    p1, o1 = spawn("sysopen", target)
    p2, o2 = spawn("syscreat", created)
    kt.stop()
    check_no_leak(kt)
    ev = kt.records("event")
    a = [e for e in ev if e["pid"] == p1]
    check(len(a) == 1 and a[0]["syscall"] == "open" and a[0]["path"] == target and a[0]["fd"] == int(o1.split()[1]),
          "open(2) is traced", ev)
    b = [e for e in ev if e["pid"] == p2]
    check(len(b) == 1 and b[0]["syscall"] == "creat" and b[0]["mode"] == 0o600 and
          b[0]["flag_names"] == ["O_WRONLY", "O_CREAT", "O_TRUNC"], "creat(2) is traced with its implied flags", ev)


def path_filter(d, target):
    other = os.path.join(d, UNIQUE + "_other")
    open(other, "w").close()
    kt = Ktrace("open", "-j", "--path", "/nonexistent/", "--path", target)
    p1, _ = spawn("at", target)
    p2, _ = spawn("at", other)
    p3, _ = spawn("at2", target + "_x")  # matches the prefix, missing
    kt.stop()
    check_no_leak(kt)
    ev = kt.records("event")
    paths = sorted(e["path"] for e in ev)
    check(paths == sorted([target, target + "_x"]), "--path keeps the prefix and drops the rest", paths)
    check(all(e["path"].startswith(target) for e in ev), "--path: nothing else (not even ld.so opens)", ev[:5])
    check([e for e in ev if e["pid"] == p1] and not [e for e in ev if e["pid"] == p2],
          "--path: by pid too")
    r = run_ktrace("open", *sum([["--path", "/p%d" % i] for i in range(9)], []))
    check(r.returncode == 2, "nine --path prefixes: usage error", r.stderr)


def full_path(d, sub):
    rel = UNIQUE + "_rel"
    kt = Ktrace("open", "-j", "--full-path")
    # a live process with a dirfd
    p = subprocess.Popen([workload("opens"), "dirfd", sub, rel], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    p.stdin.write("done\n")
    p.stdin.close()
    p.wait(timeout=30)
    # short-lived processes, gone before ktrace could look at /proc
    q = subprocess.run([workload("opens"), "at", "./" + rel], cwd=sub, capture_output=True)
    r = subprocess.run([workload("opens"), "at2", "missing_" + rel], cwd="/sys/kernel", capture_output=True)
    time.sleep(0.3)
    kt.stop()
    check_no_leak(kt)
    ev = kt.records("event")
    a = [e for e in ev if e["pid"] == p.pid and e["path"] == rel]
    check(len(a) == 1 and a[0]["full_path"] == os.path.join(sub, rel) and a[0]["ret"] >= 0,
          "-F resolves a path relative to a dirfd", (line, a))
    b = [e for e in ev if e["path"] == "./" + rel]
    check(len(b) == 1 and b[0]["full_path"] == os.path.join(sub, rel),
          "-F resolves a path relative to the cwd of a process that already exited", b)
    c = [e for e in ev if e["path"] == "missing_" + rel]
    check(len(c) == 1 and c[0]["full_path"] == "/sys/kernel/missing_" + rel and c[0]["errno"] == "ENOENT",
          "-F: a failed open, cwd across a mount point", c)
    check(all(not e["path"].startswith("/") or e["full_path"] == e["path"] for e in ev),
          "-F: absolute paths unchanged")
    check(a and a[0].get("full_path_source") == "kernel" and b and b[0].get("full_path_source") == "kernel",
          "-F: full_path_source says the kernel named the directory", (a, b))
    check(all(not e["path"].startswith("/") or e.get("full_path_source") == "path" for e in ev),
          "-F: full_path_source of an absolute path is \"path\"")


def full_path_proc(d):
    """#21: a directory deeper than the kernel walk (64 steps) falls back to /proc,
    which the process controls: the path is flagged, in JSON and in text."""
    deep = os.path.join(d, *(["deep"] * 70))
    os.makedirs(deep, exist_ok=True)
    rel = UNIQUE + "_deep"
    for args in (["-j", "--full-path"], ["--full-path"]):
        kt = Ktrace("open", *args)
        p = subprocess.Popen([workload("opens"), "dirfd", deep, rel], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        p.stdout.readline()
        time.sleep(0.5)  # the process is still alive when ktrace reads /proc
        kt.stop()
        p.stdin.write("done\n")
        p.stdin.close()
        p.wait(timeout=30)
        check_no_leak(kt)
        if "-j" in args:
            ev = [e for e in kt.records("event") if e["pid"] == p.pid and e["path"] == rel]
            check(len(ev) == 1 and ev[0]["full_path"] == os.path.join(deep, rel) and
                  ev[0]["full_path_source"] == "proc", "-F: a /proc answer is flagged in JSON", ev)
        else:
            lines = [l for l in kt.stdout().splitlines() if rel in l and (" %d " % p.pid) in l]
            check(len(lines) == 1 and lines[0].endswith(os.path.join(deep, rel) + " [from /proc]"),
                  "-F: a /proc answer is flagged in text", lines)


def hostile(d):
    name = os.path.join(d, "nl\nesc\x1b[31mred\"q\\ \xff".encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape"))
    bname = os.fsencode(os.path.join(d, "nl\nesc\x1b[31mred\"q\\ ")) + b"\xff"
    kt = Ktrace("open", "-j")
    p = subprocess.Popen([os.fsencode(workload("opens")), b"at2", bname], stdout=subprocess.PIPE)
    p.communicate(timeout=30)
    kt.stop()
    check_no_leak(kt)
    ev = [e for e in kt.records("event") if e["pid"] == p.pid and e["syscall"] == "openat2"]
    check(len(ev) == 1, "hostile name: one JSON event", ev)
    if ev:
        raw = bytes.fromhex(ev[0]["path_hex"]) if "path_hex" in ev[0] else ev[0]["path"].encode()
        check(raw == bname, "hostile name round-trips exactly in JSON (path_hex for invalid UTF-8)", ev[0])
        check(ev[0]["path"].startswith(os.path.join(d, "nl\nesc\x1b[31m")), "JSON path keeps newline and ESC", ev[0])

    kt = Ktrace("open")
    p = subprocess.Popen([os.fsencode(workload("opens")), b"at2", bname], stdout=subprocess.PIPE)
    p.communicate(timeout=30)
    kt.stop()
    check_no_leak(kt)
    out = kt.stdout_bytes()
    check(b"\x1b" not in out, "text: no raw ESC", out[-500:])
    lines = [l for l in out.split(b"\n") if (" %d " % p.pid).encode() in l and b"nl\\nesc" in l]
    check(len(lines) == 1 and b"\\x1b[31m" in lines[0] and b"ENOENT" in lines[0],
          "text: the name is escaped on one line (\\n, \\x1b)", lines)


def summary(d, target, n=7):
    missing = os.path.join(d, UNIQUE + "_smiss")
    kt = Ktrace("open", "--summary", "--path", d, "-j")
    for _ in range(n):
        spawn("at", target)
    spawn("at", missing)
    spawn("at", missing)
    kt.stop()
    check_no_leak(kt)
    t = {x["name"]: x["rows"] for x in kt.records("table")}
    paths = {r["path"]: r for r in t.get("open_paths", [])}
    check(paths.get(target, {}).get("opens") == n and paths.get(missing, {}).get("failed") == 2,
          "--summary: top paths count %d and 2 failures" % n, t.get("open_paths"))
    errs = {r["errno"]: r["count"] for r in t.get("open_errors", [])}
    check(errs == {"ENOENT": 2}, "--summary: failures by errno", t.get("open_errors"))
    procs = t.get("open_processes", [])
    check(len(procs) == n + 2 and all(r["comm"] == "opens" for r in procs), "--summary: processes", procs)
    check(t.get("open_totals", [{}])[0].get("opens") == n + 2, "--summary totals", t.get("open_totals"))


def vm_hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])  # KiB
    return -1


def summary_budget(d, n, json_out):
    """#21: --summary over many distinct failed paths stays within its memory
    budget (peak RSS below 64 MB for a million) and says how many it folded."""
    prefix = os.path.join(d, UNIQUE + "_distinct_" + ("j" if json_out else "t") + "_")
    args = ["open", "-x", "--summary", "--path", prefix] + (["-j"] if json_out else [])
    kt = Ktrace(*args)
    p = subprocess.run([workload("opens"), "distinct", str(n), prefix], stdout=subprocess.PIPE,
                       text=True, timeout=600)
    check(p.stdout.strip() == "opens %d" % n, "distinct workload ran", p.stdout)
    time.sleep(1)
    hwm = vm_hwm(kt.p.pid)
    kt.stop()
    check_no_leak(kt)
    log("open --summary over %d distinct paths: peak RSS %d KiB" % (n, hwm))
    if os.environ.get("KT_SANITIZED"):
        # ASan's shadow memory and quarantine multiply RSS: the bound holds for the release binary
        log("sanitized binary: the 64 MB bound is checked on the static binary only")
    else:
        check(0 < hwm < 64 * 1024,
              "--summary over %d distinct paths: peak RSS %d KiB < 64 MB" % (n, hwm))
    if json_out:
        t = {x["name"]: x["rows"] for x in kt.records("table")}
        tot = t.get("open_totals", [{}])[0]
        lost = kt.records("lost")
        lost_n = lost[-1]["total"] if lost else 0
        check(tot.get("failed", 0) + lost_n >= n, "every failed open counted or lost", (tot, lost_n))
        check(tot.get("paths_folded", 0) > 0 and tot.get("opens_folded", 0) >= tot["paths_folded"],
              "JSON totals say how many paths were folded", tot)
        check(tot.get("paths", 0) >= tot.get("failed", 0), "paths kept + folded cover the opens", tot)
        check(len(t.get("open_paths", [])) == 10, "top paths still listed", t.get("open_paths"))
    else:
        out = kt.stdout()
        hdr = [l for l in out.splitlines() if "FOLDED" in l]
        check(hdr, "text totals have a FOLDED column", out[-2000:])
        if hdr:
            lines = out.splitlines()
            i = lines.index(hdr[0])
            cols = dict(zip(hdr[0].split(), lines[i + 1].split()))
            check(int(cols.get("FOLDED", "0")) > 0, "text: folded paths counted", cols)


def accounting(d, target):
    p = subprocess.Popen([workload("opens"), "storm", "4", "3", target], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    at_exit(p.kill)
    check(p.stdout.readline().strip() == "ready", "storm workload ready")
    kt = Ktrace("open", "-p", p.pid, "--buffer", "16K", "-j")
    p.stdin.write("go\n")
    p.stdin.flush()
    out = p.stdout.readline()
    p.wait(timeout=60)
    time.sleep(0.5)
    kt.stop()
    check_no_leak(kt)
    generated = int(out.split()[1])
    ev = kt.records("event")
    reported = len([e for e in ev if e["pid"] == p.pid])
    lost = kt.records("lost")
    total_lost = lost[-1]["total"] if lost else -1
    check(reported == len(ev), "-p: only the workload's events", len(ev) - reported)
    check(reported > 0 and total_lost > 0, "storm: some reported (%d) and some lost (%d)" % (reported, total_lost))
    check(reported + total_lost == generated,
          "storm: reported %d + lost %d == generated %d" % (reported, total_lost, generated))
    summ = kt.records("summary")
    check(summ and summ[-1]["lost"] == total_lost, "summary record carries the lost total", summ)


def usage():
    r = run_ktrace("open", "--bogus")
    check(r.returncode == 2, "open --bogus exits 2", r.stderr)
    r = run_ktrace("open", "-p", "abc")
    check(r.returncode == 2, "open -p abc exits 2", r.stderr)


def test():
    d, sub, target = setup()
    usage()
    basic(d, target)
    failed_and_creat(d, target)
    legacy_syscalls(d, target)
    path_filter(d, target)
    full_path(d, sub)
    full_path_proc(d)
    hostile(d)
    summary(d, target)
    summary_budget(d, 1000000, True)
    summary_budget(d, 150000, False)
    accounting(d, target)


if __name__ == "__main__":
    main(test)
