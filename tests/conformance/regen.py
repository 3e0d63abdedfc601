#!/usr/bin/env python3
"""Regenerates the conformance corpora and their goldens with real Helm.

Sources (hand-written): cases.txt (chart-level cases) and micro.txt (micro-cases: tiny charts).
Outputs (generated, committed): cases/<corpus>/<name>/ and micro/<name>/, each with
  cmd     the `helm template` arguments, one per line, paths relative to the repo root
  stdout  Helm's stdout (lines `startTime: ...` masked)
  stderr  Helm's stderr
  rc      Helm's exit code
micro/<name>/chart/ holds the case's chart. Run through regen.sh (which fetches Helm first).
"""
import os, re, shlex, shutil, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
HELM = os.environ.get("HELM", os.path.join(ROOT, ".tools", "bin", "helm"))
HELM3 = os.environ.get("HELM3", os.path.join(ROOT, ".tools", "bin", "helm3"))
REL = os.path.relpath(HERE, ROOT)
START_TIME = re.compile(r"^(\s*startTime:).*$", re.M)
DEFAULT_CHART = "apiVersion: v2\nname: t\nversion: 0.1.0\n"


def mask(text):
    return START_TIME.sub(r"\1 <masked>", text)


def parse_cases(path):
    """cases.txt: `<corpus>/<name> <chart-path> <args...>` (shell words), # comments."""
    cases = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line)
        cases.append((words[0], words[1:]))
    return cases


def parse_micro(path):
    """micro.txt blocks: `%%% name [| args]`, template lines, then optional `%% <file>` sections.

    The chart path goes first in the arguments, or where the word `@chart` stands.
    """
    cases, cur, section = [], None, None
    for raw in open(path, encoding="utf-8").read().split("\n"):
        if raw.startswith("%%% "):
            head = raw[4:]
            name, _, args = head.partition("|")
            cur = {"name": name.strip(), "args": shlex.split(args), "files": {}}
            section = "templates/t.yaml"
            cur["files"][section] = []
            cases.append(cur)
        elif raw.startswith("%% "):
            section = raw[3:].strip()
            cur["files"][section] = []
        elif cur is None:
            continue  # header comments before the first case
        else:
            cur["files"][section].append(raw)
    for c in cases:
        files = {}
        for f, lines in c["files"].items():
            while lines and lines[-1] == "":
                lines.pop()
            files[f] = "\n".join(lines) + "\n" if lines else ""
        files.setdefault("Chart.yaml", DEFAULT_CHART)
        c["files"] = files
    return cases


def run(case_dir, args):
    env = dict(os.environ, TZ="UTC")  # date functions use the local zone
    p = subprocess.run([HELM, "template"] + args, cwd=ROOT, capture_output=True, env=env)
    out = mask(p.stdout.decode("utf-8", "surrogateescape"))
    with open(os.path.join(case_dir, "cmd"), "w", encoding="utf-8") as f:
        f.write("".join(a + "\n" for a in args))
    with open(os.path.join(case_dir, "stdout"), "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(out)
    with open(os.path.join(case_dir, "stderr"), "wb") as f:
        f.write(p.stderr)
    with open(os.path.join(case_dir, "rc"), "w") as f:
        f.write(f"{p.returncode}\n")
    return p.returncode


def check_helm3_parity(cases_root):
    """Our charts/iter8 must render the same with Helm 3.11 as with Helm 4: compare stdout and
    the first `Error:` line of every `iter8/` case (nothing is recorded)."""
    if not os.path.exists(HELM3):
        print("helm3 parity: skipped (no .tools/bin/helm3)")
        return
    corpus = os.path.join(cases_root, "iter8")
    names = sorted(os.listdir(corpus))
    bad = []
    for name in names:
        d = os.path.join(corpus, name)
        args = open(os.path.join(d, "cmd"), encoding="utf-8").read().splitlines()
        env = dict(os.environ, TZ="UTC")
        p = subprocess.run([HELM3, "template"] + args, cwd=ROOT, capture_output=True, env=env)
        first_error = lambda t: next((l for l in t.splitlines() if l.startswith("Error: ")), "")
        want_err = first_error(open(os.path.join(d, "stderr"), encoding="utf-8").read())
        if mask(p.stdout.decode()) != open(os.path.join(d, "stdout"), encoding="utf-8").read() or first_error(p.stderr.decode()) != want_err:
            bad.append(name)
    print(f"helm3 parity (charts/iter8): {len(names) - len(bad)}/{len(names)} identical" + (f"; differ: {bad}" if bad else ""))
    if bad:
        sys.exit("charts/iter8 renders differently with Helm 3")


def main():
    names = set()
    counts = {}
    cases_root = os.path.join(HERE, "cases")
    shutil.rmtree(cases_root, ignore_errors=True)
    for name, args in parse_cases(os.path.join(HERE, "cases.txt")):
        assert name not in names, f"duplicate case {name}"
        names.add(name)
        d = os.path.join(cases_root, name)
        os.makedirs(d)
        rc = run(d, args)
        counts.setdefault(name.split("/")[0], [0, 0])[rc != 0] += 1
    check_helm3_parity(cases_root)
    micro_root = os.path.join(HERE, "micro")
    shutil.rmtree(micro_root, ignore_errors=True)
    for c in parse_micro(os.path.join(HERE, "micro.txt")):
        assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*", c["name"]), f"bad case name {c['name']}"
        assert c["name"] not in names, f"duplicate case {c['name']}"
        names.add(c["name"])
        d = os.path.join(micro_root, c["name"])
        for f, text in c["files"].items():
            p = os.path.join(d, "chart", f)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w", encoding="utf-8") as fh:
                fh.write(text)
        chart = os.path.join(REL, "micro", c["name"], "chart")
        if "@chart" in c["args"]:  # a positional release name goes before the chart
            args = [chart if a == "@chart" else a for a in c["args"]]
        else:
            args = [chart] + c["args"]
        rc = run(d, args)
        counts.setdefault("micro", [0, 0])[rc != 0] += 1
    for corpus, (ok, failing) in sorted(counts.items()):
        print(f"{corpus}: {ok + failing} cases ({failing} failing with rc != 0)")


if __name__ == "__main__":
    sys.exit(main())
