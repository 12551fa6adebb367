#!/usr/bin/env python3
"""What ktrace writes and how its run ends.

- Every write error is an error: standard output or -o on /dev/full, -o and
  --svg on a full 64 KiB tmpfs: exit 1 with a message naming the file and
  "No space left on device", with the BPF programs gone; `| head -1` still
  exits 0 quietly.
- Output files: a symlink at -o or --svg is refused and its target left
  untouched; new files are 0600; a usage error or a runtime failure leaves an
  existing file byte-identical.
- JSON a program can consume: exec keeps the raw bytes of an invalid UTF-8
  argument (args_hex) and names an empty path; profile and offcpu frames have
  hex addresses, offsets only relative to a symbol or module, and no integer
  above 2^53 anywhere; C1 controls in a comm are escaped in JSON and folded
  output; -T carries milliseconds.
"""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import ktlib
from ktlib import (KTRACE, UNIQUE, Ktrace, all_prog_ids, check, check_no_leak, run_ktrace, sh,
                   workload)

NOSPACE = "No space left on device"


def scratch():
    d = tempfile.mkdtemp(prefix="kt-out-")
    ktlib.at_exit(shutil.rmtree, d, True)
    return d


def small_tmpfs(size="64k"):
    d = tempfile.mkdtemp(prefix="kt-full-")
    sh(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", d])
    ktlib.at_exit(lambda: (sh(["umount", "-l", d], check_rc=False), os.rmdir(d)))
    return d


def fill(d):
    """Fills the file system at d to the last byte."""
    fd = os.open(os.path.join(d, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096) > 0:
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def run_to(stdout, *args, env=None, timeout=60):
    """Runs ktrace with its standard output on the file object stdout."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([KTRACE] + [str(a) for a in args], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=timeout, env=e)


def no_new_programs(before, what):
    """None of the BPF programs loaded since `before` is left (ktrace exited)."""
    left = None
    for _ in range(20):
        left = sorted(all_prog_ids() - before)
        if not left:
            break
        time.sleep(0.1)
    check(not left, what + ": no BPF program left behind", left)


def exec_burst(n=400, arg="x" * 200):
    for _ in range(n):
        subprocess.run(["/bin/true", UNIQUE, arg])


def write_errors():
    # standard output on /dev/full: the meta record cannot be written
    before = all_prog_ids()
    with open("/dev/full", "w") as full:
        r = run_to(full, "exec", "-j", "-d", "2")
    check(r.returncode == 1 and NOSPACE in r.stderr and "standard output" in r.stderr,
          "exec -j > /dev/full: exit 1 naming standard output and ENOSPC", (r.returncode, r.stderr))
    no_new_programs(before, "exec -j > /dev/full")

    before = all_prog_ids()
    r = run_ktrace("exec", "-d", "2", "-o", "/dev/full")
    check(r.returncode == 1 and NOSPACE in r.stderr and "/dev/full" in r.stderr,
          "exec -o /dev/full (text): exit 1 naming the file and ENOSPC", (r.returncode, r.stderr))
    no_new_programs(before, "exec -o /dev/full")

    # a command without BPF (check) is held to the same rule
    with open("/dev/full", "w") as full:
        r = run_to(full, "check")
    check(r.returncode == 1 and NOSPACE in r.stderr, "check > /dev/full: exit 1 with ENOSPC",
          (r.returncode, r.stderr))

    # -o on a small tmpfs that fills while tracing: the run ends by itself
    d = small_tmpfs()
    out = os.path.join(d, "exec.jsonl")
    kt = Ktrace("exec", "-j", "-o", out)
    end = time.time() + 60
    while kt.p.poll() is None and time.time() < end:
        exec_burst(50)
    rc = kt.wait(30)
    err = kt.stderr()
    check(rc == 1 and NOSPACE in err and out in err,
          "exec -o FILE on a full tmpfs: exit 1 naming the file and ENOSPC", (rc, err))
    check_no_leak(kt)
    with open(out, "rb") as f:
        data = f.read()
    check(len(data) > 32 * 1024 and data.startswith(b'{"type":"meta"'),
          "what fitted was written (%d bytes)" % len(data))

    # --svg onto a full tmpfs: the flame graph cannot be written at the end
    d = small_tmpfs()
    svg = os.path.join(d, "cpu.svg")
    fill(d)
    kt = Ktrace("profile", "-F", "99", "--svg", svg, "1")
    rc = kt.wait(60)
    err = kt.stderr()
    check(rc == 1 and NOSPACE in err and svg in err,
          "profile --svg onto a full tmpfs: exit 1 naming the file and ENOSPC", (rc, err))
    check_no_leak(kt)

    # a reader that goes away is no error: `ktrace exec -j | head -1`
    p = subprocess.Popen([KTRACE, "exec", "-j"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ktlib.at_exit(lambda: p.poll() is None and (p.kill(), p.wait()))
    first = p.stdout.readline()
    p.stdout.close()
    end = time.time() + 30
    while p.poll() is None and time.time() < end:
        exec_burst(5)
    try:
        rc = p.wait(30)
    except subprocess.TimeoutExpired:
        rc = None
    err = p.stderr.read().decode(errors="replace")
    check(first.startswith(b'{"type":"meta"') and rc == 0 and "failed" not in err
          and "Broken pipe" not in err,
          "| head -1: exit 0, quietly", (rc, err))


def output_files():
    d = scratch()
    # a symlink planted at -o: refused, its target untouched
    target = os.path.join(d, "target")
    with open(target, "w") as f:
        f.write("precious\n")
    link = os.path.join(d, "out.link")
    os.symlink(target, link)
    r = run_ktrace("exec", "-d", "1", "-o", link)
    with open(target) as f:
        kept = f.read()
    check(r.returncode == 1 and "symbolic link" in r.stderr and kept == "precious\n",
          "-o SYMLINK: refused (exit 1, says why), target untouched", (r.returncode, r.stderr, kept))
    svglink = os.path.join(d, "svg.link")
    os.symlink(target, svglink)
    r = run_ktrace("profile", "--svg", svglink, "1")
    with open(target) as f:
        kept = f.read()
    check(r.returncode == 1 and "symbolic link" in r.stderr and kept == "precious\n",
          "--svg SYMLINK: refused (exit 1, says why), target untouched", (r.returncode, r.stderr, kept))
    # a dangling link is not created through
    os.unlink(target)
    r = run_ktrace("exec", "-d", "1", "-o", link)
    check(r.returncode == 1 and not os.path.exists(target),
          "-o DANGLING_SYMLINK: refused, nothing created at its target", r.stderr)

    # new files are 0600, whatever the umask
    old = os.umask(0o022)
    try:
        out, svg = os.path.join(d, "new.txt"), os.path.join(d, "new.svg")
        r = run_ktrace("exec", "-d", "1", "-o", out)
        check(r.returncode == 0 and stat.S_IMODE(os.stat(out).st_mode) == 0o600,
              "-o creates its file 0600", oct(stat.S_IMODE(os.stat(out).st_mode)) if os.path.exists(out) else r.stderr)
        r = run_ktrace("profile", "-F", "49", "--svg", svg, "1")
        check(r.returncode == 0 and stat.S_IMODE(os.stat(svg).st_mode) == 0o600,
              "--svg creates its file 0600", r.stderr)
    finally:
        os.umask(old)

    # an existing file is untouched by a run that fails before writing
    keep = os.path.join(d, "keep")
    content = b"evidence from yesterday\n" * 10
    for what, args in [("usage error after -o", ["exec", "-o", keep, "--bogus"]),
                       ("usage error after --svg", ["profile", "--svg", keep, "-f", "-j", "1"])]:
        with open(keep, "wb") as f:
            f.write(content)
        r = run_ktrace(*args)
        with open(keep, "rb") as f:
            now = f.read()
        check(r.returncode == 2 and now == content,
              "%s: exit 2, existing file byte-identical" % what, (r.returncode, r.stderr))
    # a runtime failure after the files are opened: a user without the
    # capabilities, writing files of its own, is refused at the privilege check
    ud = tempfile.mkdtemp(prefix="kt-out-nobody-")
    ktlib.at_exit(shutil.rmtree, ud, True)
    os.chmod(ud, 0o755)
    os.chown(ud, 65534, 65534)
    keep = os.path.join(ud, "keep")
    for what, args in [("runtime failure (no privileges) with -o", ["biolat", "-o", keep, "1", "1"]),
                       ("runtime failure (no privileges) with --svg", ["profile", "--svg", keep, "1"])]:
        with open(keep, "wb") as f:
            f.write(content)
        os.chown(keep, 65534, 65534)
        r = run_ktrace(*args, user=ktlib.nobody())
        with open(keep, "rb") as f:
            now = f.read()
        check(r.returncode == 1 and "needs root" in r.stderr and now == content,
              "%s: exit 1, existing file byte-identical" % what, (r.returncode, r.stderr))
    # and a run that fails before writing removes a file it created
    fresh = os.path.join(ud, "fresh")
    r = run_ktrace("biolat", "-o", fresh, "1", "1", user=ktlib.nobody())
    check(r.returncode == 1 and not os.path.exists(fresh),
          "a failed start leaves no empty -o file behind", r.stderr)
    # -o and --svg naming one file: a usage error, nothing written
    same = os.path.join(d, "same")
    r = run_ktrace("profile", "-o", same, "--svg", os.path.join(d, ".", "same"), "1")
    check(r.returncode == 2 and "the same file as -o" in r.stderr and not os.path.exists(same),
          "-o and --svg naming one file: exit 2, no file left", r.stderr)


def exec_json():
    d = scratch()
    kt = Ktrace("exec", "-j")
    marker = os.path.join(d, UNIQUE + "_m")
    shutil.copy("/bin/true", marker)
    subprocess.run([marker.encode(), b"ok", b"bad\xff\xfe" + UNIQUE.encode(), b""])
    # an empty path: execve("") fails with ENOENT, and says so
    subprocess.run(["python3", "-c", "import os\ntry:\n os.execv('', ['" + UNIQUE + "e'])\nexcept OSError:\n pass"])
    time.sleep(0.5)
    kt.stop()
    ev = kt.records("event")
    mine = [e for e in ev if e.get("args", [None])[0] == marker]
    check(len(mine) == 1, "the marker's exec is reported once", len(mine))
    if mine:
        e = mine[0]
        hx = e.get("args_hex")
        check(isinstance(hx, list) and len(hx) == len(e["args"]) and hx[0] is None and hx[1] is None
              and hx[2] == (b"bad\xff\xfe" + UNIQUE.encode()).hex() and hx[3] is None,
              "args_hex keeps the invalid UTF-8 argument's bytes, null for the others", e)
        check(e["args"][3] == "" and e.get("path_empty") is False, "an empty argument is an empty string", e)
    empty = [e for e in ev if e.get("args", [None])[-1:] == [UNIQUE + "e"] or
             (e.get("path") == "" and e.get("comm") == "python3")]
    check(empty and empty[0].get("path") == "" and empty[0].get("path_empty") is True
          and empty[0].get("errno") == "ENOENT",
          "execve(\"\"): path \"\" with path_empty true and ENOENT", empty or ev[-5:])
    check_no_leak(kt)


def walk_ints(v, path="$"):
    """Yields (path, value) of every integer in a parsed JSON value."""
    if isinstance(v, bool):
        return
    if isinstance(v, int):
        yield path, v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield from walk_ints(x, path + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from walk_ints(x, "%s[%d]" % (path, i))


def stacks_json():
    sp = subprocess.Popen([workload("spinner"), "2"], stdout=subprocess.DEVNULL)
    ktlib.at_exit(lambda: sp.poll() is None and (sp.kill(), sp.wait()))
    for cmd in (["profile", "-j", "-F", "99", "1"], ["offcpu", "-j", "1"]):
        r = run_ktrace(*cmd)
        recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        big = [(p, v) for rec in recs for p, v in walk_ints(rec) if abs(v) > 2 ** 53]
        check(r.returncode == 0 and recs and not big,
              "%s: no integer above 2^53 in any record" % cmd[0], (r.stderr, big[:5]))
        frames = [f for rec in recs if rec.get("type") == "stacks"
                  for f in rec["kernel_frames"] + rec["user_frames"]]
        bad_addr = [f for f in frames if not re.fullmatch(r"0x[0-9a-f]+", str(f.get("address")))]
        check(frames and not bad_addr, "%s: every frame address is a hex string" % cmd[0], bad_addr[:5])
        ufr = [f for rec in recs if rec.get("type") == "stacks" for f in rec["user_frames"]]
        wild = [f for f in ufr if int(str(f.get("address", "0x0")), 16) >= 2 ** 56]
        check(not wild, "%s: no user frame at an address user space cannot have" % cmd[0], wild[:5])
        loose = [f for f in frames if "offset" in f and f.get("symbol") is None and f.get("module") is None]
        check(not loose, "%s: no offset without a symbol or module" % cmd[0], loose[:5])
        sym_off = [f for f in frames if f.get("symbol") and not isinstance(f.get("offset"), int)]
        check(not sym_off, "%s: a symbolized frame has its offset" % cmd[0], sym_off[:5])
        kern_unknown = [f for f in frames if f.get("symbol") is None and f.get("module") == "[kernel]"]
        check(all("offset" not in f for f in kern_unknown),
              "%s: an unknown kernel address carries no offset" % cmd[0], kern_unknown[:5])
    sp.wait(30)


def hostile_comm():
    """A comm with a C1 control (CSI, \\xc2\\x9b): escaped in JSON and in folded output."""
    code = ("import ctypes,time\n"
            "ctypes.CDLL(None).prctl(15, b'kt\\xc2\\x9b" + UNIQUE[:6] + "', 0, 0, 0)\n"
            "end = time.time() + 3\n"
            "while time.time() < end: pass\n")
    sp = subprocess.Popen(["python3", "-c", code])
    ktlib.at_exit(lambda: sp.poll() is None and (sp.kill(), sp.wait()))
    time.sleep(0.3)
    r = subprocess.run([KTRACE, "profile", "-f", "-F", "99", "-p", str(sp.pid), "1"],
                       capture_output=True, timeout=60)
    out = r.stdout
    check(r.returncode == 0 and b"\xc2\x9b" not in out and b"kt\\xc2\\x9b" in out,
          "folded: the C1 control in the comm is escaped as in text", (r.stderr, out[:300]))
    r = subprocess.run([KTRACE, "profile", "-j", "-F", "99", "-p", str(sp.pid), "1"],
                       capture_output=True, timeout=60)
    out = r.stdout
    check(r.returncode == 0 and b"\xc2\x9b" not in out and b"kt\\u009b" in out,
          "JSON: the C1 control is written \\u009b", (r.stderr, out[:300]))
    sp.wait(30)


def timestamps():
    kt = Ktrace("exec", "-T")
    subprocess.run(["/bin/true", UNIQUE + "T"])
    time.sleep(0.5)
    kt.stop()
    lines = kt.stdout().splitlines()
    check(lines and lines[0].startswith("TIME "), "-T: a TIME column", lines[:2])
    mine = [l for l in lines if UNIQUE + "T" in l]
    check(mine and re.match(r"^\d\d:\d\d:\d\d\.\d\d\d ", mine[0]),
          "-T: HH:MM:SS.mmm on each event", mine)


def test():
    write_errors()
    output_files()
    exec_json()
    stacks_json()
    hostile_comm()
    timestamps()


ktlib.main(test)
