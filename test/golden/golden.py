#!/usr/bin/env python3
"""Golden tests of every replayable command's text and JSON output.

Each tapes/NAME.tape is a run recorded on a real kernel (`ktrace COMMAND
--record`); tapes/NAME.txt and tapes/NAME.json are what `ktrace replay`
prints of it, as text and as JSON; for the summary commands in PROM,
tapes/NAME.prom is what `ktrace replay --prom-textfile DIR` writes (and,
when promtool is installed, `promtool check metrics` must accept it). Replaying needs no root, BPF or any
particular kernel, so these tests run everywhere and catch any change in
decoding or rendering.

usage: golden.py check KTRACE        replay every tape, compare (the ctest test)
       golden.py update KTRACE       rewrite the .txt/.json from the tapes (after
                                     an intended change of the output: review the diff)
       golden.py record KTRACE [NAME...]
                                     record the tapes again (root; after a change of a
                                     command's records or maps, which old tapes no
                                     longer match), then update
"""
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TAPES = os.path.join(HERE, "tapes")
# a name a hostile program could give a file or its argv: newline, escape sequence, invalid UTF-8
HOSTILE = b"gold\nname\x1b[31m\xff"


def hostile_work(secs):
    """Failed opens and execs of hostile names, and a little block I/O."""
    d = tempfile.mkdtemp(prefix="kt-golden-")
    try:
        path = os.path.join(d.encode(), HOSTILE)
        end = time.time() + secs
        while time.time() < end:
            try:
                os.open(path, os.O_RDONLY)
            except OSError:
                pass
            try:
                subprocess.run([b"/nonexistent/" + HOSTILE, b"arg\x01\x7f"])
            except OSError:
                pass
            subprocess.run(["/bin/true", "golden\targ"])
            time.sleep(0.1)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def io_work(secs):
    d = tempfile.mkdtemp(prefix="kt-golden-", dir="/var/tmp")
    try:
        end = time.time() + secs
        i = 0
        while time.time() < end:
            with open(os.path.join(d, "f%d" % i), "wb") as f:
                f.write(os.urandom(65536))
                f.flush()
                os.fsync(f.fileno())
            i += 1
            time.sleep(0.05)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def memstall_work(secs):
    """dd over the limit of a 64 MiB cgroup-v1 memory cgroup with a hostile name."""
    cg = b"/sys/fs/cgroup/memory/gold\x1b[31m\xffmemcg"
    d = tempfile.mkdtemp(prefix="kt-golden-", dir="/var/tmp")
    os.makedirs(cg, exist_ok=True)
    try:
        with open(os.path.join(cg, b"memory.limit_in_bytes"), "w") as f:
            f.write(str(64 << 20))
        subprocess.run([b"sh", b"-c", b'echo $$ > "$0/cgroup.procs" && exec "$@"', cg, b"dd", b"if=/dev/zero",
                        ("of=%s/f" % d).encode(), b"bs=1M", b"count=200", b"status=none"], timeout=60)
        time.sleep(secs)
    finally:
        shutil.rmtree(d, ignore_errors=True)
        for _ in range(50):
            try:
                os.rmdir(cg)
                break
            except OSError:
                time.sleep(0.1)


def writeback_work(secs):
    """dd throttled by a 4 MiB vm.dirty_bytes, then sync (the sysctls restored)."""
    d = tempfile.mkdtemp(prefix="kt-golden-", dir="/var/tmp")
    names = ("/proc/sys/vm/dirty_bytes", "/proc/sys/vm/dirty_ratio")
    saved = [open(n).read().strip() for n in names]
    try:
        with open(names[0], "w") as f:
            f.write(str(4 << 20))
        subprocess.run(["dd", "if=/dev/zero", "of=%s/big" % d, "bs=1M", "count=32", "status=none"], timeout=60)
    finally:
        with open(names[1] if saved[0] == "0" else names[0], "w") as f:
            f.write(saved[1] if saved[0] == "0" else saved[0])
    try:
        subprocess.run(["dd", "if=/dev/zero", "of=%s/small" % d, "bs=1M", "count=4", "status=none"])
        subprocess.run(["sync"])
        time.sleep(secs)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sched_work(secs):
    """A thread with a hostile name that sleeps and spins, so it switches both ways."""
    code = ("import ctypes, time\n"
            "ctypes.CDLL(None).prctl(15, %r, 0, 0, 0)\n"
            "end = time.time() + %f\n"
            "while time.time() < end:\n"
            "    t = time.time() + 0.01\n"
            "    while time.time() < t: pass\n"
            "    time.sleep(0.01)\n") % (HOSTILE[:15], secs)
    subprocess.run([sys.executable, "-c", code], check=True)


