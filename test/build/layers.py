#!/usr/bin/env python3
"""Checks that the user-space code includes only downward, layer by layer.

usage: layers.py SOURCE_DIR

From the top (commands) to the bottom (base):

  commands  cmd/*.c, probes/NAME.h, gen/*.skel.h      what a command is
  engine    lifecycle, options, filters, plans, features and names of the
            running kernel, capabilities, CO-RE, stack collection
            (core/ktrace.h is its interface)
  output    output/: text and JSON, histograms, folded stacks, SVG
  models    histograms, stacks, kernel and user symbols, ELF, perf maps,
            maps, BTF, paths inside a process's root, limits
  base      diagnostics and clocks (util.h), output files (ofile.h),
            the binary search (sorted.h), embedded objects (bpfz.h), and
            the headers shared with BPF (probes/lib/*.h)

A file may include its own layer and the layers below it, never above: so
the engine may render, output never reaches back into the engine, and the
models know nothing of either. Output sits above the models because it
renders their values (a histogram, a stack). Each header in core/ and output/
must be placed in a layer here: a new one fails the check until it is.
"""
import os
import re
import sys

LAYERS = ["base", "models", "output", "engine", "commands"]
HEADERS = {
    "base": ["util.h", "ofile.h", "sorted.h", "bpfz.h", "tape.h"],
    "models": ["hist.h", "stacks.h", "ksyms.h", "usyms.h", "kt_elf.h", "perfmap.h", "maps.h",
               "kbtf.h", "rootfs.h", "rlimits.h", "cgname.h", "utarget.h", "fsrec.h",
               "unwind.h"],
    "output": ["output.h", "output_int.h", "flamegraph.h", "folded.h", "stacks_out.h", "prom.h"],
    # btf_enum: names from the running kernel's BTF, which features.c holds
    "engine": ["ktrace.h", "opts.h", "plan.h", "features.h", "caps.h", "corebtf.h", "stackcol.h",
               "btf_enum.h", "replay.h", "khz.h", "serve.h",  # khz: the running kernel's HZ
               "fsvfs.h"],  # fsvfs: the fs commands' layers of hooks, layouts from the BTF
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of_header(name, where):
    for layer, names in HEADERS.items():
        if name in names:
            return layer
    if (name.endswith(".bpf.h") or name == "kt_common.h" or
            os.path.exists(os.path.join(where, "probes", "lib", name))):
        return "base"  # probes/lib: shared with the BPF side, plain data and constants
    if name.endswith(".skel.h") or name == "syscall_names.h":
        return "commands"
    if os.path.exists(os.path.join(where, "probes", name)):
        return "commands"  # a command's record layout, shared with its BPF program
    return None


def main(argv):
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    src = argv[0]
    errors = []
    files = []
    for d in ("core", "output", "cmd"):
        for f in sorted(os.listdir(os.path.join(src, d))):
            if f.endswith((".c", ".h")):
                files.append(os.path.join(d, f))
    for rel in files:
        d, base = rel.split("/")
        if d == "cmd":
            own = "commands"
        elif base.endswith(".h"):
            own = layer_of_header(base, src)
        else:
            own = layer_of_header(base[:-2] + ".h", src)
            if own is None and d == "output":
                own = "output"
            if own is None and base in ("run.c", "cmdtab.c", "filter.c"):
                own = "engine"
        if own is None:
            errors.append("%s: not placed in a layer (add its header to HEADERS in %s)"
                          % (rel, os.path.relpath(__file__, src)))
            continue
        with open(os.path.join(src, rel), encoding="utf-8") as fh:
            text = fh.read()
        for inc in INCLUDE.findall(text):
            lay = layer_of_header(os.path.basename(inc), src)
            if lay is None:
                errors.append("%s: includes \"%s\", which is in no layer" % (rel, inc))
            elif LAYERS.index(lay) > LAYERS.index(own):
                errors.append("%s (%s) includes \"%s\" (%s): upward" % (rel, own, inc, lay))
    for e in errors:
        print("layers: " + e)
    if errors:
        print("layers: %d include(s) against the layering (see the top of %s)"
              % (len(errors), os.path.basename(__file__)))
        return 1
    print("layers: %d files include only downward" % len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
