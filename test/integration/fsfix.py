"""The fs commands' shared fixture: ext4 on a loop device whose writes reach
the disk throttled (blkio cgroup v1 on vda, TRIGGERS.md), and the fswriter
workload run in that cgroup, so that its fsyncs take hundreds of ms."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

from ktlib import UNIQUE, at_exit, cgroup_v1, check, in_cgroup, make_loop, sh, skip, workload

NFILES = 200
# a name with a newline and an escape sequence: escaped in text, valid in JSON
HOSTILE = "evil\n\x1b[31mred"


def ext4_mount(throttle_iops=10):
    """A fresh ext4 on a loop device, mounted; its directory and the cgroup
    (throttling vda to throttle_iops writes per second) to run writers in."""
    try:
        with open("/sys/block/vda/dev") as f:
            vda = f.read().strip()
    except OSError:
        skip("no /sys/block/vda: the throttled-loop recipe needs the root disk vda")
    if not os.path.isdir("/sys/fs/cgroup/blkio"):
        skip("no cgroup-v1 blkio controller at /sys/fs/cgroup/blkio")
    dev = make_loop(size_mb=64, fill_mb=1)
    sh(["mkfs.ext4", "-q", "-F", dev])
    mnt = tempfile.mkdtemp(prefix="kt-fs-", dir="/var/tmp")
    sh(["mount", "-t", "ext4", dev, mnt])
    at_exit(lambda: (sh(["umount", "-l", mnt], check_rc=False), os.rmdir(mnt)))
    cg = cgroup_v1("blkio", "fs", {"blkio.throttle.write_iops_device": "%s %d" % (vda, throttle_iops)})
    return mnt, cg


class Writer:
    """fswriter in dir (in cgroup cg when given): started, waiting for go()."""

    def __init__(self, d, cg=None, nfiles=NFILES, hostile=HOSTILE):
        argv = [workload("fswriter"), d, str(nfiles)] + ([hostile] if hostile else [])
        if cg:
            argv = in_cgroup(cg, argv)
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.pid = self.p.pid  # in_cgroup's shell execs: the same pid
        at_exit(lambda: self.p.poll() is None and (self.p.kill(), self.p.wait()))
        time.sleep(0.2)  # the shell has moved itself and exec'd

    def run(self, timeout=60):
        t0 = time.time()
        out, _ = self.p.communicate("go\n", timeout=timeout)
        check(self.p.returncode == 0 and "done" in out, "fswriter finished", out)
        return time.time() - t0


def unique_dir(mnt, name):
    d = os.path.join(mnt, "%s_%s" % (UNIQUE, name))
    os.mkdir(d)
    return d


class Bpftrace:
    """bpftrace running a script (its text) until stop(); stop() returns its output."""

    def __init__(self, script, *args):
        if not shutil.which("bpftrace"):
            self.p = None
            return
        d = tempfile.mkdtemp(prefix="kt-bt-")
        at_exit(shutil.rmtree, d, True)
        path = os.path.join(d, "ref.bt")
        with open(path, "w") as f:
            f.write(script)
        self.out = open(os.path.join(d, "out"), "w+")
        self.p = subprocess.Popen(["bpftrace", path] + [str(a) for a in args], stdout=self.out,
                                  stderr=subprocess.STDOUT, text=True)
        at_exit(lambda: self.p.poll() is None and (self.p.kill(), self.p.wait()))
        end = time.time() + 60
        while "Attaching" not in self.text():
            if self.p.poll() is not None or time.time() > end:
                raise RuntimeError("bpftrace did not start:\n" + self.text())
            time.sleep(0.1)
        time.sleep(1)  # "Attaching" comes before the probes are in

    def text(self):
        self.out.seek(0)
        return self.out.read()

    def stop(self):
        if not self.p:
            return None
        self.p.send_signal(signal.SIGINT)
        self.p.wait(60)
        return self.text()