# name: (ktrace arguments, workload, seconds of workload)
CASES = {
    "exec": (["exec", "-x", "-d", "2", "-n", "python3"], hostile_work, 1.5),
    "exec-all": (["exec", "-d", "2", "-n", "true"], hostile_work, 1.5),
    "exec-count": (["exec", "-c", "-d", "2"], hostile_work, 1.5),
    "open": (["open", "-x", "-d", "2", "-n", "python3"], hostile_work, 1.5),
    "open-count": (["open", "-x", "-c", "-d", "2", "-n", "python3"], hostile_work, 1.5),
    "runqlat": (["runqlat", "1", "2"], hostile_work, 1.5),
    "runqlat-pid": (["runqlat", "-P", "-d", "2", "-n", "python3"], hostile_work, 1.5),
    "biolat": (["biolat", "-d", "2"], io_work, 1.5),
    "syscalls-hist": (["syscalls", "--hist", "--top", "5", "-d", "2", "-n", "python3"],
                      hostile_work, 1.5),
    "syscalls-slower": (["syscalls", "--slower", "0", "-x", "-d", "2", "-n", "python3"],
                        hostile_work, 1.5),
    "memstall": (["memstall", "--hist", "-n", "dd", "-d", "3"], memstall_work, 3.0),
    "writeback": (["writeback", "--hist", "-n", "dd", "-d", "4"], writeback_work, 0.5),
    "sched": (["sched", "-d", "2", "-n", "gold", "--top", "0", "--matrix"], sched_work, 1.5),
}


# tapes of summary commands whose --prom-textfile metrics are compared too
PROM = ("biolat", "runqlat", "runqlat-pid", "sched", "syscalls-hist", "writeback")


def replay_prom(kt, name):
    """rc, the .prom text `ktrace replay --prom-textfile` writes of tapes/NAME.tape, stderr."""
    d = tempfile.mkdtemp(prefix="kt-golden-prom-")
    try:
        rc, _, err = replay(kt, os.path.join(TAPES, name + ".tape"), "--prom-textfile", d)
        files = os.listdir(d)
        if rc == 0 and len(files) != 1:
            return 1, b"", "expected one .prom file, got %s" % files
        with open(os.path.join(d, files[0]), "rb") if files else open(os.devnull, "rb") as f:
            return rc, f.read(), err
    finally:
        shutil.rmtree(d, ignore_errors=True)


def check_prom(kt):
    failed = 0
    for name in PROM:
        path = os.path.join(TAPES, name + ".prom")
        rc, out, err = replay_prom(kt, name)
        try:
            with open(path, "rb") as f:
                want = f.read()
        except OSError as e:
            print("FAIL - %s: no expected metrics %s (%s): run golden.py update" % (name, path, e))
            failed += 1
            continue
        if rc != 0:
            print("FAIL - %s metrics: replay exited %d: %s" % (name, rc, err.strip()))
            failed += 1
        elif out != want:
            diff = difflib.unified_diff(want.decode(errors="replace").splitlines(),
                                        out.decode(errors="replace").splitlines(),
                                        "expected", "replayed", lineterm="", n=1)
            print("FAIL - %s metrics differ from %s:" % (name, os.path.relpath(path, HERE)))
            print("\n".join(list(diff)[:40]))
            failed += 1
        else:
            print("ok   - %s metrics (%d lines)" % (name, out.count(b"\n")))
        if rc == 0 and shutil.which("promtool"):
            r = subprocess.run(["promtool", "check", "metrics"], input=out, capture_output=True)
            if r.returncode != 0:
                print("FAIL - %s metrics: promtool check metrics: %s" %
                      (name, (r.stdout + r.stderr).decode(errors="replace")))
                failed += 1
            else:
                print("ok   - %s metrics pass promtool check metrics" % name)
    return failed


