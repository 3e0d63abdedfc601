#!/usr/bin/env python3
"""Benchmark: `chartgen pull` beside `helm pull` (v4.1.4) from the same loopback servers.

Not a test. One plain-HTTP docker-registry (Debian's `docker-registry`) holding the newest
iter8 chart of hub/ (pushed by chartgen), and one nginx serving a copy of hub/ as an HTTP
chart repository, both on 127.0.0.1. Cases:

  oci, exact version   pull oci://R/charts/iter8 --version V      (manifest + blob)
  oci, range ~X.Y      pull oci://R/charts/iter8 --version ~X.Y   (tag list first)
  oci, by digest       pull oci://R/charts/iter8@sha256:...
  repo, cold           pull iter8 --repo URL --version V          (index.yaml + archive)
  repo, cached index   pull hub/iter8 --version V after `repo add` (cached index + archive)

Every round runs each tool once per case, alternating which goes first, each with a fresh
HOME/HELM_*_HOME (so nothing from an earlier pull is reused; the cached-index case re-creates
its `repo add` before the measured pull, unmeasured) and a fresh destination; the two
"warm home" cases keep one home per tool across rounds (Helm v4's content cache, the cached
index), which is a user's second pull of the same chart. Wall time and
the program's own peak RSS come from GNU time (measure.run_measured); the table prints
medians over the rounds and the ratios helm / chartgen (above 1: chartgen faster / smaller).
Both tools' pulled bytes are checked to be equal before anything is timed.

    bench/charts.py [--rounds N] [--chartgen PATH]
"""
import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import yaml  # Debian python3-yaml

