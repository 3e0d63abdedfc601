#!/usr/bin/env python3
"""Fill in / re-check the expectations of cases.txt with real Helm.

usage: helm_verify.py [--write] [HELM]   (HELM defaults to /work/main/.tools/bin/helm)

Each case's template is rendered by Helm twice: as the included partial
`t/templates/_t.tpl` (output captured through `b64enc`, so `<no value>` is kept exactly like
chartgen's TemplateSet::execute) and directly as `t/templates/t.yaml` (for the error text).
Without --write it reports cases whose recorded expectation differs from Helm's.
"""
import base64, os, re, shutil, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
args = [a for a in sys.argv[1:] if a != "--write"]
write = "--write" in sys.argv
helm = args[0] if args else "/work/main/.tools/bin/helm"

def parse(text):
    cases, cur, sec, buf = [], None, None, []
    def close():
        if cur is not None and sec is not None:
            cur[sec] = "\n".join(buf)
    for line in text.split("\n"):
        if line.startswith("### "):
            close()
            cur = {"name": line[4:].strip()}
            cases.append(cur)
            sec, buf = "template", []
        elif line.startswith("--- "):
            close()
            sec, buf = line[4:].strip(), []
        elif cur is not None:
            buf.append(line)
    if cur is not None:
        while buf and buf[-1] == "":
            buf.pop()
    close()
    return cases

def render(files, values):
    d = tempfile.mkdtemp()
    try:
        c = os.path.join(d, "t")
        os.makedirs(os.path.join(c, "templates"))
        open(os.path.join(c, "Chart.yaml"), "w").write("apiVersion: v2\nname: t\nversion: 0.1.0\n")
        open(os.path.join(c, "values.yaml"), "w").write(values)
        for n, body in files.items():
            open(os.path.join(c, "templates", n), "w").write(body)
        p = subprocess.run([helm, "template", "x", c], capture_output=True, text=True)
        return p.returncode, p.stdout, p.stderr
    finally:
        shutil.rmtree(d)

def helm_expect(case):
    values = case.get("values", "{}")
    rc, out, err = render({"_t.tpl": case["template"], "run.yaml": 'x: {{ include "t/templates/_t.tpl" . | b64enc | quote }}\n'}, values)
    if rc == 0:
        m = re.search(r'x: "([^"]*)"', out)
        return "out", base64.b64decode(m.group(1)).decode()
    rc, out, err = render({"t.yaml": case["template"]}, values)
    msg = err
    if msg.startswith("Error: "):
        msg = msg[len("Error: "):]
    msg = msg.rstrip("\n")
    msg = re.sub(r"\n\nUse --debug flag to render out invalid YAML$", "", msg)
    return "error", msg

text = open(os.path.join(here, "cases.txt")).read()
cases = parse(text)
bad = 0
out_lines = []
for c in cases:
    kind, val = helm_expect(c)
    rec = c.get("out") if "out" in c else c.get("error")
    reck = "out" if "out" in c else ("error" if "error" in c else None)
    if (reck, rec) != (kind, val):
        bad += 1
        print(f"== {c['name']}: recorded {reck} {rec!r}\n   helm     {kind} {val!r}")
    out_lines.append("### " + c["name"])
    out_lines.append(c["template"])
    if "values" in c:
        out_lines.append("--- values")
        out_lines.append(c["values"])
    out_lines.append("--- " + kind)
    out_lines.append(val)
print(f"{len(cases)} cases, {bad} differ from helm")
if write:
    open(os.path.join(here, "cases.txt"), "w").write("\n".join(out_lines) + "\n")