def replay(kt, tape, *args):
    r = subprocess.run([kt, "replay"] + list(args) + [tape], capture_output=True)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def expected_paths(name):
    return os.path.join(TAPES, name + ".txt"), os.path.join(TAPES, name + ".json")


def check(kt):
    names = sorted(n[:-5] for n in os.listdir(TAPES) if n.endswith(".tape"))
    failed = 0
    for name in names:
        tape = os.path.join(TAPES, name + ".tape")
        for path, args in zip(expected_paths(name), ([], ["-j"])):
            rc, out, err = replay(kt, tape, *args)
            try:
                with open(path, "rb") as f:
                    want = f.read()
            except OSError as e:
                print("FAIL - %s: no expected output %s (%s): run golden.py update" % (name, path, e))
                failed += 1
                continue
            what = "%s %s" % (name, "JSON" if args else "text")
            if rc != 0:
                print("FAIL - %s: replay exited %d: %s" % (what, rc, err.strip()))
                failed += 1
            elif out != want:
                diff = difflib.unified_diff(want.decode(errors="replace").splitlines(),
                                            out.decode(errors="replace").splitlines(),
                                            "expected", "replayed", lineterm="", n=1)
                print("FAIL - %s differs from %s:" % (what, os.path.relpath(path, HERE)))
                print("\n".join(list(diff)[:40]))
                failed += 1
            else:
                print("ok   - %s (%d lines)" % (what, out.count(b"\n")))
    if not names:
        print("FAIL - no tapes in " + TAPES)
        return 1
    failed += check_prom(kt)
    print("%d tapes, %d failed" % (len(names), failed))
    return 1 if failed else 0


def update(kt):
    for n in sorted(os.listdir(TAPES)):
        if not n.endswith(".tape"):
            continue
        name = n[:-5]
        for path, args in zip(expected_paths(name), ([], ["-j"])):
            rc, out, err = replay(kt, os.path.join(TAPES, n), *args)
            if rc != 0:
                print("%s: replay failed (%d): %s" % (name, rc, err.strip()))
                return 1
            with open(path, "wb") as f:
                f.write(out)
        if name in PROM:
            rc, out, err = replay_prom(kt, name)
            if rc != 0:
                print("%s: replay --prom-textfile failed (%d): %s" % (name, rc, err.strip()))
                return 1
            with open(os.path.join(TAPES, name + ".prom"), "wb") as f:
                f.write(out)
        print("updated " + name)
    return 0


def record(kt, names):
    if os.geteuid() != 0:
        print("golden.py record needs root (it traces)")
        return 1
    for name in names or sorted(CASES):
        args, work, secs = CASES[name]
        tape = os.path.join(TAPES, name + ".tape")
        tmp = tape + ".new"
        if os.path.exists(tmp):
            os.unlink(tmp)
        p = subprocess.Popen([kt] + args + ["--record", tmp], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        time.sleep(1.0)  # attached by then (start-up is tens of ms)
        work(secs)
        _, err = p.communicate(timeout=60)
        if p.returncode != 0:
            print("%s: recording failed (%d): %s" % (name, p.returncode, err.decode(errors="replace")))
            return 1
        os.chmod(tmp, 0o644)  # a fixture in the repository, not evidence
        os.replace(tmp, tape)
        print("recorded %s (%d bytes)" % (name, os.path.getsize(tape)))
    return update(kt)


def main(argv):
    if len(argv) < 2 or argv[0] not in ("check", "update", "record"):
        print(__doc__.strip())
        return 2
    kt = argv[1]
    if argv[0] == "check":
        return check(kt)
    if argv[0] == "update":
        return update(kt)
    return record(kt, argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
