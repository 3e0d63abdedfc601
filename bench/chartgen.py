#!/usr/bin/env python3
"""Benchmark: `chartgen template` beside `helm template` (v4.1.4) on the same cases.

Not a test: it prints, per case, the median wall time, median CPU time (user + system) and
peak RSS of both tools and the ratios (helm / chartgen), the tools' runs interleaved so
machine load hits both alike, and the load average before and after. Targets from the issues:
>= 20x faster than Helm on the Iter8 chart, >= 10x on ingress-nginx and on the large charts
(issue 17), and less memory.

The large charts (cert-manager, kyverno, istio base and istiod, cilium) come from Go modules
through tests/conformance/fetch-large.sh (run here); their cases are the conformance corpus
`large`'s.

Peak RSS comes from a separate run under /usr/bin/time (measure.peak_rss_kib): a child forked
straight from Python reports Python's own RSS (about 15 MiB) as its peak when that is larger
than the program's. The CPU column is steadier than wall time on a busy machine.

    bench/chartgen.py [--runs N] [--only SUBSTRING] [--baseline OLD_CHARTGEN]
    bench/chartgen.py --instructions [--only SUBSTRING] [--baseline OLD_CHARTGEN]
    bench/chartgen.py --before OLD_CHARTGEN [--after NEW_CHARTGEN] [--runs N]

--baseline adds an older chartgen build (for example the release build of main) to the same
interleaved runs: its wall time and helm's ratio to it are printed beside the new build's.

--instructions counts instructions instead of timing (valgrind's callgrind, user space, every
thread): independent of machine load. Helm runs with GODEBUG=asyncpreemptoff=1, as callgrind
cannot follow Go's preemption signals; one run per tool and case.

With --before, the run compares two chartgen builds instead of chartgen and Helm: OLD (for
example the release build of the commit before a change) beside NEW (default: this tree's
release build), case by case in the same run, their runs interleaved so machine load hits both
alike, and prints the ratio new/old of median CPU time (1.00 = no cost). Both get the same
flags; NEW also runs with each `--helm-version` profile, to show what a profile costs.
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from measure import peak_rss_kib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONF = os.path.join(os.path.dirname(ROOT), "shared", "conformance", "charts")
LARGE = os.path.join(ROOT, ".tools", "large-charts")

CASES = [
    ("iter8 (ours), http job", [os.path.join(ROOT, "charts", "iter8"),
        "--set", "tasks={ready,http,assess}", "--set", "ready.deploy=httpbin",
        "--set", "ready.service=httpbin", "--set", "ready.timeout=60s",
        "--set", "http.url=http://httpbin.default/get",
        "--set", "assess.SLOs.upper.http/latency-mean=50",
        "--set", "assess.SLOs.upper.http/error-count=0", "--set", "runner=job"]),
    ("iter8 v0.13, http job", [os.path.join(CONF, "iter8-v0.13", "iter8"),
        "--set", "tasks={ready,http,assess}", "--set", "ready.deploy=httpbin",
        "--set", "ready.service=httpbin", "--set", "ready.timeout=60s",
        "--set", "http.url=http://httpbin.default/get",
        "--set", "assess.SLOs.upper.http/latency-mean=50",
        "--set", "assess.SLOs.upper.http/error-count=0", "--set", "runner=job"]),
    ("autox, 2 groups", [os.path.join(CONF, "iter8-v0.13", "autox"),
        "-f", os.path.join(CONF, "iter8-v0.13", "autox-groups-values.yaml")]),
    ("ingress-nginx", [os.path.join(CONF, "ingress-nginx")]),
    ("prometheus-node-exporter", [os.path.join(CONF, "prometheus-node-exporter")]),
    ("bitnami-nginx", [os.path.join(CONF, "bitnami-nginx"), "--set", "tls.enabled=false"]),
    # The large charts (issue 17), as in tests/conformance/cases.txt's `large` corpus.
    ("large: cert-manager + CRDs", [os.path.join(LARGE, "cert-manager"), "--set", "crds.enabled=true"]),
    ("large: kyverno, 2 subcharts", [os.path.join(LARGE, "kyverno"), "--set", "grafana.enabled=true"]),
    ("large: istio base (CRDs)", [os.path.join(LARGE, "istio-base")]),
    ("large: istiod", [os.path.join(LARGE, "istiod")]),
    ("large: cilium", [os.path.join(LARGE, "cilium"),
        "-f", os.path.join(ROOT, "tests", "conformance", "values", "cilium-large.yaml")]),
]


def interleaved(cmds, runs):
    """Median CPU and wall time of each command, the commands' runs interleaved."""
    import statistics
    from measure import run_once
    for cmd in cmds:
        run_once(cmd)
    cpu = [[] for _ in cmds]
    wall = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            w, c, rc = run_once(cmd)
            if rc != 0:
                raise SystemExit(f"command failed with exit code {rc}: {' '.join(cmd)}")
            cpu[i].append(c)
            wall[i].append(w)
    return [(statistics.median(c), statistics.median(w)) for c, w in zip(cpu, wall)]


