#!/usr/bin/env python3
"""Benchmark: our gRPC load generator beside ghz against the same route guide servers on loopback.

Not a test (not in CI). Two servers, each answering GetFeature and ListFeatures with requests
passed through undecoded (so the server is never the bottleneck): bench/grpc-server (Go's
grpc-go) and bench/tonic-server (Rust's tonic), pinned to CPU 1; every client pinned to CPU 0
(taskset). All tools run in the same invocation, interleaved round by round (the order
rotates), and the median per tool is reported. k6's gRPC client is not run: the k6 Go module is
AGPL-licensed, which this project does not use.

Sections (`--only`, comma-separated; all by default):
  unary       GetFeature, closed loop at full speed, `--calls` calls, `--concurrency` workers on
              one connection, against each server of `--servers`: client CPU per call (user +
              system, GNU time) and peak RSS (GNU time %M). Targets: ours <= 0.5 x ghz's CPU
              per call; ours <= 64 MiB.
  stream      ListFeatures (server streaming, 3 messages per call), same measures.
  omission    Coordinated omission: a server that answers in 50 ms (`-delay 50ms`),
              `--co-concurrency` workers (capacity = workers / 50 ms), asked for twice that
              rate for `--co-calls` calls. Prints ghz's latencies, ours, and the queueing
              model's (call i intended at i/rate, served at i/capacity: latency i x
              (1/capacity - 1/rate) + 50 ms).
  stall       A 1 s server stall: `--stall-rate` calls/s for `--stall-calls` calls,
              `--co-concurrency` workers; each server of `--servers` holds every call it handles
              from 3 s after its first call until 4 s (`-stall-after=3s -stall=1s`). Prints
              ghz's latencies, ours, and the queueing model's (a call due at t inside the stall
              ends at its end: latency 4 s - t; the others are answered at once), and p99 / model.

Peers are installed outside the repository (never committed) at pinned versions: ghz 0.121.0
(`go install`), the server built from bench/grpc-server with `go build` (its go.mod pins
grpc-go), the tonic server built from bench/tonic-server with `cargo build --release` (its
Cargo.toml pins tonic; its own Cargo.lock; into target/), GNU time from Debian; the Go binaries
into ~/.cache/iter8-bench/bin. Ours is target/release/iter8 (`cargo build --release --bin
iter8` unless `--no-build`), run as `iter8 run` on an experiment with one grpc task.

    bench/grpc.py [--only unary,stream,omission,stall] [--servers go,tonic] [--smoke]
                  [--calls 1000000] [--rounds 3] [--concurrency 50] [--co-calls 2000]
                  [--co-concurrency 10] [--stall-calls 2000] [--stall-rate 200]
                  [--no-build] [--no-install] [--iter8 PATH]

`--iter8 PATH` runs that binary instead (no build): a debug build is fine for the latency
sections (omission, stall: a few hundred calls per second), never for the CPU ones.
"""
import argparse
import collections
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from measure import parent_peak_kib, run_measured  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.expanduser("~/.cache/iter8-bench/bin")
GHZ_VERSION = "0.121.0"
SERVERS = {"go": os.path.join(CACHE, "routeguide-bench"),
           "tonic": os.path.join(ROOT, "target", "release", "routeguide-tonic")}
GHZ = os.path.join(CACHE, "ghz")
PROTO = os.path.join(ROOT, "tests", "grpc", "route_guide.proto")
POINT = {"latitude": 407838351, "longitude": -746143763}
RECT = {"lo": {"latitude": 400000000, "longitude": -750000000},
        "hi": {"latitude": 420000000, "longitude": -730000000}}
SECTIONS = ("unary", "stream", "omission", "stall")
STALL_AFTER_S, STALL_S = 3.0, 1.0
CLIENT_CPU, SERVER_CPU = "0", "1"


