#!/usr/bin/env python3
"""deploy/ validates offline: the systemd unit and the Kubernetes DaemonSet.

usage: check_deploy.py KTRACE SOURCE_DIR

- deploy/ktrace-serve.service: `systemd-analyze verify` (with ExecStart on
  the built binary, man pages not looked up) says nothing; the capability
  lines hold CAP_BPF and CAP_PERFMON, known capability names only, ambient
  within the bounding set; DynamicUser or User=, NoNewPrivileges, no
  PrivateUsers (capabilities in a user namespace would not count for bpf()).
- deploy/ktrace-daemonset.yaml (python3-yaml): the DaemonSet against
  daemonset.schema.json (python3-jsonschema: hostPID, BPF and PERFMON added,
  ALL dropped, not privileged, BTF and tracefs mounted, the prometheus.io
  annotations), and what a schema cannot say: the selector matches the
  template's labels, every volumeMount has its volume, the annotated port is
  a container port and the one serve listens on.
- In both, what `ktrace serve` is given: summary commands only (those its
  --help lists).
Exit 0 ok, 1 failed, 77 skipped (a tool missing, said why).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ktrace, src = sys.argv[1], sys.argv[2]
failed = 0
SKIP = 77


def check(cond, what, detail=None):
    global failed
    print(("ok   - " if cond else "FAIL - ") + what + ("" if cond or detail is None else
                                                      "\n       " + str(detail)[:3000]))
    failed += not cond


def imp(name):
    """A module, from Debian's package when this python is another one (pyenv)."""
    try:
        return __import__(name)
    except ImportError:
        if "/usr/lib/python3/dist-packages" not in sys.path:
            sys.path.append("/usr/lib/python3/dist-packages")
            try:
                return __import__(name)
            except ImportError:
                pass
    return None


help_text = subprocess.run([ktrace, "serve", "--help"], capture_output=True, text=True).stdout
m = re.search(r"Commands it runs \(summary commands\): ([^.]+)\.", help_text.replace("\n", " "))
summary = set(re.split(r",\s*", m.group(1))) if m else set()
check(len(summary) >= 5, "ktrace serve --help lists the summary commands (%d)" % len(summary))


def serve_commands(args):
    """The commands of `serve ARGS` (after serve's own options)."""
    i, out = 0, []
    while i < len(args) and args[i].startswith("--"):
        i += 1 if "=" in args[i] else 2
    start = True
    for a in args[i:]:
        if start:
            out.append(a)
        start = a == "--"
    return out


# ---- the systemd unit ----
unit_path = os.path.join(src, "deploy", "ktrace-serve.service")
unit = open(unit_path).read()
keys = {}
for line in unit.splitlines():
    if "=" in line and not line.startswith("#"):
        k, v = line.split("=", 1)
        keys[k.strip()] = v.strip()
exec_start = keys.get("ExecStart", "").split()
check(len(exec_start) > 2 and exec_start[1] == "serve", "ExecStart runs ktrace serve", exec_start)
cmds = serve_commands(exec_start[2:])
check(cmds and set(cmds) <= summary, "the unit's commands are summary commands (%s)" % cmds)
caps_h = open("/usr/include/linux/capability.h").read() \
    if os.path.exists("/usr/include/linux/capability.h") else ""
known = set(re.findall(r"#define (CAP_[A-Z_]+)\s+\d+", caps_h))
bound = set(keys.get("CapabilityBoundingSet", "").split())
ambient = set(keys.get("AmbientCapabilities", "").split())
check({"CAP_BPF", "CAP_PERFMON"} <= ambient and ambient <= bound,
      "CAP_BPF and CAP_PERFMON ambient, within the bounding set", (ambient, bound))
check(not known or (bound | ambient) <= known, "known capability names only",
      (bound | ambient) - known)
check(keys.get("DynamicUser") == "yes" or "User" in keys, "runs as an unprivileged user")
check(keys.get("NoNewPrivileges") == "yes" and "PrivateUsers" not in keys,
      "NoNewPrivileges, no PrivateUsers")
sa = shutil.which("systemd-analyze")
if sa:
    d = tempfile.mkdtemp(prefix="kt-unit-")
    try:
        path = os.path.join(d, "ktrace-serve.service")
        with open(path, "w") as f:
            f.write(unit.replace(exec_start[0], os.path.abspath(ktrace), 1))
        r = subprocess.run([sa, "verify", "--man=no", path], capture_output=True, text=True)
        out = (r.stdout + r.stderr).strip()
        check(r.returncode == 0 and not out, "systemd-analyze verify accepts the unit", out)
    finally:
        shutil.rmtree(d, ignore_errors=True)
else:
    print("SKIP part: systemd-analyze not installed (apt-get install systemd)")

# ---- the DaemonSet ----
yaml = imp("yaml")
jsonschema = imp("jsonschema")
if not yaml or not jsonschema:
    print("SKIP: python3-yaml and python3-jsonschema are needed for the DaemonSet "
          "(apt-get install python3-yaml python3-jsonschema)")
    sys.exit(1 if failed else SKIP)
docs = [x for x in yaml.safe_load_all(open(os.path.join(src, "deploy", "ktrace-daemonset.yaml")))
        if x]
ds = [x for x in docs if x.get("kind") == "DaemonSet"]
check(len(ds) == 1, "the YAML holds one DaemonSet (%d documents)" % len(docs))
schema = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                     "daemonset.schema.json")))
errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(ds[0]), key=str) if ds else []
check(ds and not errors, "the DaemonSet matches daemonset.schema.json",
      "\n".join("%s: %s" % ("/".join(map(str, e.path)), e.message) for e in errors))
if ds and not errors:
    spec = ds[0]["spec"]
    t = spec["template"]
    labels = t["metadata"]["labels"]
    check(all(labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()),
          "the selector matches the template's labels")
    c = t["spec"]["containers"][0]
    vols = {v["name"] for v in t["spec"]["volumes"]}
    check(all(m["name"] in vols for m in c["volumeMounts"]), "every volumeMount has its volume")
    port = int(t["metadata"]["annotations"]["prometheus.io/port"])
    check(port in [p["containerPort"] for p in c["ports"]],
          "the annotated port %d is a container port" % port)
    args = c["args"]
    listen = args[args.index("--listen") + 1] if "--listen" in args else "127.0.0.1:9464"
    check(listen.rsplit(":", 1)[1] == str(port) and not listen.startswith("127."),
          "serve listens on that port on the pod's address (%s)" % listen)
    cmds = serve_commands(args[1:])
    check(cmds and set(cmds) <= summary, "the DaemonSet's commands are summary commands (%s)" % cmds)
for x in docs:
    check(isinstance(x.get("apiVersion"), str) and isinstance(x.get("kind"), str) and
          isinstance(x.get("metadata", {}).get("name"), str),
          "%s %s has apiVersion, kind and a name" % (x.get("kind"), x.get("metadata", {}).get("name")))
sys.exit(1 if failed else 0)
