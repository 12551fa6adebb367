#!/usr/bin/env python3
"""flamegraph: folded stacks to a self-contained SVG, and differential graphs.

Folded files made here (and `ktrace profile -f` of a frame-pointer spinner)
go through the real binary. Checked: the SVG is valid XML (xmllint), its
search/zoom script is inline and it references nothing outside itself; a
diff of two small files colours and labels the frames that grew, shrank and
appeared (and, with --negate, vanished) with both counts and the delta;
hostile frame names stay text; malformed lines are reported as FILE:LINE
(skipped, or an error with --strict); the frame bound is reported and noted
in the graph; usage errors exit 2. When node is installed, the search
script itself runs against the SVG's frames in a minimal DOM: it highlights
the matches and reports the matched share, nested matches counted once.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import ktlib
from ktlib import check, run_ktrace, workload

# the program name the subtitle shows (ktrace, or ktrace_asan under the sanitizers)
ME = os.path.basename(ktlib.KTRACE)

SVG_NS = "{http://www.w3.org/2000/svg}"
TMP = tempfile.mkdtemp(prefix="kt-fg-")
ktlib.at_exit(shutil.rmtree, TMP, True)

BEFORE = """app;main;work;hot 50
app;main;work;cold 30
app;main;idle 20
app;main;gone 10
"""
AFTER = """app;main;work;hot 90
app;main;work;cold 10
app;main;idle 20
app;main;fresh 15
"""


def path(name, text=None, mode="w"):
    p = os.path.join(TMP, name)
    if text is not None:
        with open(p, mode) as f:
            f.write(text)
    return p


def xmllint_ok(svg_path):
    r = subprocess.run(["xmllint", "--noout", svg_path], capture_output=True, text=True)
    return r.returncode == 0, r.stderr


def frames(svg_text):
    """[(title, classes, attrs of rect)] of the drawn frames."""
    root = ET.fromstring(svg_text.encode())
    out = []
    for g in root.iter(SVG_NS + "g"):
        t = g.find(SVG_NS + "title")
        r = g.find(SVG_NS + "rect")
        if t is not None and r is not None:
            out.append({"title": t.text or "", "class": g.get("class", ""),
                        "depth": int(g.get("data-depth")), "x": float(r.get("x")),
                        "w": float(r.get("width")), "fill": r.get("fill")})
    return out


def frame(fr, name):
    for f in fr:
        if f["title"].startswith(name + " ("):
            return f
    return None


def self_contained(svg_text):
    refs = re.findall(r"https?://[^\"'\s<]*", svg_text)
    # no href or src attribute, no CSS url() or @import, no script loaded from elsewhere
    return (refs == ["http://www.w3.org/2000/svg"] and not re.search(r"(href|src)\s*=", svg_text)
            and "url(" not in svg_text and "@import" not in svg_text
            and not re.search(r"<script[^>]*\bsrc", svg_text))


def plain_test():
    src = path("before.folded", BEFORE)
    out = path("plain.svg")
    r = run_ktrace("flamegraph", "--title", "Plain <test>", "-o", out, src)
    check(r.returncode == 0 and r.stdout == "", "flamegraph -o FILE exits 0, nothing on stdout",
          r.stderr)
    ok, err = xmllint_ok(out)
    check(ok, "xmllint --noout accepts the SVG", err)
    text = open(out).read()
    check("function search(" in text and "function zoom(" in text and "function unzoom(" in text
          and 'id="search"' in text, "the search and zoom script is in the SVG")
    check(self_contained(text), "the SVG references nothing outside itself (only the SVG namespace)",
          re.findall(r"https?://[^\"'\s<]*", text))
    fr = frames(text)
    hot = frame(fr, "hot")
    check(hot and "(50 samples, 45.45%)" in hot["title"], "hot has 50 of 110 samples", hot)
    check("Plain &lt;test&gt;" in text, "the title is escaped")
    sub = re.search(r'<text id="subtitle"[^>]*>([^<]*)<', text)
    # the line is cut to the graph's width; its whole text is the hover title of the subtitle
    check(sub and ME + " flamegraph" in sub.group(1) and "before.folded (modi" in sub.group(1)
          and re.search(r"before\.folded \(modified \d{4}-", text),
          "the default subtitle gives the command line and the input's name and mtime",
          sub and sub.group(1))
    # no privileges needed: user nobody, no capabilities, input on stdin
    r = subprocess.run(ktlib.nobody() + [ktlib.KTRACE, "flamegraph"], input=BEFORE,
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and "<title>hot (50 samples" in r.stdout,
          "flamegraph runs as nobody without capabilities", r.stderr)
    # standard input, as no file and as "-"; stdout
    for args in ([], ["-"]):
        r = subprocess.run([ktlib.KTRACE, "flamegraph"] + args, input=BEFORE, capture_output=True,
                           text=True, timeout=60)
        check(r.returncode == 0 and "<title>hot (50 samples" in r.stdout,
              "flamegraph %s reads standard input and writes stdout" % " ".join(args), r.stderr)
    return fr


def diff_test():
    b, a = path("before.folded", BEFORE), path("after.folded", AFTER)
    out = path("diff.svg")
    r = run_ktrace("flamegraph", "--diff", b, a, "-o", out)
    check(r.returncode == 0, "flamegraph --diff exits 0", r.stderr)
    ok, err = xmllint_ok(out)
    check(ok, "the diff SVG is valid XML", err)
    text = open(out).read()
    fr = frames(text)
    total = sum(f["w"] for f in fr if f["depth"] == 0)
    want = {
        "hot": ("grew", "before 50, after 90 samples, delta +40; share 45.45% to 66.67%: grew"),
        "cold": ("shrank", "before 30, after 10 samples, delta -20; share 27.27% to 7.41%: shrank"),
        "idle": ("shrank", "before 20, after 20 samples, delta +0; share 18.18% to 14.81%: shrank"),
        "fresh": ("appeared", "before 0, after 15 samples, delta +15; share 0.00% to 11.11%: appeared"),
    }
    for name, (cls, tip) in want.items():
        f = frame(fr, name)
        check(f and f["class"] == "f " + cls and tip in f["title"],
              "%s: class %s, tooltip with both counts and the delta" % (name, cls), f)
        red = f and f["fill"].startswith("rgb(255,")
        blue = f and f["fill"].endswith(",255)")
        check(red if cls in ("grew", "appeared") else blue,
              "%s is %s" % (name, "red" if cls in ("grew", "appeared") else "blue"), f)
    hot = frame(fr, "hot")
    check(hot and abs(hot["w"] / total - 90 / 135) < 0.001, "widths come from AFTER (hot 90/135)",
          hot)
    check(frame(fr, "gone") is None, "the vanished frame has no width from AFTER")
    check("2 grew, 2 shrank, 1 appeared, 1 vanished" in text, "the legend counts each kind")

    r = run_ktrace("flamegraph", "--diff", "--negate", b, a)
    check(r.returncode == 0, "flamegraph --diff --negate exits 0", r.stderr)
    fr = frames(r.stdout)
    gone = frame(fr, "gone")
    check(gone and gone["class"] == "f vanished" and gone["fill"].endswith(",255)")
          and "before 10, after 0 samples, delta -10; share 9.09% to 0.00%: vanished" in gone["title"],
          "--negate draws the vanished frame, blue, with both counts", gone)
    total = sum(f["w"] for f in fr if f["depth"] == 0)
    hot = frame(fr, "hot")
    check(hot and abs(hot["w"] / total - 50 / 110) < 0.001 and hot["class"] == "f grew",
          "--negate: widths from BEFORE, colours keep their meaning", hot)
    check(frame(fr, "fresh") is None, "--negate: the frame that appeared has no width")


def hostile_test():
    text = (b"ev<il>;<script>alert(1)</script>;a&b\"c'd 5\n"
            b"x\x01\x1b[31m;bad\xff\xfe\xc0\xafutf8;\xed\xa0\x80 3\n"
            b"x;]]></script><script>alert(2)// 1\n")
    src = path("hostile.folded", text, "wb")
    out = path("hostile.svg")
    r = run_ktrace("flamegraph", "-o", out, src)
    check(r.returncode == 0, "hostile frame names: exits 0", r.stderr)
    ok, err = xmllint_ok(out)
    check(ok, "hostile frame names: valid XML", err)
    raw = open(out, "rb").read()
    check(raw.count(b"<script") == 1 and raw.count(b"</script>") == 1,
          "the only script element is ktrace's own")
    check(b"&lt;script&gt;alert(1)&lt;/script&gt;" in raw and b"\x01" not in raw and b"\x1b" not in raw,
          "markup is escaped, control characters replaced")
    try:
        raw.decode("utf-8")
        check(True, "invalid UTF-8 was replaced: the SVG is valid UTF-8")
    except UnicodeDecodeError as e:
        check(False, "invalid UTF-8 was replaced", e)


def malformed_test():
    src = path("bad.folded", "a;b 1\ngarbage\nx;y 1.5\n\na;;b 4\nc;d 2\n")
    r = run_ktrace("flamegraph", src)
    check(r.returncode == 0, "malformed lines are skipped by default", r.stderr)
    check("bad.folded:2: malformed line skipped: no count" in r.stderr
          and "bad.folded:3: malformed line skipped: the count has a decimal part" in r.stderr
          and "bad.folded:5: malformed line skipped: an empty frame name" in r.stderr,
          "each malformed line is reported as FILE:LINE with the reason", r.stderr)
    check("3 malformed input lines were skipped" in r.stdout, "the graph notes the skipped lines")
    check("<title>all (3 samples" in r.stdout, "the good lines are drawn")
    r = run_ktrace("flamegraph", "--strict", src)
    check(r.returncode == 1 and "bad.folded:2: malformed line" in r.stderr and r.stdout == "",
          "--strict: the first malformed line is an error (exit 1)", (r.returncode, r.stderr))
    r = run_ktrace("flamegraph", path("junk.folded", "not\nfolded at all\n"))
    check(r.returncode == 1 and "is a folded stack" in r.stderr,
          "an input with no stack at all is an error", (r.returncode, r.stderr))
    for junk in ("/dev/zero", ktlib.KTRACE):
        r = run_ktrace("flamegraph", junk, timeout=30)
        check(r.returncode == 1 and "is it folded stacks" in r.stderr,
              "not folded stacks at all (%s): exit 1 at once" % junk, (r.returncode, r.stderr[-300:]))
    r = run_ktrace("flamegraph", path("empty.folded", ""))
    check(r.returncode == 0 and "no stacks were recorded" in r.stdout,
          "an empty input draws an empty graph", r.stderr)
    r = subprocess.run("%s flamegraph %s > /dev/full" % (ktlib.KTRACE, src), shell=True,
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "No space left on device" in r.stderr,
          "a write error (/dev/full) fails with its cause", (r.returncode, r.stderr))
    r = run_ktrace("flamegraph", os.path.join(TMP, "missing.folded"))
    check(r.returncode == 1 and "cannot open" in r.stderr and "No such file" in r.stderr,
          "a missing input: exit 1 with strerror", r.stderr)
    for args, why in ((["--diff", src], "--diff needs two inputs"),
                      (["--negate", src], "--negate needs --diff"),
                      (["-j", src], "-j does not apply"),
                      (["-", "-"], "standard input twice"),
                      (["--palette", "pink", src], "a bad --palette"),
                      (["--max-frames", "0", src], "--max-frames 0")):
        r = run_ktrace("flamegraph", *args)
        check(r.returncode == 2, "usage error (exit 2): " + why, (r.returncode, r.stderr))


def bound_test():
    src = path("many.folded", "".join("app;f%d;g 1\n" % i for i in range(100)))
    r = run_ktrace("flamegraph", "--max-frames", "30", src)
    check(r.returncode == 0 and "many.folded:11: stopped reading" in r.stderr
          and "--max-frames" in r.stderr,
          "the frame bound is reported with FILE:LINE (10 stacks of 3 frames fit)", r.stderr)
    check("input cut: only the stacks before line 11" in r.stdout and "<title>all (10 samples" in r.stdout,
          "the graph says the input was cut, and draws what was read")
    r = run_ktrace("flamegraph", "--max-frames", "30", "--diff", src, src)
    check(r.returncode == 1 and "raise --max-frames" in r.stderr,
          "a cut input is an error with --diff", (r.returncode, r.stderr))


# A minimal DOM: just what the script uses, built from the SVG's frames.
NODE_HARNESS = r"""
const fs = require("fs");
const d = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
function el(tag, attrs, kids) {
	return { tag: tag, attrs: attrs || {}, kids: kids || [], style: {}, textContent: "",
		getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; },
		setAttribute(k, v) { this.attrs[k] = String(v); },
		getElementsByTagName(t) { return this.kids.filter(function (k) { return k.tag == t; }); } };
}
const ids = {};
for (const id of ["details", "reset", "search", "matched"]) ids[id] = el("text", { id: id });
const gs = d.frames.map(function (f) {
	const t = el("title"); t.textContent = f.title;
	return el("g", { "data-depth": String(f.depth) },
		[t, el("rect", { x: String(f.x), width: String(f.w), fill: f.fill }), el("text")]);
});
ids.frames = el("g", { id: "frames" }, gs);
global.document = { documentElement: el("svg", { width: String(d.width) }),
	getElementById(id) { return ids[id]; }, addEventListener() {} };
