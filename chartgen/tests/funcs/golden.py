#!/usr/bin/env python3
"""Regenerate the expected outputs in cases.txt by running each case through real Helm.

Usage: golden.py HELM_BINARY  (e.g. /work/main/.tools/bin/helm, Helm v4.1.4)

Each case `=== EXPR` becomes `{{ EXPR }}` inside a define, printed through
`include | b64enc` so the exact text (with `<no value>` stripped as Helm does) survives.
`=== RE EXPR` cases keep their regex and are only checked; `=== ERR EXPR` cases record the
message Helm reports after `error calling NAME: ` (or after the `execution error at (...)`
prefix for fail/required).
"""
import base64, os, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
helm = sys.argv[1]

def parse(text):
    """Header comment lines, then `=== [RE |ERR ]EXPR` headers each followed by the expected
    text (every line up to the next header; the file's final newline is not part of it)."""
    if text.endswith("\n"):
        text = text[:-1]
    cases, cur = [], None
    for line in text.split("\n"):
        if line.startswith("=== "):
            if cur: cases.append(cur)
            head, kind = line[4:], "eq"
            for k in ("RE ", "ERR "):
                if head.startswith(k):
                    kind, head = k.strip().lower(), head[len(k):]
            cur = {"kind": kind, "expr": head, "body": []}
        elif cur is not None:
            cur["body"].append(line)
        else:
            cases.append({"kind": "comment", "text": line})
    if cur: cases.append(cur)
    for c in cases:
        if c["kind"] != "comment":
            c["expected"] = "\n".join(c["body"])
    return cases

def render(exprs):
    d = tempfile.mkdtemp()
    os.makedirs(d + "/c/templates")
    open(d + "/c/Chart.yaml", "w").write("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    open(d + "/c/values.yaml", "w").write(open(HERE + "/values.yaml").read())
    t = ""
    for i, e in enumerate(exprs):
        t += '{{- define "c%d" }}{{ %s }}{{ end }}\n# c%d {{ include "c%d" . | b64enc }}\n' % (i, e, i, i)
    open(d + "/c/templates/t.yaml", "w").write(t)
    p = subprocess.run([helm, "template", d + "/c"], capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr.strip()
    out = {}
    for line in p.stdout.split("\n"):
        m = re.match(r"^# c(\d+) (.*)$", line)
        if m:
            out[int(m.group(1))] = base64.b64decode(m.group(2)).decode("utf-8", "replace").replace("<no value>", "")
    return [out.get(i, "") for i in range(len(exprs))], None

def error_message(err):
    """The innermost function's message: after the last `error calling NAME: `, or after
    `execution error at (...)` for fail/required; without Helm's --debug hint."""
    err = err.split("\n\nUse --debug")[0]
    m = re.search(r"execution error at \([^)]*\): (.*)$", err, re.S)
    if m: return m.group(1).strip()
    m = re.search(r".*error calling \w+: (.*)$", err, re.S)
    return m.group(1).strip() if m else err.replace("Error: ", "", 1)

cases = parse(open(HERE + "/cases.txt").read())
real = [c for c in cases if c["kind"] != "comment"]
batch = [c for c in real if c["kind"] in ("eq", "re")]
outs, err = render([c["expr"] for c in batch])
if outs is None:
    outs = []
    for c in batch:
        o, e = render([c["expr"]])
        if o is None:
            print("dropped (fails in Helm; make it an ERR case if wanted): %s\n  %s" % (c["expr"], e.split("\n")[0]))
            c["kind"] = "drop"
            outs.append(None)
            continue
        outs.append(o[0])
bad = 0
for c, o in zip(batch, outs):
    if c["kind"] == "drop":
        continue
    if c["kind"] == "eq":
        c["expected"] = o
    elif not re.fullmatch(c["expected"], o, re.S):
        print("RE mismatch: %s -> %r" % (c["expr"], o)); bad += 1
for c in real:
    if c["kind"] == "err":
        o, e = render([c["expr"]])
        if o is not None:
            sys.exit("ERR case rendered without error: %s -> %r" % (c["expr"], o[0]))
        c["expected"] = error_message(e)
with open(HERE + "/cases.txt", "w") as f:
    for c in cases:
        if c["kind"] == "comment":
            f.write(c["text"] + "\n"); continue
        if c["kind"] == "drop":
            continue
        head = {"eq": "", "re": "RE ", "err": "ERR "}[c["kind"]]
        f.write("=== %s%s\n%s\n" % (head, c["expr"], c["expected"]))
print("%d cases, %d regex mismatches" % (len(real), bad))
sys.exit(1 if bad else 0)
