#!/usr/bin/env python3
"""--record FILE and `ktrace replay FILE`: a replay prints what the live run
printed (text and JSON), without root, and bad tapes get clear errors.

The workload is this test's own: failed execs and opens with hostile names
(a newline, an escape sequence, invalid UTF-8), so the replayed output also
shows the escaping of kernel strings; an interval command (runqlat 1 2) for
the ticks; exec -c for the kernel-side counting maps.
"""
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time

import ktlib
from ktlib import check, log

HOSTILE = "kt\nname\x1b[31m\xff".encode("latin-1")


def provoke(stop_at):
    """Failed opens and execs of hostile paths, until stop_at."""
    d = tempfile.mkdtemp(prefix="kt-replay-")
    try:
        path = os.path.join(d.encode(), ktlib.UNIQUE.encode() + HOSTILE)
        while time.time() < stop_at:
            for _ in range(5):
                try:
                    os.open(path, os.O_RDONLY)
                except OSError:
                    pass
                subprocess.run([path], stderr=subprocess.DEVNULL) if os.path.exists(path) else None
                try:
                    subprocess.run([b"/nonexistent/" + ktlib.UNIQUE.encode() + HOSTILE])
                except OSError:
                    pass
            time.sleep(0.05)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def record(tmp, name, *args, secs=None):
    tape = os.path.join(tmp, name + ".tape")
    kt = ktlib.Ktrace(*args, "--record", tape)
    provoke(time.time() + 1.0)
    if secs is None:
        kt.stop()
    else:
        kt.wait(secs + 30)
    check(kt.rc == 0, "%s: the recorded run exits 0" % name, kt.stderr())
    check(os.path.exists(tape) and stat.S_IMODE(os.stat(tape).st_mode) == 0o600,
          "%s: the tape is written, mode 0600 (it holds other users' command lines)" % name)
    return kt, tape


def replay(tape, *args, user=None):
    return ktlib.run_ktrace("replay", *args, tape, user=user)


def same_output(name, kt, tape):
    live = kt.stdout_bytes()
    r = subprocess.run([ktlib.KTRACE, "replay", tape], capture_output=True)
    check(r.returncode == 0, "%s: replay exits 0" % name, r.stderr)
    check(r.stdout == live, "%s: the replay prints what the live run printed, byte for byte" % name,
          "live:\n%r\nreplay:\n%r" % (live[:1500], r.stdout[:1500]))
    return r.stdout


def test():
    tmp = tempfile.mkdtemp(prefix="kt-replay-")
    ktlib.at_exit(shutil.rmtree, tmp, True)

    # a stream: failed opens of the hostile name; replayed as text, then as JSON by nobody
    kt, tape = record(tmp, "open", "open", "-x", "-n", "python3")
    text = same_output("open", kt, tape)
    check(ktlib.UNIQUE.encode() in text and b"\x1b" not in text and b"\n" + b"name" not in text,
          "open: the replayed text shows the hostile name escaped", text[:800])
    os.chmod(tmp, 0o755)
    os.chmod(tape, 0o644)
    r = replay(tape, "-j", user=ktlib.nobody())
    check(r.returncode == 0, "open: user nobody, no capabilities, replays the tape as JSON", r.stderr)
    recs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    ev = [x for x in recs if x.get("type") == "event" and ktlib.UNIQUE in json.dumps(x)]
    check(ev and all(e.get("errno") == "ENOENT" and e.get("pid") for e in ev),
          "open: the JSON replay has the failed opens (ENOENT, with pids)", recs[:5])
    meta = recs[0] if recs else {}
    check(meta.get("type") == "meta" and meta.get("pid") == kt.pid and "--record" in meta.get("cmdline", []),
          "open: the replayed meta is the recording's (its pid %d and command line)" % kt.pid, meta)
    check(recs and recs[-1].get("type") == "summary" and recs[-1].get("stopped_by") == "signal",
          "open: the replayed summary says the recording was stopped by a signal", recs[-1:])

    # exec, the hostile argv: text escapes, JSON valid
    kt, tape = record(tmp, "exec", "exec", "-x")
    same_output("exec", kt, tape)
    r = replay(tape, "-j")
    recs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    ev = [x for x in recs if x.get("type") == "event" and ktlib.UNIQUE in json.dumps(x)]
    check(ev and all(e.get("ret") == -2 or e.get("errno") == "ENOENT" for e in ev),
          "exec: the JSON replay has the failed execs of the hostile path", recs[:5])

    # intervals and kernel-side counting
    kt, tape = record(tmp, "runqlat", "runqlat", "1", "2", secs=2)
    same_output("runqlat 1 2", kt, tape)
    kt, tape = record(tmp, "exec-c", "exec", "-c", "-d", "2", secs=2)
    same_output("exec -c", kt, tape)
    r = replay(tape, "-j")
    recs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    check(r.returncode == 0 and any(x.get("type") == "summary" for x in recs),
          "exec -c: replays as JSON too", r.stderr)

    # bad tapes and bad use
    junk = os.path.join(tmp, "junk")
    with open(junk, "wb") as f:
        f.write(b"this is not a tape\n")
    r = replay(junk)
    check(r.returncode == 1 and "not a ktrace tape" in r.stderr and "Traceback" not in r.stderr,
          "a file that is not a tape: exit 1, says so", r.stderr)
    r = replay(os.path.join(tmp, "missing"))
    check(r.returncode == 1 and "No such file" in r.stderr, "a missing tape: exit 1, names the error",
          r.stderr)
    with open(tape, "rb") as f:
        whole = f.read()
    cut = os.path.join(tmp, "cut.tape")
    with open(cut, "wb") as f:
        f.write(whole[:len(whole) * 2 // 3])
    r = replay(cut)
    check(r.returncode == 0 and "cut or damaged" in r.stderr,
          "a cut tape (a recording killed mid-write): replays what is whole, and warns", r.stderr)
    r = ktlib.run_ktrace("replay")
    check(r.returncode == 2 and "which tape" in r.stderr, "no tape: usage error (exit 2)", r.stderr)
    r = replay(tape, "--bogus")
    check(r.returncode == 2 and "--bogus" in r.stderr, "an unknown option: usage error naming it",
          r.stderr)
    link = os.path.join(tmp, "link.tape")
    os.symlink(os.path.join(tmp, "victim"), link)
    r = ktlib.run_ktrace("runqlat", "-d", "1", "--record", link)
    check(r.returncode == 1 and not os.path.exists(os.path.join(tmp, "victim")),
          "--record does not follow a symlink planted at its path", r.stderr)
    log("tapes: " + ", ".join("%s %d B" % (n, os.path.getsize(os.path.join(tmp, n)))
                              for n in sorted(os.listdir(tmp))
                              if n.endswith(".tape") and not os.path.islink(os.path.join(tmp, n))))


if __name__ == "__main__":
    ktlib.main(test)
