"""Shared harness for ktrace's integration tests.

Each test_*.py is one ctest test: it runs the real ktrace binary as root
against kernel events it provokes itself, and asserts on what ktrace
reports. Exit 0 = pass, 1 = fail, 77 = skipped (with the reason printed).

Environment (set by test/CMakeLists.txt): KTRACE (the binary), KT_WORKLOADS
(directory of the compiled test/workloads programs), KT_SOURCE (repo root).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

KTRACE = os.environ.get("KTRACE", os.path.join(os.path.dirname(__file__), "../../build/ktrace"))
WORKLOADS = os.environ.get("KT_WORKLOADS", os.path.join(os.path.dirname(KTRACE), "workloads"))
SKIP = 77
UNIQUE = "kt%s" % uuid.uuid4().hex[:8]

_cleanups = []
_failures = []
_checks = 0


def log(*a):
    print(*a, flush=True)


def skip(reason):
    log("SKIP: " + reason)
    run_cleanups()
    sys.exit(SKIP)


def require_root():
    if os.geteuid() != 0:
        skip("needs root (integration tests load BPF programs)")


def require_tool(name, package=None):
    if not shutil.which(name):
        skip("%s not installed (apt-get install %s)" % (name, package or name))


def check(cond, what, detail=None):
    """Record one assertion; the test fails at the end if any failed."""
    global _checks
    _checks += 1
    if cond:
        log("ok   - " + what)
    else:
        log("FAIL - " + what + ("" if detail is None else "\n       " + str(detail)[:4000]))
        _failures.append(what)
    return cond


def at_exit(fn, *args):
    _cleanups.append((fn, args))


def run_cleanups():
    while _cleanups:
        fn, args = _cleanups.pop()
        try:
            fn(*args)
        except Exception as e:  # cleanup must not hide the result
            log("cleanup error: %r" % e)


def main(fn):
    """Runs fn() and exits 0/1 (or 77 via skip())."""
    require_root()
    if not os.access(KTRACE, os.X_OK):
        log("FAIL - ktrace binary not found at " + KTRACE)
        sys.exit(1)
    try:
        fn()
    except SystemExit:
        raise
    except Exception:
        traceback.print_exc()
        _failures.append("exception")
    finally:
        run_cleanups()
    log("%d checks, %d failed" % (_checks, len(_failures)))
    sys.exit(1 if _failures or not _checks else 0)


def sh(cmd, check_rc=True, **kw):
    r = subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True, **kw)
    if check_rc and r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s%s" % (r.returncode, cmd, r.stdout, r.stderr))
    return r


def workload(name):
    p = os.path.join(WORKLOADS, name)
    if not os.access(p, os.X_OK):
        raise RuntimeError("workload %s not built at %s" % (name, p))
    return p


class Ktrace:
    """A running ktrace. Starts it and waits until it says it is attached."""

    READY_MARK = "Hit Ctrl-C to end"

    def __init__(self, *args, env=None, ready_timeout=30, user=None):
        self.args = [KTRACE] + [str(a) for a in args]
        self.outf = tempfile.TemporaryFile(mode="w+b")
        self.errf = tempfile.TemporaryFile(mode="w+b")
        e = dict(os.environ)
        if env:
            e.update(env)
        cmd = self.args
        if user:
            cmd = user + cmd
        self.p = subprocess.Popen(cmd, stdout=self.outf, stderr=self.errf, env=e)
        self.pid = self.p.pid
        self.rc = None
        self.prog_ids = []
        at_exit(self._kill)
        if ready_timeout:
            self.wait_ready(ready_timeout)

    def _kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def stderr(self):
        self.errf.seek(0)
        return self.errf.read().decode(errors="replace")

    def stdout_bytes(self):
        self.outf.seek(0)
        return self.outf.read()

    def stdout(self):
        return self.stdout_bytes().decode(errors="replace")

    def wait_ready(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            if self.READY_MARK in self.stderr():
                time.sleep(0.1)
                # what it holds while tracing, to prove later that all of it went away
                self.prog_ids = bpf_progs_of(self.pid)
                return True
            if self.p.poll() is not None:
                raise RuntimeError("ktrace exited (%d) before it was ready:\n%s" % (self.p.returncode, self.stderr()))
            time.sleep(0.05)
        raise RuntimeError("ktrace not ready after %ds:\n%s" % (timeout, self.stderr()))

    def stop(self, sig=signal.SIGINT, timeout=30):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout=60):
        try:
            self.rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise RuntimeError("ktrace did not exit within %ds:\n%s" % (timeout, self.stderr()))
        return self.rc

    def records(self, type_=None):
        """JSON Lines of stdout (every line must parse)."""
        out = []
        for i, line in enumerate(self.stdout().splitlines()):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except ValueError as e:
                raise AssertionError("line %d of ktrace's JSON output does not parse: %s\n%r" % (i + 1, e, line))
            if type_ is None or r.get("type") == type_:
                out.append(r)
        return out


def bpftrace_start(script, *args):
    """bpftrace running script (text) with args, once its probes are in: (process, output file)."""
    d = tempfile.mkdtemp(prefix="kt-bt-")
    at_exit(shutil.rmtree, d, True)
    path = os.path.join(d, "ref.bt")
    with open(path, "w") as f:
        f.write(script)
    out = open(os.path.join(d, "out"), "w+")
    p = subprocess.Popen(["bpftrace", path] + [str(a) for a in args], stdout=out,
                         stderr=subprocess.STDOUT)
    at_exit(lambda: p.poll() is None and (p.kill(), p.wait()))
    end = time.time() + 60
    while True:
        out.seek(0)
        if "Attaching" in out.read():
            break
        if p.poll() is not None or time.time() > end:
            out.seek(0)
            raise RuntimeError("bpftrace did not start:\n" + out.read())
        time.sleep(0.1)
    time.sleep(1)  # "Attaching" comes before the probes are in
    return p, out


def bpftrace_stop(p, out):
    """Stops bpftrace as Ctrl-C does; what it printed (its maps at exit)."""
    p.send_signal(signal.SIGINT)
    p.wait(60)
    out.seek(0)
    return out.read()


def run_ktrace(*args, timeout=60, env=None, user=None):
    """Runs ktrace to completion; returns CompletedProcess (text)."""
    cmd = [KTRACE] + [str(a) for a in args]
    if user:
        cmd = user + cmd
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)


def bpf_progs_of(pid):
    """IDs of the BPF programs process pid holds (program and link fds, from fdinfo)."""
    ids = set()
    d = "/proc/%d/fdinfo" % pid
    try:
        fds = os.listdir(d)
    except OSError:
        return []
    for fd in fds:
        try:
            with open(os.path.join(d, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except (OSError, ValueError):
            pass
    return sorted(ids)


def all_prog_ids():
    r = sh(["bpftool", "-j", "prog", "list"], check_rc=False)
    return {p.get("id") for p in json.loads(r.stdout or "[]")} if r.returncode == 0 else set()


def check_no_leak(kt):
    """After ktrace exited, none of the BPF programs it held while tracing is left."""
    check(kt.p.poll() is not None, "ktrace (pid %d) has exited" % kt.pid)
    check(kt.prog_ids, "bpftool saw ktrace's programs while it ran", kt.prog_ids)
    left = None
    for _ in range(20):  # the kernel frees programs asynchronously (RCU)
        left = sorted(set(kt.prog_ids) & all_prog_ids())
        if not left:
            break
        time.sleep(0.1)
    check(not left, "none of ktrace's %d BPF programs is left after exit" % len(kt.prog_ids), left)


def nobody():
    """Prefix that runs a command as user nobody with no capabilities."""
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]


# ---- kernel event scaffolding (see ../shared/TRIGGERS.md) ----

def ensure_tracefs():
    if not os.path.exists("/sys/kernel/tracing/events"):
        sh("mount -t tracefs nodev /sys/kernel/tracing", check_rc=False)


def make_loop(size_mb=64, fill_mb=16, direct=True):
    """A loop device over a file on /, pre-filled (holes never reach the disk)."""
    d = tempfile.mkdtemp(prefix="kt-loop-", dir="/var/tmp")
    img = os.path.join(d, UNIQUE + ".img")
    sh(["truncate", "-s", "%dM" % size_mb, img])
    args = ["losetup", "--find", "--show"] + (["--direct-io=on"] if direct else []) + [img]
    dev = sh(args).stdout.strip()
    at_exit(lambda: (sh(["losetup", "-d", dev], check_rc=False), shutil.rmtree(d, ignore_errors=True)))
    sh(["dd", "if=/dev/urandom", "of=" + dev, "bs=1M", "count=%d" % fill_mb, "oflag=direct", "status=none"])
    return dev


def cgroup_v1(controller, name, settings):
    """A cgroup-v1 directory with settings {file: value}; removed at exit."""
    path = "/sys/fs/cgroup/%s/%s_%s" % (controller, UNIQUE, name)
    os.makedirs(path, exist_ok=True)
    for f, v in settings.items():
        with open(os.path.join(path, f), "w") as fh:
            fh.write(str(v))

    def rm():
        parent = os.path.dirname(path)
        try:
            with open(os.path.join(path, "cgroup.procs")) as fh:
                for pid in fh.read().split():
                    try:
                        with open(os.path.join(parent, "cgroup.procs"), "w") as p:
                            p.write(pid)
                    except OSError:
                        pass
        except OSError:
            pass
        for _ in range(50):
            try:
                os.rmdir(path)
                return
            except OSError:
                time.sleep(0.1)
    at_exit(rm)
    return path


def in_cgroup(path, argv):
    """argv run inside cgroup path (the shell moves itself first, then execs)."""
    return ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', path] + list(argv)


def netns(name=None):
    """A private network namespace with lo up; deleted at exit."""
    name = name or (UNIQUE + "ns")
    sh(["ip", "netns", "add", name])
    at_exit(lambda: sh(["ip", "netns", "del", name], check_rc=False))
    sh(["ip", "-n", name, "link", "set", "lo", "up"])
    return name
