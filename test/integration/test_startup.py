#!/usr/bin/env python3
"""Start-up work stays at the floor: every command relocates CO-RE against a
subset of the kernel's BTF (not the whole 5-6 MB), a command without
BTF-typed programs (profile) never has libbpf parse the whole BTF (its peak
RSS stays far below the ~11 MB that costs), and exec reads a failed exec's
argv with bpf_loop where the kernel has it (the bounded loop costs the
verifier ~20 ms per program)."""
import os
import re
import signal

import ktlib
from ktlib import Ktrace, check, check_no_leak, main

COMMANDS = [["biolat", "1"], ["exec"], ["open"], ["runqlat", "1"], ["offcpu", "1"],
            ["profile", "1", "-p", str(os.getpid())], ["tcpretrans"], ["oom"]]
# profile follows one process (this test's): system-wide, it would read the
# maps of every new process on a busy machine, and its RSS would say nothing
# about the BTF


def have_bpf_loop():
    # the bpf_loop helper (5.17+) is the kernel function bpf_loop
    with open("/proc/kallsyms", "rb") as f:
        return re.search(rb" [tT] bpf_loop$", f.read(), re.M) is not None


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def test():
    for args in COMMANDS:
        kt = Ktrace(*(args + ["-v"]))
        rss = vm_hwm_kb(kt.pid)
        rc = kt.stop(signal.SIGINT)
        err = kt.stderr()
        name = args[0]
        check(rc == 0, "%s: exits 0" % name, err[-2000:])
        m = re.search(r"CO-RE: a BTF of (\d+) bytes", err)
        check(m and 0 < int(m.group(1)) < 1 << 20,
              "%s: CO-RE against a subset of the kernel's BTF (< 1 MiB)" % name, err[-2000:])
        if name == "profile" and not os.environ.get("KT_SANITIZED"):
            # a whole-BTF parse alone peaks above 11 MB
            check(rss is not None and rss < 8 * 1024,
                  "profile: peak RSS %s kB < 8 MB: libbpf never parsed the whole BTF" % rss)
        if name == "exec":
            want = "exit_execve_loop" if have_bpf_loop() else "exit_execve"
            check(re.search(r"hook sys_exit_execve: .*\(program %s\): ok" % want, err),
                  "exec: sys_exit_execve uses %s" % want, err[-2000:])
        check_no_leak(kt)


if __name__ == "__main__":
    main(test)
