#!/usr/bin/env python3
"""Benchmark: the capacity search beside a linear step search, on the same server.

Not a test (not in CI). The server (in this script, on 127.0.0.1, an ephemeral port) has
`--workers` workers that each hold a request `--service-ms` milliseconds, first come first
served, so its capacity is workers / service time (200 requests/sec by default). Both searches
judge each probe on the same p99 SLO (`--p99-ms`, twice the service time by default) with
probes of the same length (`--probe`), through the same `iter8` binary:

  capacity  one `iter8 run` of an http task with `capacity:` (growth from --start, bisection,
            confirmation; tolerance --tolerance).
  linear    what k6/Gatling/Locust users do by hand: one `iter8 run` per rate, from --start
            up in steps of tolerance x the capacity the search found (so it reaches the same
            precision), until a probe fails the SLO.

Printed: probes, wall time and the capacity each names, the model's capacity, and the ratios
(linear / capacity). Rounds alternate the two (`--rounds`); medians are reported.

    bench/capacity.py [--iter8 target/debug/iter8] [--rounds 3] [--probe 1s] [--start 50]
                      [--workers 4] [--service-ms 20] [--tolerance 0.02] [--p99-ms 40]
"""
import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def serve(workers, service_s, ready):
    """The model server: an asyncio HTTP/1.1 keep-alive server on 127.0.0.1:0."""
    loop = asyncio.new_event_loop()
    free = []

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                now = loop.time()
                if not free:
                    free.extend([now] * workers)
                i = min(range(workers), key=lambda k: free[k])
                end = max(free[i], now) + service_s
                free[i] = end
                await asyncio.sleep(end - loop.time())
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        ready.append(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    loop.run_until_complete(main())


def yaml_spec(url, a, extra):
    return (f"- task: http\n  with:\n    url: {url}\n    connections: 16\n{extra}"
            f"- task: assess\n  with:\n    SLOs:\n      upper:\n"
            f"      - {{metric: http/latency-p99, limit: {a.p99_ms}}}\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--iter8", default=os.path.join(ROOT, "target/debug/iter8"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--probe", default="1s")
    p.add_argument("--start", type=float, default=50)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--service-ms", type=float, default=20)
    p.add_argument("--tolerance", type=float, default=0.02)
    p.add_argument("--p99-ms", type=float, default=None)
    a = p.parse_args()
    a.p99_ms = a.p99_ms or 2 * a.service_ms
    model = a.workers / (a.service_ms / 1000)
    ready = []
    threading.Thread(target=serve, args=(a.workers, a.service_ms / 1000, ready), daemon=True).start()
    while not ready:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{ready[0]}/"
    rows = {"capacity": [], "linear": []}
    for r in range(a.rounds):
        # capacity search
        with tempfile.TemporaryDirectory() as d:
            extra = (f"    capacity: {{startRate: {a.start}, probeDuration: {a.probe}, "
                     f"tolerance: {a.tolerance}, maxGeneratorLag: 50ms}}\n")
            with open(os.path.join(d, "experiment.yaml"), "w") as f:
                f.write("spec:\n" + yaml_spec(url, a, extra))
            t = time.monotonic()
            subprocess.run([a.iter8, "run", "--runDir", d, "--noProgress"], check=True,
                           stderr=subprocess.DEVNULL)
            secs = time.monotonic() - t
            exp = open(os.path.join(d, "experiment.yaml")).read()
        found, probes = read_capacity(exp)
        rows["capacity"].append((probes, secs, found))
        # linear steps of tolerance x the capacity found, from the start rate
        step = a.tolerance * (found or model)
        rate, n, t, last_pass = a.start, 0, time.monotonic(), None
        while n < 500:
            n += 1
            with tempfile.TemporaryDirectory() as d:
                extra = f"    qps: {rate}\n    duration: {a.probe}\n"
                with open(os.path.join(d, "experiment.yaml"), "w") as f:
                    f.write("spec:\n" + yaml_spec(url, a, extra))
                subprocess.run([a.iter8, "run", "--runDir", d, "--noProgress"], check=True,
                               stderr=subprocess.DEVNULL)
                ok = subprocess.run([a.iter8, "assert", "-c", "slos", "--runDir", d],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
            if not ok:
                break
            last_pass = rate
            rate += step
        rows["linear"].append((n, time.monotonic() - t, last_pass))
        print(f"round {r + 1}: capacity {rows['capacity'][-1]}, linear {rows['linear'][-1]}",
              file=sys.stderr)
    print(f"model capacity {model:.1f} requests/sec; p99 SLO {a.p99_ms} ms; probes of {a.probe}")
    print("| search | probes | wall s | capacity named |")
    print("|---|---|---|---|")
    med = {}
    for k, v in rows.items():
        med[k] = tuple(statistics.median(x[i] or 0 for x in v) for i in range(3))
        print(f"| {k} | {med[k][0]:.0f} | {med[k][1]:.1f} | {med[k][2]:.1f} |")
    print(f"linear / capacity: probes x{med['linear'][0] / med['capacity'][0]:.1f}, "
          f"time x{med['linear'][1] / med['capacity'][1]:.1f}")


def read_capacity(exp_yaml):
    """The capacity and the probe count from a stored experiment (YAML read by hand: the
    values are on known lines under nonHistMetricValues)."""
    cap = re.search(r"http/capacity:\n\s*- ([0-9.e+-]+)", exp_yaml)
    offered = re.search(r"http/capacity-probe-offered-rate:\n((?:\s*- [0-9.e+-]+\n)+)", exp_yaml)
    probes = len(re.findall(r"- ", offered.group(1))) if offered else 0
    return (float(cap.group(1)) if cap else None), probes


if __name__ == "__main__":
    main()
