#!/usr/bin/env python3
"""Benchmark: the runner image inside a real Job on the test cluster's node.

Not a test. Starts `tools/k8s-testenv/testenv.sh start --node` (root), pushes the image from
`tools/build-image.sh` to the node's registry, and runs an HTTP experiment of N requests
(closed loop, qps 0) through `iter8 k launch` against a small HTTP target on 127.0.0.1 that
this script serves. It prints:

- start-up: from the container's start (containerd's `StartContainer ... returns
  successfully`, nanosecond time) to the first request the target receives (same clock);
- peak memory: `memory.max_usage_in_bytes` of the container's cgroup (cgroup v1), polled
  every 20 ms while the pod runs (the last value read before the cgroup goes);
- the request count the target saw and the Job's wall time.

Targets from issue 12: start-up < 20 ms, peak < 32 MiB (the chart's limit is 128 Mi). The
peer (Iter8 v0.13's Go runner image) cannot be pulled here (no registry but loopback), so
there is no side-by-side ratio; the numbers stand against the targets.

    bench/runner_pod.py [--requests N]
"""
import argparse
import asyncio
import calendar
import glob
import json
import os
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Target:
    """HTTP/1.1 keep-alive responder on 127.0.0.1:0 that records the first request's time."""

    def __init__(self):
        self.first_ns = None
        self.count = 0
        self.port = None
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready):
        loop = asyncio.new_event_loop()
        target = self
        body = b"ok"
        reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\n" + body

        class Proto(asyncio.Protocol):
            def connection_made(self, transport):
                self.t = transport
                self.buf = b""

            def data_received(self, data):
                if target.first_ns is None:
                    target.first_ns = time.time_ns()
                self.buf += data
                n = self.buf.count(b"\r\n\r\n")
                if n:
                    self.buf = self.buf[self.buf.rfind(b"\r\n\r\n") + 4:]
                    target.count += n
                    self.t.write(reply * n)

        server = loop.run_until_complete(loop.create_server(Proto, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        loop.run_forever()


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=100000)
    a = ap.parse_args()

    env = subprocess.Popen([os.path.join(ROOT, "tools/k8s-testenv/testenv.sh"), "start", "--node"],
                           stdout=subprocess.PIPE, text=True)
    kubeconfig = env.stdout.readline().strip()
    if not kubeconfig:
        sys.exit("runner_pod: the node control plane did not start (see its messages above)")
    state = os.path.dirname(kubeconfig)
    try:
        registry = open(os.path.join(state, "registry")).read().strip()
        out = os.path.join(ROOT, "target/image/bench")
        run([os.path.join(ROOT, "tools/build-image.sh"), "--out", out, "--push", f"{registry}/iter8:bench"])
        digest = open(out + ".digest").read().strip()
        server = open(kubeconfig).read().split("server: ")[1].split()[0]
        api_port = server.rsplit(":", 1)[1]
        target = Target()
        iter8 = os.path.join(ROOT, "target/debug/iter8")
        if not os.path.exists(iter8):
            run(["cargo", "build", "--quiet", "--bin", "iter8"], cwd=ROOT)
        kubectl = os.path.join(ROOT, ".tools/bin/kubectl")
        ns = "bench"
        run([kubectl, "--kubeconfig", kubeconfig, "create", "namespace", ns])
        sets = [
            "tasks={http}", f"http.url=http://127.0.0.1:{target.port}/", f"http.numRequests={a.requests}",
            "http.qps=0", "runner=job", f"iter8Image={registry}/iter8:bench", f"iter8ImageDigest={digest}",
            "runnerHostNetwork=true", "runnerEnv[0].name=KUBERNETES_SERVICE_HOST",
            "runnerEnv[1].name=KUBERNETES_SERVICE_PORT",
        ]
        args = [iter8, "k", "launch", "-g", "b", "-n", ns, "--kubeconfig", kubeconfig]
        for s in sets:
            args += ["--set", s]
        args += ["--set-string", "runnerEnv[0].value=127.0.0.1", "--set-string", f"runnerEnv[1].value={api_port}"]
        t0 = time.time()
        run(args)

        # Poll the pod's container cgroup for memory while the Job runs.
        peak = 0
        samples = 0
        uid = cid = None
        phase = ""
        deadline = time.time() + 900
        # The pod's uid and container id from the API, then the cgroup file found once (the
        # kubelet's cgroup root is under k8s-testenv's memory cgroup).
        memfile = None
        while time.time() < deadline and memfile is None and phase not in ("Succeeded", "Failed"):
            pods = json.loads(run([kubectl, "--kubeconfig", kubeconfig, "-n", ns, "get", "pods", "-o", "json"]))
            if pods["items"]:
                p = pods["items"][0]
                uid = p["metadata"]["uid"]
                phase = p["status"].get("phase", "")
                for cs in p["status"].get("containerStatuses", []):
                    cid = (cs.get("containerID") or "").split("//")[-1] or cid
            if uid and cid:
                found = glob.glob(f"/sys/fs/cgroup/memory/**/pod{uid}/{cid}/memory.max_usage_in_bytes",
                                  recursive=True)
                memfile = found[0] if found else None
            time.sleep(0.05)
        while memfile and time.time() < deadline:
            try:
                with open(memfile) as f:
                    peak = max(peak, int(f.read()))
                samples += 1
            except OSError:
                break  # the container's cgroup is gone: it has exited
            time.sleep(0.02)
        while time.time() < deadline and phase not in ("Succeeded", "Failed"):
            pods = json.loads(run([kubectl, "--kubeconfig", kubeconfig, "-n", ns, "get", "pods", "-o", "json"]))
            phase = pods["items"][0]["status"].get("phase", "") if pods["items"] else ""
            time.sleep(0.2)
        wall = time.time() - t0

        started_ns = None
        log = open(os.path.join(state, "containerd.log")).read()
        m = re.search(r'time="([^"]+)" level=info msg="StartContainer for \\"%s\\" returns successfully"' % cid, log)
        if m:
            stamp = m.group(1)
            base, frac = stamp.rstrip("Z").split(".")
            secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
            started_ns = int(secs) * 10**9 + int(frac.ljust(9, "0")[:9])
        print(f"pod phase: {phase}; requests seen by the target: {target.count} of {a.requests}; "
              f"launch to Job end: {wall:.1f} s")
        if started_ns and target.first_ns:
            ms = (target.first_ns - started_ns) / 1e6
            print(f"container start -> first request: {ms:.1f} ms (target < 20 ms)")
        else:
            print("container start -> first request: not measured (no StartContainer line or no request)")
        print(f"peak memory of the container cgroup: {peak / 2**20:.1f} MiB (target < 32 MiB; "
              f"{samples} reads of {memfile})")
    finally:
        env.terminate()
        env.wait()


if __name__ == "__main__":
    main()
