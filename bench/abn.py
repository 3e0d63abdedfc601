#!/usr/bin/env python3
"""Benchmark: the A/B/n service (`iter8 abn`) on one core, Lookup and WriteMetric calls per
second and their p99, driven by ghz (not ours) on loopback.

Not a test (not in CI). A real kube-apiserver (tools/k8s-testenv/testenv.sh start) holds the
application `backend` (Deployments and Services `backend`, `backend-candidate-1`, Available set
by the script) and its Secret `backend-metrics`. The service is pinned to CPU 1 (`taskset`),
ghz to CPU 0; `--rounds` rounds, the median reported. Each call has its own user
(`user-{{.RequestNumber}}`), so Lookup hashes over both tracks and WriteMetric writes to both
versions (each WriteMetric waits for its group commit: the flush interval bounds its latency).

Iter8 v0.13 published no throughput or latency numbers for its A/B/n service (its docs, the
repository and its issues were searched); the target is 50,000 Lookups/s per core.

    bench/abn.py [--calls 200000] [--concurrency 50] [--rounds 3] [--no-build] [--binary PATH]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.expanduser("~/.cache/iter8-bench/bin")
GHZ = os.path.join(CACHE, "ghz")
IT8 = os.path.join(ROOT, "target", "release", "iter8")
PROTO = os.path.join(ROOT, "runner", "proto")
SERVICE_CPU, CLIENT_CPU = "1", "0"
TARGET_LOOKUPS = 50_000


def kubectl(kubeconfig, *args, stdin=None):
    return subprocess.run(["kubectl", "--kubeconfig", kubeconfig, *args], input=stdin,
                          text=True, check=True, capture_output=True).stdout


def setup(kubeconfig, ns):
    kubectl(kubeconfig, "create", "namespace", ns)
    for name, version in (("backend", "v1"), ("backend-candidate-1", "v2")):
        objs = {
            "apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": name, "namespace": ns,
                              "labels": {"app.kubernetes.io/version": version}},
                 "spec": {"selector": {"matchLabels": {"app": name}},
                          "template": {"metadata": {"labels": {"app": name}},
                                       "spec": {"containers": [{"name": "a", "image": "x.invalid/a"}]}}}},
                {"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": name, "namespace": ns,
                              "labels": {"app.kubernetes.io/version": version}},
                 "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}},
            ]}
        kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(objs))
        kubectl(kubeconfig, "-n", ns, "patch", "deployment", name, "--subresource=status",
                "--type=merge", "-p",
                json.dumps({"status": {"conditions": [{"type": "Available", "status": "True"}]}}))
    kubectl(kubeconfig, "-n", ns, "create", "secret", "generic", "backend-metrics")


def start_service(kubeconfig, config):
    p = subprocess.Popen(["taskset", "-c", SERVICE_CPU, IT8, "abn", "--port", "0", "--address",
                          "127.0.0.1", "--kubeconfig", kubeconfig],
                         env=dict(os.environ, WATCHER_CONFIG=config, ITER8_LOG_TTY="0"),
                         stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        m = re.search(r"A/B/n service listening on (\S+)", line)
        if m:
            return p, m.group(1)
    sys.exit("iter8 abn did not start")


def ghz(addr, call, data, calls, concurrency):
    out = subprocess.run(
        ["taskset", "-c", CLIENT_CPU, GHZ, "--insecure", "--proto", os.path.join(PROTO, "abn.proto"),
         "--import-paths", PROTO, "--call", call, "-d", json.dumps(data), "-n", str(calls),
         "-c", str(concurrency), "--connections", "1", "-O", "json", addr],
        capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    p99 = next((d["latency"] for d in r.get("latencyDistribution") or [] if d["percentage"] == 99), None)
    errors = sum(v for k, v in (r.get("statusCodeDistribution") or {}).items() if k != "OK")
    return r["rps"], (p99 or 0) / 1e6, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200_000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--binary", help="an iter8 binary to measure instead of target/release/iter8")
    a = ap.parse_args()
    global IT8
    if a.binary:
        IT8, a.no_build = os.path.abspath(a.binary), True
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "--bin", "iter8"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="abn-bench-")
    env = subprocess.Popen([os.path.join(ROOT, "tools/k8s-testenv/testenv.sh"), "start", "--dir",
                            os.path.join(work, "env")], stdout=subprocess.PIPE, text=True)
    kubeconfig = env.stdout.readline().strip()
    ns = "abn-bench"
    setup(kubeconfig, ns)
    config = os.path.join(work, "abn-config.yaml")
    with open(config, "w") as f:
        f.write(f"{ns}:\n  backend:\n    maxNumCandidates: 1\n    resources:\n"
                "    - {group: apps, version: v1, resource: deployments, condition: Available}\n"
                "    - {version: v1, resource: services}\n")
    svc, addr = start_service(kubeconfig, config)
    app = f"{ns}/backend"
    time.sleep(1)
    results = {"Lookup": [], "WriteMetric": []}
    try:
        for _ in range(a.rounds):
            results["Lookup"].append(ghz(addr, "main.ABN.Lookup",
                                         {"name": app, "user": "user-{{.RequestNumber}}"},
                                         a.calls, a.concurrency))
            results["WriteMetric"].append(ghz(addr, "main.ABN.WriteMetric",
                                              {"name": "sales", "value": "{{randomInt 1 100}}",
                                               "application": app, "user": "user-{{.RequestNumber}}"},
                                              a.calls // 4, a.concurrency))
    finally:
        svc.terminate()
        svc.wait()
        env.terminate()
        env.wait()
    print(f"{IT8}: iter8 abn on one core (CPU {SERVICE_CPU}), ghz on CPU {CLIENT_CPU}, "
          f"{a.concurrency} concurrent calls on one connection, median of {a.rounds} rounds")
    for method, rows in results.items():
        rps = statistics.median(r[0] for r in rows)
        p99 = statistics.median(r[1] for r in rows)
        errors = sum(r[2] for r in rows)
        line = f"  {method:12} {rps:10,.0f} calls/s   p99 {p99:7.2f} ms   errors {errors}"
        if method == "Lookup":
            line += f"   ({rps / TARGET_LOOKUPS:.2f} x the 50,000/s target; v0.13: no published numbers)"
        print(line)


if __name__ == "__main__":
    main()
