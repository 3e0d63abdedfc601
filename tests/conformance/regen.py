#!/usr/bin/env python3
"""Regenerates the conformance corpora and their goldens with real Helm, per profile.

Usage: regen.py [PROFILE...]   (profiles: 4.3 4.1 3.21 3.11; default: all of them)

Sources (hand-written): cases.txt (chart-level cases) and micro.txt (micro-cases: tiny charts).
Outputs (generated, committed): micro/<name>/chart/ (the micro-case charts, shared by every
profile) and, for each profile, profiles/<PROFILE>/ with
  HELM_VERSION                  the version the Helm that recorded the goldens reports
  cases/<corpus>/<name>/, micro/<name>/, each with
    cmd     the `helm template` arguments, one per line, paths relative to the repo root
    stdout  Helm's stdout (lines `startTime: ...` masked)
    stderr  Helm's stderr
    rc      Helm's exit code
The Helm of a profile is .tools/bin/helm-<version> (tools/fetch-helm.sh installs them; HELM
overrides it when one profile is regenerated). Run through regen.sh.
"""
import os, re, shlex, shutil, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
# The Helm release each profile reproduces (chartgen --helm-version PROFILE).
PROFILES = {"4.3": "v4.3.2", "4.1": "v4.1.4", "3.21": "v3.21.4", "3.11": "v3.11.1"}
# Corpora recorded only for some profiles (the large charts: the Helm 4 profiles).
CORPUS_PROFILES = {"large": {"4.3", "4.1"}}
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


def run(helm, case_dir, args):
    env = dict(os.environ, TZ="UTC")  # date functions use the local zone
    p = subprocess.run([helm, "template"] + args, cwd=ROOT, capture_output=True, env=env)
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


def helm_for(profile, want):
    """The Helm binary of a profile, checked to report the profile's version."""
    helm = os.environ.get("HELM") or os.path.join(ROOT, ".tools", "bin", f"helm-{want}")
    got = subprocess.run([helm, "version", "--template", "{{.Version}}"], capture_output=True, text=True)
    if got.returncode != 0 or got.stdout.strip() != want:
        sys.exit(f"profile {profile}: {helm} reports {got.stdout.strip() or got.stderr.strip()!r}, want {want}")
    return helm


def write_micro_charts():
    """micro/<name>/chart/ from micro.txt (the same for every profile); returns the cases."""
    micro_root = os.path.join(HERE, "micro")
    shutil.rmtree(micro_root, ignore_errors=True)
    cases = parse_micro(os.path.join(HERE, "micro.txt"))
    for c in cases:
        assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*", c["name"]), f"bad case name {c['name']}"
        for f, text in c["files"].items():
            p = os.path.join(micro_root, c["name"], "chart", f)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w", encoding="utf-8") as fh:
                fh.write(text)
    return cases


def regen_profile(profile, micro_cases):
    version = PROFILES[profile]
    helm = helm_for(profile, version)
    out_root = os.path.join(HERE, "profiles", profile)
    shutil.rmtree(out_root, ignore_errors=True)
    os.makedirs(out_root)
    with open(os.path.join(out_root, "HELM_VERSION"), "w") as f:
        f.write(version + "\n")
    names = set()
    counts = {}
    for name, args in parse_cases(os.path.join(HERE, "cases.txt")):
        assert name not in names, f"duplicate case {name}"
        names.add(name)
        if profile not in CORPUS_PROFILES.get(name.split("/")[0], PROFILES):
            continue
        d = os.path.join(out_root, "cases", name)
        os.makedirs(d)
        rc = run(helm, d, args)
        counts.setdefault(name.split("/")[0], [0, 0])[rc != 0] += 1
    for c in micro_cases:
        assert c["name"] not in names, f"duplicate case {c['name']}"
        names.add(c["name"])
        d = os.path.join(out_root, "micro", c["name"])
        os.makedirs(d)
        chart = os.path.join(REL, "micro", c["name"], "chart")
        if "@chart" in c["args"]:  # a positional release name goes before the chart
            args = [chart if a == "@chart" else a for a in c["args"]]
        else:
            args = [chart] + c["args"]
        rc = run(helm, d, args)
        counts.setdefault("micro", [0, 0])[rc != 0] += 1
    for corpus, (ok, failing) in sorted(counts.items()):
        print(f"{profile} ({version}) {corpus}: {ok + failing} cases ({failing} failing with rc != 0)")


def main():
    wanted = sys.argv[1:] or list(PROFILES)
    for p in wanted:
        if p not in PROFILES:
            sys.exit(f"unknown profile {p!r}: supported are {', '.join(PROFILES)}")
    if os.environ.get("HELM") and len(wanted) != 1:
        sys.exit("HELM names the Helm of one profile: give that one profile")
    micro_cases = write_micro_charts()
    for p in wanted:
        regen_profile(p, micro_cases)


if __name__ == "__main__":
    sys.exit(main())