global.location = { href: "file:///tmp/graph.svg?s=%5Ehot%24" };
eval(d.script + "\nglobal.init = init; global.search = search; global.zoom = zoom;");
init();
const fromUrl = { button: ids.search.textContent, matched: ids.matched.textContent };
const out = {};
for (const term of d.terms) {
	const pct = search(term);
	out[term] = { pct: pct, button: ids.search.textContent, matched: ids.matched.textContent,
		hl: gs.filter(function (g) { return g.kids[1].attrs.fill == "rgb(230,0,230)"; })
			.map(function (g) { return g.kids[0].textContent.split(" (")[0]; }) };
}
search("");
out.cleared = gs.every(function (g, i) { return g.kids[1].attrs.fill == d.frames[i].fill; });
out.url = fromUrl;
console.log(JSON.stringify(out));
"""


def search_test():
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        ktlib.log("note: node is not installed: the search script is not run (only checked present)")
        return
    src = path("search.folded", "app;main;work;hot 50\napp;main;work;cold 30\napp;main;idle 20\n"
                                "app;main;hot 10\napp;main;parse(int) 10\n")
    out = path("search.svg")
    r = run_ktrace("flamegraph", "-o", out, src)
    check(r.returncode == 0, "search graph written", r.stderr)
    root = ET.parse(out).getroot()
    script = root.find(SVG_NS + "script").text
    data = {"width": int(root.get("width")), "script": script, "frames": frames(open(out).read()),
            "terms": ["^hot$", "main|hot", "parse(", "nomatch"]}
    with open(path("search.json"), "w") as f:
        json.dump(data, f)
    with open(path("harness.js"), "w") as f:
        f.write(NODE_HARNESS)
    r = subprocess.run([node, path("harness.js"), path("search.json")], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0, "the search script runs under node", r.stderr)
    if r.returncode:
        return
    res = json.loads(r.stdout)
    h = res["^hot$"]
    check(sorted(h["hl"]) == ["hot", "hot"] and abs(h["pct"] - 50.0) < 0.1
          and "Matched: 50.00%" in h["matched"] and h["button"] == "Search (regex): ^hot$",
          "a regex highlights both hot frames, 60 of 120 = 50% matched, and says regex", h)
    h = res["main|hot"]
    check(abs(h["pct"] - 100.0) < 0.1 and "main" in h["hl"],
          "nested matches count once (main covers all: 100%, not more)", h)
    h = res["parse("]
    check(h["hl"] == ["parse(int)"] and h["button"].startswith("Search (substring)")
          and abs(h["pct"] - 100 * 10 / 120) < 0.1,
          "an invalid regex is matched as a substring, and says so", h)
    check(res["nomatch"]["hl"] == [] and "Matched: 0.00%" in res["nomatch"]["matched"],
          "no match: 0%", res["nomatch"])
    check(res["cleared"], "an empty search restores every frame's colour")
    check(res["url"]["button"] == "Search (regex): ^hot$" and "Matched: 50.00%" in res["url"]["matched"],
          "a search in the URL (?s=%5Ehot%24) is applied when the graph opens", res["url"])


def profile_test():
    sp = subprocess.Popen(["sh", "-c", 'read x; exec "$@"', "held", workload("spinner"), "1.2"],
                          stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    ktlib.at_exit(lambda: sp.poll() is None and (sp.kill(), sp.wait()))
    direct = path("direct.svg")
    kt = ktlib.Ktrace("profile", "-f", "--svg", direct, "-p", sp.pid)
    sp.stdin.write(b"go\n")
    sp.stdin.close()
    sp.wait(30)
    kt.stop()
    check(kt.rc == 0, "profile -f exits 0", kt.stderr())
    folded = path("profile.folded", kt.stdout())
    out = path("profile.svg")
    r = run_ktrace("flamegraph", "-o", out, folded)
    check(r.returncode == 0, "flamegraph draws profile -f output", r.stderr)
    ok, err = xmllint_ok(out)
    text = open(out).read() if ok else ""
    check(ok and "kt_spin_hot" in text and "kt_spin_outer" in text,
          "the SVG of profile -f output is valid and names the spinner's functions", err)
    # --svg of profile is the same renderer, with the run's own subtitle
    text = open(direct).read()
    sub = re.search(r'<text id="subtitle"[^>]*>([^<]*)<', text)
    sub = sub.group(1) if sub else ""
    check(re.search(re.escape(ME) + r" profile -f --svg \S+ -p \d+ on .+, kernel %s, \d{4}-\d\d-\d\d "
                    r"\d\d:\d\d:\d\d to \d\d:\d\d:\d\d" % re.escape(os.uname().release), sub),
          "profile --svg: the subtitle gives the command line, host, kernel and time span", sub)
    check("function search(" in text, "profile --svg has the search script too")


def main():
    ktlib.require_tool("xmllint", "libxml2-utils")
    plain_test()
    diff_test()
    hostile_test()
    malformed_test()
    bound_test()
    search_test()
    profile_test()


ktlib.main(main)
