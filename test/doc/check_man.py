#!/usr/bin/env python3
"""Every long option that `ktrace CMD --help` shows appears in man/ktrace-CMD.8
(or, for the options under "Common options:", which core adds to every
command, in ktrace.8's COMMON OPTIONS), every command has a page with a FOR
BCC USERS section, ktrace.8 names every command, and each option letter means
the same long option in every command."""
import re
import subprocess
import sys

ktrace, mandir = sys.argv[1], sys.argv[2]
failed = 0
letters = {}  # "-x" -> (long option, command that has it first)


def fail(msg):
    global failed
    failed += 1
    print("FAIL - " + msg)


top = subprocess.run([ktrace, "--help"], capture_output=True, text=True).stdout
cmds = re.findall(r"^  (\w+)\s{2,}", top.split("Commands:")[1], re.M)
cmds = [c for c in cmds if c != "help"]
if not cmds:
    fail("no commands listed by ktrace --help")
try:
    main_page = open("%s/ktrace.8" % mandir).read()
except OSError:
    main_page = ""
    fail("man/ktrace.8 is missing")
# roff writes "-" as "\-" and may split words with font escapes
plain_main = re.sub(r"\\f[BIRP]|\\", "", main_page)
common_doc = plain_main.split(".SH COMMON OPTIONS")[1].split(".SH ")[0] \
    if ".SH COMMON OPTIONS" in plain_main else ""
for cmd in cmds:
    if "ktrace-%s" % cmd not in plain_main:
        fail("ktrace.8 does not mention ktrace-%s(8)" % cmd)
    h = subprocess.run([ktrace, cmd, "--help"], capture_output=True, text=True)
    if h.returncode != 0:
        fail("ktrace %s --help exits %d" % (cmd, h.returncode))
    opts = sorted(set(re.findall(r"--([a-z][a-z0-9-]*)", h.stdout)) - {"help", "usage"})
    for letter, name in re.findall(r"^\s+(-[^-\s]), --([a-z][a-z0-9-]*)", h.stdout, re.M):
        if letter not in letters:
            letters[letter] = (name, cmd)
        elif letters[letter][0] != name:
            fail("%s is --%s in %s but --%s in %s" % (letter, letters[letter][0],
                                                      letters[letter][1], name, cmd))
    try:
        page = open("%s/ktrace-%s.8" % (mandir, cmd)).read()
    except OSError:
        fail("man/ktrace-%s.8 is missing" % cmd)
        continue
    plain = re.sub(r"\\f[BIRP]|\\", "", page)
    common = set(re.findall(r"--([a-z][a-z0-9-]*)", h.stdout.split("Common options:")[1].split("\n\n")[0])) \
        if "Common options:" in h.stdout else set()
    missing = [o for o in opts if "--" + o not in plain and not (o in common and "--" + o in common_doc)]
    if missing:
        fail("ktrace-%s.8 does not document: %s" % (cmd, ", ".join("--" + o for o in missing)))
    else:
        print("ok   - ktrace-%s.8 documents all %d long options" % (cmd, len(opts)))
    if ".SH EXAMPLES" not in page:
        fail("ktrace-%s.8 has no EXAMPLES section" % cmd)
    if cmd != "check" and ".SH FOR BCC USERS" not in page:
        fail("ktrace-%s.8 has no FOR BCC USERS section" % cmd)
if len(letters) < 10:
    fail("only %d option letters found in the help texts: is the pattern stale?" % len(letters))
print("%d commands checked, %d option letters with one meaning each, %d failed"
      % (len(cmds), len(letters), failed))
sys.exit(1 if failed else 0)