def install():
    if not os.path.exists("/usr/bin/time"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq", "time"], check=True, env=env)
    os.makedirs(CACHE, exist_ok=True)
    stamp = os.path.join(CACHE, "ghz.version")
    have = open(stamp).read().strip() if os.path.exists(stamp) else ""
    if not os.path.exists(GHZ) or have != GHZ_VERSION:
        subprocess.run(["go", "install", f"github.com/bojand/ghz/cmd/ghz@v{GHZ_VERSION}"], check=True,
                       env=dict(os.environ, GOBIN=CACHE), cwd=tempfile.gettempdir())
        with open(stamp, "w") as f:
            f.write(GHZ_VERSION + "\n")
    subprocess.run(["go", "build", "-o", SERVERS["go"], "."], check=True,
                   cwd=os.path.join(ROOT, "bench", "grpc-server"))
    subprocess.run(["cargo", "build", "--release", "--quiet", "--locked"], check=True,
                   cwd=os.path.join(ROOT, "bench", "tonic-server"),
                   env=dict(os.environ, CARGO_TARGET_DIR=os.path.join(ROOT, "target")))


class Server:
    """A bench server (`kind`: go or tonic) on 127.0.0.1 port 0, pinned to the server CPU;
    `flags` as both take them (-delay=, -list=, -stall-after=, -stall=)."""

    def __init__(self, kind="go", flags=()):
        cmd = ["taskset", "-c", SERVER_CPU, SERVERS[kind]] + list(flags)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            self.stop()
            raise SystemExit(f"bench server {kind} did not start: {line}")
        self.host = f"127.0.0.1:{line[1]}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def ours_cmd(iter8, host, call, data, n, c, rundir, rps=0):
    exp = [{"task": "grpc", "with": {
        "host": host, "call": call, "proto": PROTO, "data": data, "total": n,
        "concurrency": c, "rps": rps}}]
    with open(os.path.join(rundir, "experiment.yaml"), "w") as f:
        json.dump({"spec": exp}, f)  # JSON is YAML
    return [iter8, "run", "--runDir", rundir]


def ghz_cmd(host, call, data, n, c, out, rps=0):
    """ghz with its default summary output (its JSON output serializes every call's details
    at the end, which would add to its CPU)."""
    return [GHZ, "--insecure", "--proto", PROTO, "--call", call, "-d", json.dumps(data),
            "-n", str(n), "-c", str(c), "--rps", str(int(rps)), "-o", out, host]


def ours_result(rundir):
    """Counts and latencies (ms) from the experiment iter8 wrote."""
    try:
        text = open(os.path.join(rundir, "experiment.yaml")).read()
    except FileNotFoundError:
        return None

    def metric(name):
        m = re.search(re.escape(name) + r":\s*\n?\s*-?\s*\[?\s*([0-9.e+-]+)", text)
        return float(m.group(1)) if m else None
    count = metric("grpc/request-count") or 0
    errors = metric("grpc/error-count") or 0
    lat = {k: metric(f"grpc/latency/{k}") for k in ("mean", "p50", "p99", "max")}
    return {"ok": int(count - errors), "errors": int(errors), "lat": lat}


def ghz_result(out):
    """Counts and latencies (ms) from ghz's summary."""
    try:
        text = open(out).read()
    except FileNotFoundError:
        return None

    def ms(pattern):
        m = re.search(pattern, text)
        if not m:
            return None
        v, unit = float(m.group(1)), m.group(2)
        return v * {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1000.0}[unit]
    count = re.search(r"Count:\s+(\d+)", text)
    if not count:
        return None
    ok = re.search(r"\[OK\]\s+(\d+) responses", text)
    ok = int(ok.group(1)) if ok else 0
    unit = r"([0-9.]+)\s*(ns|µs|us|ms|s)\b"
    lat = {"mean": ms(r"Average:\s+" + unit), "p50": ms(r"50 % in " + unit),
           "p99": ms(r"99 % in " + unit), "max": ms(r"Slowest:\s+" + unit)}
    return {"ok": ok, "errors": int(count.group(1)) - ok, "lat": lat}


def run_tool(tool, iter8, host, call, data, n, c, rps=0):
    rundir = tempfile.mkdtemp()
    out = os.path.join(rundir, "ghz.txt")
    cmd = ours_cmd(iter8, host, call, data, n, c, rundir, rps) if tool == "iter8" \
        else ghz_cmd(host, call, data, n, c, out, rps)
    log = tempfile.NamedTemporaryFile(delete=False)
    r = run_measured(["taskset", "-c", CLIENT_CPU] + cmd, stdout=log)
    log.close()
    res = ours_result(rundir) if tool == "iter8" else ghz_result(out)
    text = open(log.name, errors="replace").read()
    os.unlink(log.name)
    shutil.rmtree(rundir, ignore_errors=True)
    if r["rc"] != 0 or r["cpu"] is None or not res or res["ok"] + res["errors"] == 0:
        print(f"  {tool}: failed (exit code {r['rc']}); last output:\n{text[-1500:]}", flush=True)
        return None
    total = res["ok"] + res["errors"]
    r.update(res, name=tool, calls=total, rate=total / r["wall"], cpu_us=r["cpu"] / total * 1e6)
    if res["errors"]:
        print(f"  {tool}: {res['errors']} of {total} calls failed", flush=True)
    return r


def closed_loop(title, iter8, call, data, args, kind):
    server = Server(kind)
    n, c = args.calls, args.concurrency
    title = f"{title} ({kind} server)"
    print(f"\n== {title}: {call}, closed loop, {n} calls, {c} workers, 1 connection, "
          f"{args.rounds} round(s), load average {os.getloadavg()[0]:.1f}", flush=True)
    runs = collections.defaultdict(list)
    tools = ["iter8", "ghz"]
    try:
        for rnd in range(args.rounds):
            for tool in tools[rnd % 2:] + tools[:rnd % 2]:
                r = run_tool(tool, iter8, server.host, call, data, n, c)
                if r:
                    runs[tool].append(r)
    finally:
        server.stop()
    print(f"{'tool':8} {'calls':>9} {'calls/s':>8} {'CPU us/call':>11} {'peak MiB':>9}   "
          f"CPU us/call of each round")
    rows = {}
    for name, rs in runs.items():
        cpu = [r["cpu_us"] for r in rs]
        rows[name] = {"cpu_us": statistics.median(cpu),
                      "peak_mib": max(r["peak_kib"] for r in rs) / 1024,
                      "rate": statistics.median(r["rate"] for r in rs)}
        row = rows[name]
        print(f"{name:8} {rs[0]['calls']:9d} {row['rate']:8.0f} {row['cpu_us']:11.2f} "
              f"{row['peak_mib']:9.1f}   {' '.join(f'{x:.2f}' for x in cpu)}", flush=True)
    if "iter8" in rows and "ghz" in rows:
        r = rows["iter8"]["cpu_us"] / rows["ghz"]["cpu_us"]
        print(f"{title}: CPU per call iter8 / ghz = {r:.2f}   target <= 0.5: "
              f"{'met' if r <= 0.5 else 'NOT MET'}")
        m = rows["iter8"]["peak_mib"]
        print(f"{title}: peak memory ghz / iter8 = {rows['ghz']['peak_mib'] / m:.1f}; "
              f"iter8 {m:.1f} MiB after {n} calls, target <= 64 MiB: {'met' if m <= 64 else 'NOT MET'}")
    print(f"memory check: this Python parent's peak RSS is {parent_peak_kib() / 1024:.1f} MiB "
          f"(GNU time reports each client's own)")


def omission(iter8, args):
    delay_ms, c, n = 50.0, args.co_concurrency, args.co_calls
    capacity = c / (delay_ms / 1000)
    rate = 2 * capacity
    server = Server("go", [f"-delay={delay_ms:g}ms"])
    print(f"\n== coordinated omission: server answers in {delay_ms:g} ms, {c} workers (capacity "
          f"{capacity:g} calls/s), asked for {rate:g} calls/s, {n} calls", flush=True)
    # The queueing model: call i is due at i/rate and starts at i/capacity (the workers are
    # busy until then), so its latency from when it was due is i*(1/capacity - 1/rate) + delay.
    lat = sorted(i * (1 / capacity - 1 / rate) * 1000 + delay_ms for i in range(n))
    model = {"mean": statistics.fmean(lat), "p50": lat[n // 2], "p99": lat[int(n * 0.99)],
             "max": lat[-1]}
    rows = {"model": model}
    try:
        for tool in ("iter8", "ghz"):
            r = run_tool(tool, iter8, server.host, "routeguide.RouteGuide.GetFeature", POINT, n, c,
                         rps=rate)
            if r:
                rows[tool] = r["lat"]
                rows[tool]["wall"] = r["wall"]
    finally:
        server.stop()
    print_latencies(rows)
    for tool in ("iter8", "ghz"):
        if tool in rows and rows[tool].get("p99"):
            print(f"omission: p99 {tool} / model = {rows[tool]['p99'] / model['p99']:.2f}")


def print_latencies(rows):
    print(f"{'':8} {'mean ms':>9} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for name, l in rows.items():
        cells = " ".join(f"{l[k]:9.1f}" if l.get(k) is not None else f"{'n/a':>9}"
                         for k in ("mean", "p50", "p99", "max"))
        print(f"{name:8} {cells}")


def stall(iter8, args, kind):
    n, rate, c = args.stall_calls, args.stall_rate, args.co_concurrency
    print(f"\n== 1 s stall ({kind} server): {rate:g} calls/s, {n} calls, {c} workers; the server "
          f"holds every call from {STALL_AFTER_S:g} s after its first until "
          f"{STALL_AFTER_S + STALL_S:g} s", flush=True)
    # The queueing model: call i is due at i/rate; one due inside the stall ends when the stall
    # does (the workers are free again at once: the server answers in microseconds), the others
    # are answered at once.
    end = STALL_AFTER_S + STALL_S
    lat = sorted(max(0.0, end - i / rate) * 1000 if STALL_AFTER_S <= i / rate < end else 0.0
                 for i in range(n))
    model = {"mean": statistics.fmean(lat), "p50": lat[n // 2], "p99": lat[int(n * 0.99)],
             "max": lat[-1]}
    rows = {"model": model}
    for tool in ("iter8", "ghz"):
        # A fresh server per tool: the stall is timed from the server's first call.
        server = Server(kind, [f"-stall-after={STALL_AFTER_S:g}s", f"-stall={STALL_S:g}s"])
        try:
            r = run_tool(tool, iter8, server.host, "routeguide.RouteGuide.GetFeature", POINT, n, c,
                         rps=rate)
        finally:
            server.stop()
        if r:
            rows[tool] = r["lat"]
    print_latencies(rows)
    for tool in ("iter8", "ghz"):
        if tool in rows and rows[tool].get("p99"):
            print(f"stall ({kind}): p99 {tool} / model = {rows[tool]['p99'] / model['p99']:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default=",".join(SECTIONS))
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--co-calls", type=int, default=2000)
    ap.add_argument("--co-concurrency", type=int, default=10)
    ap.add_argument("--stall-calls", type=int, default=2000)
    ap.add_argument("--stall-rate", type=float, default=200.0)
    ap.add_argument("--servers", default="go,tonic", help="servers of unary, stream and stall")
    ap.add_argument("--smoke", action="store_true", help="20,000 calls, 1 round")
    ap.add_argument("--no-build", action="store_true", help="use the existing target/release/iter8")
    ap.add_argument("--no-install", action="store_true", help="do not install ghz or build the server")
    ap.add_argument("--iter8", help="this iter8 binary instead of target/release/iter8 (no build)")
    args = ap.parse_args()
    if args.smoke:
        args.calls, args.rounds = 20_000, 1
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        ap.error(f"--only: unknown section {bad[0]!r} (known: {', '.join(SECTIONS)})")
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    bad = [s for s in servers if s not in SERVERS]
    if bad:
        ap.error(f"--servers: unknown server {bad[0]!r} (known: {', '.join(SERVERS)})")
    if not args.no_install:
        install()
    if not args.no_build and not args.iter8:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "iter8"], cwd=ROOT, check=True)
    iter8 = os.path.abspath(args.iter8) if args.iter8 else os.path.join(ROOT, "target", "release", "iter8")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    print(f"bench/grpc.py at {commit}, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} "
          f"UTC, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; ghz {GHZ_VERSION}; iter8 {iter8}; clients on CPU "
          f"{CLIENT_CPU}, server on CPU {SERVER_CPU}")
    for kind in servers:
        if "unary" in only:
            closed_loop("unary", iter8, "routeguide.RouteGuide.GetFeature", POINT, args, kind)
        if "stream" in only:
            closed_loop("server streaming", iter8, "routeguide.RouteGuide.ListFeatures", RECT,
                        args, kind)
    if "omission" in only:
        omission(iter8, args)
    if "stall" in only:
        for kind in servers:
            stall(iter8, args, kind)
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