def before_after(old, new, runs, cases):
    profiles = ["4.3", "4.1", "3.21"]
    print(f"{'case':28} {'old cpu ms':>10} {'new cpu ms':>10} {'new/old':>8}   "
          + " ".join(f"{'--helm-version ' + p:>20}" for p in profiles))
    for name, argv in cases:
        if not os.path.exists(argv[0]):
            print(f"{name:28} (chart missing: {argv[0]})")
            continue
        cmds = [[old, "template", "rel"] + argv, [new, "template", "rel"] + argv]
        cmds += [[new, "template", "--helm-version", p, "rel"] + argv for p in profiles]
        res = interleaved(cmds, runs)
        (old_cpu, _), (new_cpu, _) = res[0], res[1]
        per_profile = " ".join(f"{r[0] * 1e3:17.2f} ms" for r in res[2:])
        print(f"{name:28} {old_cpu * 1e3:10.2f} {new_cpu * 1e3:10.2f} {new_cpu / old_cpu:8.2f}   "
              + per_profile, flush=True)


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def instructions(cmd, env=None):
    """Instructions one run of cmd executes in user space (callgrind's `Collected`)."""
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, **(env or {})))
    for line in p.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1])
    raise SystemExit(f"callgrind gave no count for {' '.join(cmd)}: {p.stderr[-500:]}")


def versus_helm(chartgen, helm, baseline, cases, runs):
    print(f"load average before: {load_average()} (1, 5, 15 min) on {os.cpu_count()} CPUs")
    head = (f"{'case':28} {'helm ms':>8} {'ours ms':>8} {'speed x':>8} {'cpu x':>6} "
            f"{'helm MiB':>9} {'ours MiB':>9} {'mem x':>6}")
    if baseline:
        head += f" {'base ms':>8} {'base x':>7}"
    print(head)
    for name, argv in cases:
        if not os.path.exists(argv[0]):
            print(f"{name:28} (chart missing: {argv[0]})")
            continue
        cmds = [[helm, "template", "rel"] + argv, [chartgen, "template", "rel"] + argv]
        if baseline:
            cmds.append([baseline, "template", "rel"] + argv)
        res = interleaved(cmds, runs)
        (h_cpu, h_wall), (c_cpu, c_wall) = res[0], res[1]
        h_rss = peak_rss_kib(cmds[0]) or 0
        c_rss = peak_rss_kib(cmds[1]) or 1
        line = (f"{name:28} {h_wall*1e3:8.1f} {c_wall*1e3:8.2f} {h_wall/c_wall:8.1f} "
                f"{h_cpu/c_cpu:6.1f} {h_rss/1024:9.1f} {c_rss/1024:9.1f} {h_rss/c_rss:6.1f}")
        if baseline:
            b_wall = res[2][1]
            line += f" {b_wall*1e3:8.2f} {h_wall/b_wall:7.1f}"
        print(line, flush=True)
    print(f"load average after: {load_average()}")


def instruction_counts(chartgen, helm, baseline, cases):
    head = f"{'case':28} {'helm Minstr':>12} {'ours Minstr':>12} {'helm/ours':>10}"
    if baseline:
        head += f" {'base Minstr':>12} {'helm/base':>10}"
    print(head)
    for name, argv in cases:
        if not os.path.exists(argv[0]):
            print(f"{name:28} (chart missing: {argv[0]})")
            continue
        h = instructions([helm, "template", "rel"] + argv, {"GODEBUG": "asyncpreemptoff=1"})
        c = instructions([chartgen, "template", "rel"] + argv)
        line = f"{name:28} {h/1e6:12.1f} {c/1e6:12.2f} {h/c:10.1f}"
        if baseline:
            b = instructions([baseline, "template", "rel"] + argv)
            line += f" {b/1e6:12.2f} {h/b:10.1f}"
        print(line, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--only", default="", help="run only the cases whose name contains this")
    ap.add_argument("--baseline", help="an older chartgen binary to run beside helm and this one")
    ap.add_argument("--instructions", action="store_true",
                    help="count instructions (callgrind) instead of timing")
    ap.add_argument("--before", help="an older chartgen binary to compare this one with")
    ap.add_argument("--after", help="the newer chartgen binary (default: this tree's release build)")
    args = ap.parse_args()
    subprocess.run([os.path.join(ROOT, "tests", "conformance", "fetch-large.sh")], check=True,
                   stdout=subprocess.DEVNULL)
    cases = [c for c in CASES if args.only in c[0]]
    if args.before:
        new = args.after or subprocess.run(
            [os.path.join(ROOT, "tools", "build-release.sh")], cwd=ROOT, check=True,
            stdout=subprocess.PIPE, text=True).stdout.strip()
        before_after(os.path.abspath(args.before), os.path.abspath(new), args.runs, cases)
        return
    # The binary as shipped (statically linked on Linux, like helm's): tools/build-release.sh.
    chartgen = args.after or subprocess.run(
        [os.path.join(ROOT, "tools", "build-release.sh")], cwd=ROOT, check=True,
        stdout=subprocess.PIPE, text=True).stdout.strip()
    subprocess.run([os.path.join(ROOT, "tools", "fetch-helm.sh")], check=True, stdout=subprocess.DEVNULL)
    helm = os.path.join(ROOT, ".tools", "bin", "helm")
    baseline = os.path.abspath(args.baseline) if args.baseline else None
    if args.instructions:
        instruction_counts(chartgen, helm, baseline, cases)
    else:
        versus_helm(chartgen, helm, baseline, cases, args.runs)


if __name__ == "__main__":
    main()