sys.path.insert(0, os.path.dirname(__file__))
from measure import run_measured  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited early ({proc.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not listen on 127.0.0.1:{port}")


def start_registry(work):
    port = free_port()
    cfg = os.path.join(work, "registry.yml")
    with open(cfg, "w") as f:
        f.write(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                f"    rootdirectory: {work}/registry-data\nhttp:\n  addr: 127.0.0.1:{port}\n")
    proc = subprocess.Popen(["/usr/bin/docker-registry", "serve", cfg],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc, "docker-registry")
    return proc, f"127.0.0.1:{port}"


def start_nginx(work, serve):
    port = free_port()
    d = os.path.join(work, "nginx")
    os.makedirs(d)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"daemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\n"
                f"http {{\n access_log off;\n client_body_temp_path {d};\n proxy_temp_path {d};\n"
                f" fastcgi_temp_path {d};\n uwsgi_temp_path {d};\n scgi_temp_path {d};\n"
                f" server {{\n  listen 127.0.0.1:{port};\n  root {serve};\n }}\n}}\n")
    proc = subprocess.Popen(["/usr/sbin/nginx", "-c", conf, "-e", f"{d}/error.log"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc, "nginx")
    return proc, f"http://127.0.0.1:{port}"


def hub_newest():
    """(version, archive file name) of the newest iter8 in hub/index.yaml."""
    with open(os.path.join(ROOT, "hub", "index.yaml")) as f:
        entries = yaml.safe_load(f)["entries"]["iter8"]
    best = max(entries, key=lambda e: tuple(int(x) for x in e["version"].split("+")[0].split(".")))
    return best["version"], best["urls"][0]


def fresh_env(home):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("HELM_"):
            del env[k]
    env.update(HOME=home, HELM_CONFIG_HOME=f"{home}/config", HELM_CACHE_HOME=f"{home}/cache",
               HELM_DATA_HOME=f"{home}/data", DOCKER_CONFIG=f"{home}/docker",
               XDG_CACHE_HOME=f"{home}/xdg-cache")
    return env


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--chartgen", help="chartgen binary (default: tools/build-release.sh)")
    args = ap.parse_args()
    chartgen = args.chartgen or subprocess.run(
        [os.path.join(ROOT, "tools", "build-release.sh")], cwd=ROOT, check=True,
        stdout=subprocess.PIPE, text=True).stdout.strip()
    subprocess.run([os.path.join(ROOT, "tools", "fetch-helm.sh")], check=True,
                   stdout=subprocess.DEVNULL)
    helm = os.path.join(ROOT, ".tools", "bin", "helm")
    tools = {"helm": helm, "chartgen": chartgen}

    work = tempfile.mkdtemp(prefix="bench-charts-")
    os.chmod(work, 0o755)  # nginx workers (not root) read the hub copy
    procs = []
    try:
        version, archive = hub_newest()
        hub = os.path.join(work, "hub")
        shutil.copytree(os.path.join(ROOT, "hub"), hub)
        reg, host = start_registry(work)
        procs.append(reg)
        web, url = start_nginx(work, hub)
        procs.append(web)
        push = subprocess.run([chartgen, "push", os.path.join(hub, archive),
                               f"oci://{host}/charts", "--plain-http"], check=True,
                              stdout=subprocess.PIPE, text=True, env=fresh_env(work)).stdout
        digest = next(l.split(": ", 1)[1] for l in push.splitlines() if l.startswith("Digest: "))
        minor = version.rsplit(".", 1)[0]
        ref = f"oci://{host}/charts/iter8"
        cases = [
            ("oci, exact version", ["pull", ref, "--version", version, "--plain-http"], None),
            (f"oci, range ~{minor}", ["pull", ref, "--version", f"~{minor}", "--plain-http"],
             None),
            ("oci, by digest", ["pull", f"{ref}@{digest}", "--plain-http"], None),
            ("repo, cold", ["pull", "iter8", "--repo", url, "--version", version], None),
            ("repo, cached index", ["pull", "hub/iter8", "--version", version],
             ["repo", "add", "hub", url]),
            # The same home every round: whatever each tool caches (Helm v4 keeps pulled
            # charts in $HELM_CACHE_HOME/content by digest) is warm.
            ("oci, warm home", ["pull", ref, "--version", version, "--plain-http"], ["warm"]),
            ("repo, warm home", ["pull", "hub/iter8", "--version", version],
             ["warm", "repo", "add", "hub", url]),
        ]
        want = sha(os.path.join(hub, archive))

        def one(tool, argv, setup, n, case):
            warm = setup is not None and setup[0] == "warm"
            home = os.path.join(work, f"home-{tool}-{case}" if warm else f"home-{tool}-{n}")
            dest = os.path.join(home, "dest")
            first = not os.path.exists(home)
            shutil.rmtree(dest, ignore_errors=True)
            os.makedirs(dest)
            env = fresh_env(home)
            setup = setup[1:] if warm else setup
            if setup and (first or not warm):
                subprocess.run([tools[tool]] + setup, check=True, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            r = run_measured([tools[tool]] + argv + ["-d", dest], env=env)
            if r["rc"] != 0:
                raise SystemExit(f"{tool} {' '.join(argv)} failed (exit {r['rc']})")
            got = os.listdir(dest)
            if len(got) != 1 or sha(os.path.join(dest, got[0])) != want:
                raise SystemExit(f"{tool} {' '.join(argv)} pulled {got}, not {archive}")
            if not warm:
                shutil.rmtree(home)
            return r

        print(f"chart iter8 {version} ({os.path.getsize(os.path.join(hub, archive))} bytes), "
              f"{args.rounds} rounds, medians; ratio = helm / chartgen")
        print(f"{'case':22} {'helm ms':>8} {'ours ms':>8} {'time x':>7} "
              f"{'helm MiB':>9} {'ours MiB':>9} {'mem x':>6}")
        n = 0
        for case, (name, argv, setup) in enumerate(cases):
            res = {"helm": [], "chartgen": []}
            for i in range(args.rounds + 1):  # round 0 warms the page cache, not counted
                order = ["helm", "chartgen"] if i % 2 == 0 else ["chartgen", "helm"]
                for tool in order:
                    n += 1
                    r = one(tool, argv, setup, n, case)
                    if i > 0:
                        res[tool].append(r)
            med = {t: (statistics.median(x["wall"] for x in res[t]) * 1e3,
                       statistics.median(x["peak_kib"] for x in res[t]) / 1024)
                   for t in res}
            (hw, hm), (cw, cm) = med["helm"], med["chartgen"]
            print(f"{name:22} {hw:8.1f} {cw:8.1f} {hw / cw:7.1f} {hm:9.1f} {cm:9.1f} "
                  f"{hm / cm:6.1f}", flush=True)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
