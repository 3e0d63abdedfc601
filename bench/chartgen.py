#!/usr/bin/env python3
"""Benchmark: `chartgen template` beside `helm template` (v4.1.4) on the same cases.

Not a test: it prints, per case, the median wall time, median CPU time (user + system) and
peak RSS of both tools and the ratios (helm / chartgen). Targets from the issue: >= 20x faster
than Helm on the Iter8 chart, >= 10x on ingress-nginx, and less memory.

Peak RSS comes from a separate run under /usr/bin/time (measure.peak_rss_kib): a child forked
straight from Python reports Python's own RSS (about 15 MiB) as its peak when that is larger
than the program's. The CPU column is steadier than wall time on a busy machine.

    bench/chartgen.py [--runs N]
    bench/chartgen.py --before OLD_CHARTGEN [--after NEW_CHARTGEN] [--runs N]

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
from measure import bench  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONF = os.path.join(os.path.dirname(ROOT), "shared", "conformance", "charts")

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


def before_after(old, new, runs):
    profiles = ["4.3", "4.1", "3.21"]
    print(f"{'case':28} {'old cpu ms':>10} {'new cpu ms':>10} {'new/old':>8}   "
          + " ".join(f"{'--helm-version ' + p:>20}" for p in profiles))
    for name, argv in CASES:
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--before", help="an older chartgen binary to compare this one with")
    ap.add_argument("--after", help="the newer chartgen binary (default: this tree's release build)")
    args = ap.parse_args()
    if args.before:
        new = args.after or subprocess.run(
            [os.path.join(ROOT, "tools", "build-release.sh")], cwd=ROOT, check=True,
            stdout=subprocess.PIPE, text=True).stdout.strip()
        before_after(os.path.abspath(args.before), os.path.abspath(new), args.runs)
        return
    # The binary as shipped (statically linked on Linux, like helm's): tools/build-release.sh.
    chartgen = subprocess.run([os.path.join(ROOT, "tools", "build-release.sh")], cwd=ROOT,
                              check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    subprocess.run([os.path.join(ROOT, "tools", "fetch-helm.sh")], check=True, stdout=subprocess.DEVNULL)
    helm = os.path.join(ROOT, ".tools", "bin", "helm")
    print(f"{'case':28} {'helm ms':>8} {'ours ms':>8} {'speed x':>8} {'cpu x':>6} "
          f"{'helm MiB':>9} {'ours MiB':>9} {'mem x':>6}")
    for name, argv in CASES:
        if not os.path.exists(argv[0]):
            print(f"{name:28} (chart missing: {argv[0]})")
            continue
        h = bench([helm, "template", "rel"] + argv, args.runs)
        try:
            c = bench([chartgen, "template", "rel"] + argv, args.runs)
        except SystemExit as e:
            print(f"{name:28} {h['wall_median']*1e3:8.1f}  chartgen failed: {e}")
            continue
        h_rss, c_rss = h["rss_max_kib"] or 0, c["rss_max_kib"] or 1
        print(f"{name:28} {h['wall_median']*1e3:8.1f} {c['wall_median']*1e3:8.2f} "
              f"{h['wall_median']/c['wall_median']:8.1f} {h['cpu_median']/c['cpu_median']:6.1f} "
              f"{h_rss/1024:9.1f} {c_rss/1024:9.1f} {h_rss/c_rss:6.1f}", flush=True)


if __name__ == "__main__":
    main()
