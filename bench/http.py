#!/usr/bin/env python3
"""Benchmark: our HTTP load generator beside wrk, oha, Fortio and h2load against nginx on loopback.

Not a test (not in CI). One nginx (Debian's), pinned to CPU 1; every client pinned to CPU 0
(taskset); all tools in the same run, interleaved round by round (the order rotates), and the
median per tool is reported (the machine is shared: interference only ever adds CPU time).

Sections (`--only`, comma-separated; all by default):
  h1          plain HTTP/1.1, closed loop at full speed: ours on io_uring and on epoll
              (`ITER8_IO`), wrk, oha, Fortio. Target: ours <= 0.9 x wrk's CPU per request.
  https       HTTP/1.1 over TLS 1.3 with one cipher for all (nginx pins TLS_AES_128_GCM_SHA256
              and X25519): ours, wrk, oha, Fortio. Target: ours <= 0.9 x wrk's.
  h2          HTTP/2 over TLS (ALPN h2): ours, `h2load -m1` (one request in flight per
              connection, as ours), oha, Fortio. Target: ours <= 0.95 x h2load's.
  h2c         HTTP/2 with prior knowledge: same tools and target.
  counts      plain and HTTPS HTTP/1.1, ours beside wrk: user-space instructions per request
              (Valgrind's callgrind) and system calls per request (perf's raw_syscalls
              tracepoint), each from two runs of different lengths, differenced: counts that
              the machine's load does not change (no hardware PMU on this VM, so no
              `perf stat -e instructions:u`). Ratio ours / wrk of instructions per request.
  idle        ours holding `--idle-connections` (10,000) open connections at 10 req/s:
              RSS per idle connection ((RSS at N - RSS at 1) / (N - 1)), target <= 16 KiB.
  contention  ours at `--rate` (20,000 req/s) with a busy loop pinned to the generator's
              core, beside Fortio at the same rate: achieved rate, target within 0.5 %. The
              shares are fixed by cgroups (see CpuShares): generator and hog get half of CPU 0
              each, whatever else runs on the machine, so the result does not depend on the
              machine's load (a saturated core said nothing in earlier runs).

Per run: client CPU per request (user + system of the client process tree, GNU time), the
kernel's share of it (perf record, cpu-clock samples in kernel mode; see measure.py), and the
client's own peak RSS (GNU time `%M`; a check prints that wrk's and ours differ from the
Python parent's). Before the rounds, every client makes a few requests to logging twins of the
nginx servers, and the protocol, TLS version and cipher nginx saw are printed for each.

Peers are installed outside the repository (never committed) at pinned versions: nginx, wrk,
nghttp2-client (h2load), time, linux-perf and valgrind from Debian; Fortio 1.68.2 (`go install`; from
1.69.0 it needs grol.io/grol, which the module proxy refuses) and oha 1.16.0
(`cargo install --locked`) into ~/.cache/iter8-bench/bin.

    bench/http.py [--only h1,https,h2,h2c,idle,contention] [--smoke] [--requests 2000000]
                  [--rounds 3] [--connections 16] [--rate 20000] [--idle-connections 10000]
                  [--skip oha,...] [--profile-dir DIR] [--no-perf] [--no-build] [--no-install]
"""
import argparse
import collections
import datetime
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from measure import callgrind_instructions, parent_peak_kib, run_measured, syscall_count  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE_ROOT = os.path.expanduser("~/.cache/iter8-bench")
CACHE = os.path.join(CACHE_ROOT, "bin")
FORTIO_VERSION = "1.68.2"
OHA_VERSION = "1.16.0"
CIPHER = "TLS_AES_128_GCM_SHA256"
SECTIONS = ("h1", "https", "h2", "h2c", "counts", "idle", "contention")
CLIENT_CPU, SERVER_CPU = "0", "1"


def sh_ok(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def install_peers():
    debian = {"nginx": "/usr/sbin/nginx", "wrk": "/usr/bin/wrk", "nghttp2-client": "/usr/bin/h2load",
              "time": "/usr/bin/time", "linux-perf": "/usr/bin/perf", "valgrind": "/usr/bin/valgrind"}
    missing = [pkg for pkg, path in debian.items() if not os.path.exists(path)]
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq"] + missing, check=True, env=env)
    os.makedirs(CACHE, exist_ok=True)
    fortio = os.path.join(CACHE, "fortio")
    if not os.path.exists(fortio) or FORTIO_VERSION not in sh_ok([fortio, "version"]).stdout:
        subprocess.run(["go", "install", f"fortio.org/fortio@v{FORTIO_VERSION}"], check=True,
                       env=dict(os.environ, GOBIN=CACHE))
    oha = os.path.join(CACHE, "oha")
    if not os.path.exists(oha) or OHA_VERSION not in sh_ok([oha, "--version"]).stdout:
        subprocess.run(["cargo", "install", "--quiet", "--locked", f"oha@{OHA_VERSION}", "--root",
                        CACHE_ROOT], check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """nginx on CPU 1 with a test certificate: plain, TLS (HTTP/1.1 and h2) and h2c servers,
    each with a twin that logs protocol, TLS version and cipher (for the protocol check)."""

    def __init__(self, tmp, max_conns):
        self.tmp = tmp
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-keyout", f"{tmp}/key.pem", "-out", f"{tmp}/cert.pem"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.port = {k: free_port() for k in ("plain", "tls", "h2c", "check_plain", "check_tls",
                                               "check_h2c")}
        self.check_log = f"{tmp}/check.log"
        ok = 'location / { return 200 "hello\\n"; }'
        p = self.port
        listen = {"plain": "", "tls": " ssl http2", "h2c": " http2"}
        servers = "".join(
            f"  server {{ listen 127.0.0.1:{p[k]}{listen[k]} backlog=65535; {ok} }}\n"
            f"  server {{ listen 127.0.0.1:{p['check_' + k]}{listen[k]}; access_log {self.check_log}"
            f" check; {ok} }}\n" for k in listen)
        conf = f"""daemon off; worker_processes 1; worker_rlimit_nofile {max_conns * 2 + 1000};
pid {tmp}/nginx.pid; error_log {tmp}/error.log warn;
events {{ worker_connections {max_conns + 1000}; }}
http {{
  access_log off; keepalive_requests 1000000000; keepalive_timeout 600s;
  log_format check '$server_port $server_protocol $ssl_protocol $ssl_cipher';
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  ssl_certificate {tmp}/cert.pem; ssl_certificate_key {tmp}/key.pem;
  ssl_protocols TLSv1.3; ssl_ecdh_curve X25519; ssl_conf_command Ciphersuites {CIPHER};
{servers}}}
"""
        with open(f"{tmp}/nginx.conf", "w") as f:
            f.write(conf)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, nginx, "-p", tmp, "-c",
                                      f"{tmp}/nginx.conf", "-e", "stderr"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", p["plain"]), timeout=0.1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise SystemExit("nginx did not start: " + open(f"{tmp}/error.log").read()[-2000:])

    def url(self, kind, check=False):
        port = self.port[("check_" if check else "") + kind]
        return f"{'https' if kind == 'tls' else 'http'}://127.0.0.1:{port}/"

    def check_lines(self):
        try:
            with open(self.check_log) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


# --- clients --------------------------------------------------------------------------------

def metric(exp_text, name):
    m = re.search(re.escape(name) + r":\s*\n?\s*-?\s*\[?\s*([0-9.e+-]+)", exp_text)
    return float(m.group(1)) if m else None


class Ours:
    """`iter8 launch` with one http task; counts and rates from the experiment it writes."""

    def __init__(self, iter8, io=None, http2=False):
        self.iter8, self.io, self.http2 = iter8, io, http2
        self.name = "iter8" + (f"-{io}" if io else "")

    def cmd(self, url, n, c, rundir, qps=0, duration=None, timeout=None):
        flags = ["tasks={http}", f"http.url={url}", f"http.connections={c}", f"http.qps={qps}"]
        flags.append(f"http.duration={duration}" if duration else f"http.numRequests={n}")
        if url.startswith("https"):
            flags.append("http.insecureSkipVerify=true")
        if self.http2:
            flags.append("http.http2=true")
        if timeout:
            flags.append(f"http.timeout={timeout}")
        args = [self.iter8, "launch", "--runDir", rundir]
        for f in flags:
            args += ["--set", f]
        return args

    def env(self):
        return dict(os.environ, ITER8_IO=self.io) if self.io else None

    def run(self, url, n, c, rundir, out_text, qps=0):
        """(ok, errors, extra) from the experiment in rundir."""
        try:
            exp = open(os.path.join(rundir, "experiment.yaml")).read()
        except FileNotFoundError:
            return 0, n, {}
        count = metric(exp, "http/request-count") or 0
        errors = metric(exp, "http/error-count") or 0
        return int(count - errors), int(errors), {"achieved": metric(exp, "http/achieved-rate"),
                                                  "lag_p99": metric(exp, "http/generator-lag-p99")}


def peer_cmd(name, url, n, c, secs, h2=False, qps=0, json_out=None):
    """Command line of a peer for n requests (wrk: secs seconds) on c connections."""
    tls = url.startswith("https")
    if name == "wrk":
        return ["wrk", "-t1", f"-c{c}", f"-d{secs}s", url]
    if name == "oha":
        return [os.path.join(CACHE, "oha"), "--no-tui", "-n", str(n), "-c", str(c)] + \
            (["--http2"] if h2 else []) + (["--insecure"] if tls else []) + [url]
    if name == "fortio":
        return [os.path.join(CACHE, "fortio"), "load", "-quiet", "-qps", str(qps), "-n", str(n),
                "-c", str(c)] + (["-h2"] if h2 else []) + (["-k"] if tls else []) + \
            (["-json", json_out] if json_out else []) + [url]
    if name == "h2load":
        return ["h2load", "-n", str(n), "-c", str(c), "-m", "1", "-t", "1", url]
    raise ValueError(name)


def peer_counts(name, text):
    """(ok, errors) parsed from a peer's output."""
    def num(pattern):
        m = re.search(pattern, text)
        return int(m.group(1)) if m else 0
    if name == "wrk":
        total = num(r"(\d+) requests in")
        bad = num(r"Non-2xx or 3xx responses: (\d+)")
        sock = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
        return total - bad, bad + sock
    if name == "oha":
        ok = num(r"\[200\]\s+(\d+) responses")
        errs = sum(int(x) for x in re.findall(r"\[(?!200\])[^\]]*\]\s+(\d+) responses", text))
        errs += sum(int(x) for x in re.findall(r"\[(\d+)\] [^\n]*error", text, re.I))
        return ok, errs
    if name == "fortio":
        ok = num(r"Code 200 : (\d+)")
        codes = sum(int(x) for x in re.findall(r"Code -?\d+ : (\d+)", text))
        return ok, codes - ok
    if name == "h2load":
        m = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded", text)
        if not m:
            return 0, 0
        return int(m.group(3)), int(m.group(1)) - int(m.group(3))
    raise ValueError(name)


def run_client(tool, url, n, c, secs, perf, h2=False, qps=0, on_start=None, extra_run=None,
               wrap=None):
    """Runs one client on CPU 0; returns a result dict or None when it failed."""
    out = tempfile.NamedTemporaryFile(delete=False)
    rundir = tempfile.mkdtemp()
    json_out = os.path.join(rundir, "fortio.json")
    if isinstance(tool, Ours):
        cmd, env, name = tool.cmd(url, n, c, rundir, qps=qps, **(extra_run or {})), tool.env(), tool.name
    else:
        cmd, env, name = peer_cmd(tool, url, n, c, secs, h2=h2, qps=qps, json_out=json_out), None, tool
    full = ["taskset", "-c", CLIENT_CPU] + cmd
    r = run_measured(wrap(full) if wrap else full, stdout=out, perf=perf, env=env, on_start=on_start)
    out.close()
    text = open(out.name, errors="replace").read()
    os.unlink(out.name)
    extra = {}
    if isinstance(tool, Ours):
        ok, errors, extra = tool.run(url, n, c, rundir, text)
    else:
        ok, errors = peer_counts(tool, text)
        if tool == "fortio" and os.path.exists(json_out):
            m = re.search(r'"ActualQPS":\s*([0-9.e+]+)', open(json_out).read())
            extra["achieved"] = float(m.group(1)) if m else None
    shutil.rmtree(rundir, ignore_errors=True)
    if r["rc"] != 0 or r["cpu"] is None or ok + errors == 0:
        print(f"  {name}: failed (exit code {r['rc']}); last output:\n{text[-1500:]}", flush=True)
        return None
    total = ok + errors
    r.update(name=name, ok=ok, errors=errors, requests=total, rate=total / r["wall"],
             cpu_us=r["cpu"] / total * 1e6, **extra)
    if errors:
        print(f"  {name}: {errors} of {total} requests failed", flush=True)
    return r


# --- sections -------------------------------------------------------------------------------

def protocol_check(nginx, kind, tools, h2, want_proto, tls):
    """Each client makes a few requests to the logging twin; prints what nginx saw."""
    print(f"protocol check (what nginx logged; expected {want_proto}"
          f"{', TLSv1.3 ' + CIPHER if tls else ''}):")
    for tool in tools:
        before = len(nginx.check_lines())
        run_client(tool, nginx.url(kind, check=True), 200, 2, 1, perf=False, h2=h2)
        seen = collections.Counter(
            " ".join(line.split()[1:]) for line in nginx.check_lines()[before:])
        name = tool.name if isinstance(tool, Ours) else tool
        want = f"{want_proto} TLSv1.3 {CIPHER}" if tls else f"{want_proto} - -"
        verdict = "ok" if seen and set(seen) == {want} else "MISMATCH"
        print(f"  {name:14} {verdict:8} " + ", ".join(f"{k} x{v}" for k, v in seen.most_common()),
              flush=True)


def closed_loop(nginx, kind, tools, args, h2, target_peer, target, title):
    tools = [t for t in tools if (t.name if isinstance(t, Ours) else t) not in args.skip]
    n, c = args.requests, args.connections
    url = nginx.url(kind)
    print(f"\n== {title}: closed loop, full speed, {n} requests, {c} connections, {args.rounds} "
          f"round(s), load average {os.getloadavg()[0]:.1f}", flush=True)
    protocol_check(nginx, kind, tools, h2, "HTTP/2.0" if h2 else "HTTP/1.1", kind == "tls")
    runs = collections.defaultdict(list)
    rate_hint = 20000.0
    for rnd in range(args.rounds):
        order = tools[rnd % len(tools):] + tools[:rnd % len(tools)]
        for tool in order:
            secs = max(1, round(n / rate_hint))
            r = run_client(tool, url, n, c, secs, perf=not args.no_perf, h2=h2)
            if r:
                runs[r["name"]].append(r)
                rate_hint = r["rate"]
    rows = table(runs)
    ratios(rows, target_peer, target, title)
    return rows


def table(runs):
    print(f"{'tool':14} {'requests':>9} {'req/s':>8} {'CPU us/req':>10} {'(min)':>6} {'kernel':>7}"
          f" {'user us/req':>11} {'peak MiB':>9}   CPU us/req of each round")
    rows = {}
    for name, rs in runs.items():
        cpu = [r["cpu_us"] for r in rs]
        ks = [r["kernel_share"] for r in rs if r["kernel_share"] is not None]
        k = statistics.median(ks) if ks else None
        row = {"cpu_us": statistics.median(cpu), "kernel": k,
               "peak_mib": max(r["peak_kib"] for r in rs) / 1024,
               "rate": statistics.median(r["rate"] for r in rs), "requests": rs[0]["requests"]}
        rows[name] = row
        kern = f"{k * 100:6.1f}%" if k is not None else "    n/a"
        user = f"{row['cpu_us'] * (1 - k):11.2f}" if k is not None else "        n/a"
        print(f"{name:14} {row['requests']:9d} {row['rate']:8.0f} {row['cpu_us']:10.2f} {min(cpu):6.2f}"
              f" {kern} {user} {row['peak_mib']:9.1f}   {' '.join(f'{x:.2f}' for x in cpu)}",
              flush=True)
    return rows


def ratios(rows, target_peer, target, title):
    if target_peer not in rows:
        print(f"no {target_peer} result: no ratio")
        return
    for ours in [k for k in rows if k.startswith("iter8")]:
        for peer in [k for k in rows if not k.startswith("iter8")]:
            r = rows[ours]["cpu_us"] / rows[peer]["cpu_us"]
            mark = ""
            if peer == target_peer:
                mark = f"   target <= {target}: {'met' if r <= target else 'NOT MET'}"
            print(f"{title}: CPU per request {ours} / {peer} = {r:.2f}{mark}")
    for ours in [k for k in rows if k.startswith("iter8")]:
        for peer in [k for k in rows if not k.startswith("iter8")]:
            print(f"{title}: peak memory {peer} / {ours} = "
                  f"{rows[peer]['peak_mib'] / rows[ours]['peak_mib']:.1f}")


def memory_check(rows):
    parent = parent_peak_kib() / 1024
    print(f"memory check: this Python parent's peak RSS is {parent:.1f} MiB", end="")
    for name in ("wrk", "iter8-uring", "iter8-epoll", "iter8"):
        if name in rows:
            mine = rows[name]["peak_mib"]
            print(f"; {name} {mine:.1f} MiB ({'differs' if abs(mine - parent) > 0.05 else 'SAME'})",
                  end="")
    print()


def counted_run(tool, url, n, c, secs, how, profile_out=None):
    """(requests, count) of one run of `tool` counted `how` ("insn": callgrind, "sys": syscalls);
    n requests for ours, secs seconds for wrk."""
    out = tempfile.NamedTemporaryFile(delete=False)
    rundir = tempfile.mkdtemp()
    # Under Valgrind a TLS handshake takes seconds and 16 start at once: long timeouts.
    if isinstance(tool, Ours):
        cmd, env = tool.cmd(url, n, c, rundir, timeout="60s"), tool.env()
    else:
        cmd, env = peer_cmd(tool, url, n, c, secs), None
        cmd[1:1] = ["--timeout", "60s"]
    pin = ["taskset", "-c", CLIENT_CPU]
    if how == "insn":
        count, rc = callgrind_instructions(cmd, env=env, stdout=out, profile_out=profile_out,
                                           prefix=pin)
    else:
        count, rc = syscall_count(pin + cmd, env=env, stdout=out)
    out.close()
    text = open(out.name, errors="replace").read()
    os.unlink(out.name)
    if isinstance(tool, Ours):
        ok, errors, _ = tool.run(url, n, c, rundir, text)
    else:
        ok, errors = peer_counts(tool, text)
    shutil.rmtree(rundir, ignore_errors=True)
    if rc != 0 or count is None or errors or not ok:
        name = tool.name if isinstance(tool, Ours) else tool
        print(f"  {name} ({how}): failed (exit code {rc}, {errors} errors); last output:\n"
              f"{text[-1000:]}", flush=True)
        return None
    return ok, count


def per_request(tool, url, c, how, small, large, profile_out=None):
    """Marginal count per request between a small and a large run (start-up and exit cancel)."""
    a = counted_run(tool, url, small[0], c, small[1], how)
    b = counted_run(tool, url, large[0], c, large[1], how, profile_out=profile_out)
    if not a or not b or b[0] <= a[0]:
        return None
    return (b[1] - a[1]) / (b[0] - a[0]), b[0] - a[0]


def counts_section(nginx, args, iter8):
    """User-space instructions and system calls per request, ours beside wrk."""
    c = args.connections
    scale = 0.2 if args.smoke else 1.0
    # Under Valgrind every client runs some 30-50 times slower (wrk: about 3,000 requests/s).
    insn_small, insn_large = (int(4000 * scale), 2), (int(24000 * scale), 8)
    sys_small, sys_large = (int(40000 * scale), 1), (int(200000 * scale), 5)
    print(f"\n== counts: user-space instructions (callgrind) and system calls per request, "
          f"{c} connections, closed loop; marginal between two runs; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    out = {}
    for kind, title, tools in (("plain", "HTTP/1.1", [Ours(iter8, "uring"), Ours(iter8, "epoll"), "wrk"]),
                               ("tls", "HTTPS HTTP/1.1", [Ours(iter8), "wrk"])):
        url = nginx.url(kind)
        rows = {}
        for tool in tools:
            name = tool.name if isinstance(tool, Ours) else tool
            if name in args.skip:
                continue
            # wrk runs for a time; over TLS its first seconds under Valgrind are handshakes.
            slow = 2 if kind == "tls" else 0
            small = insn_small if isinstance(tool, Ours) else (0, insn_small[1] + slow)
            large = insn_large if isinstance(tool, Ours) else (0, insn_large[1] + 2 * slow)
            prof = None
            if args.profile_dir and isinstance(tool, Ours):
                os.makedirs(args.profile_dir, exist_ok=True)
                prof = os.path.join(args.profile_dir, f"callgrind.{kind}.{name}")
            insn = per_request(tool, url, c, "insn", small, large, profile_out=prof)
            small = sys_small if isinstance(tool, Ours) else (0, sys_small[1])
            large = sys_large if isinstance(tool, Ours) else (0, sys_large[1])
            sysc = per_request(tool, url, c, "sys", small, large)
            rows[name] = (insn, sysc)
            print(f"{title:15} {name:14} user instructions/request "
                  f"{f'{insn[0]:8.0f}' if insn else '     n/a'} (over {insn[1] if insn else 0} requests)"
                  f"   system calls/request {f'{sysc[0]:.3f}' if sysc else 'n/a'}", flush=True)
        w = rows.get("wrk", (None, None))[0]
        for name, (insn, _) in rows.items():
            if name != "wrk" and insn and w:
                print(f"{title}: user instructions per request {name} / wrk = {insn[0] / w[0]:.2f}")
                out[f"{title} {name}"] = insn[0] / w[0]
    return out


def client_pid(time_pid):
    """The program GNU time runs (its only child), or None."""
    try:
        with open(f"/proc/{time_pid}/task/{time_pid}/children") as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except OSError:
        return None


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"VmRSS:\s+(\d+)", f.read())
        return int(m.group(1)) if m else None
    except OSError:
        return None


def established(port):
    out = subprocess.run(["ss", "-Htn", "state", "established", "dst", f"127.0.0.1:{port}"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    return sum(1 for line in out.splitlines() if line.strip())


def idle_run(tool, nginx, kind, conns, secs):
    """Ours holding `conns` connections at 10 req/s for `secs`: (peak KiB, steady KiB, max open)."""
    samples = []
    stop = threading.Event()

    def sampler(time_pid):
        def loop():
            while not stop.wait(0.25):
                pid = client_pid(time_pid)
                if pid:
                    samples.append((established(nginx.port[kind]), rss_kib(pid) or 0))
        threading.Thread(target=loop, daemon=True).start()

    r = run_client(tool, nginx.url(kind), 0, conns, 0, perf=False, h2=tool.http2, qps=10,
                   on_start=sampler, extra_run={"duration": f"{secs}s", "timeout": "120s"})
    stop.set()
    if not r or not samples:
        return None
    most = max(s[0] for s in samples)
    steady = max(s[1] for s in samples if s[0] >= most)
    return r["peak_kib"], steady, most


def idle_section(nginx, args, iter8):
    n, secs = args.idle_connections, args.idle_seconds
    print(f"\n== idle: {n} open connections at 10 req/s for {secs} s (ours; per connection = "
          f"(RSS at {n} - RSS at 1) / {n - 1}), load average {os.getloadavg()[0]:.1f}", flush=True)
    cases = [(Ours(iter8, "uring"), "plain"), (Ours(iter8, "epoll"), "plain"),
             (Ours(iter8), "tls"), (Ours(iter8, http2=True), "tls"), (Ours(iter8, http2=True), "h2c")]
    label = {"plain": "HTTP/1.1", "tls": "TLS", "h2c": "h2c"}
    print(f"{'case':28} {'open':>6} {'steady MiB':>10} {'peak MiB':>9} {'1-conn MiB':>10}"
          f" {'KiB/conn steady':>15} {'KiB/conn peak':>13}")
    results = {}
    for tool, kind in cases:
        proto = "HTTP/2 over TLS" if kind == "tls" and tool.http2 else label[kind]
        name = f"{tool.name} {proto}"
        one = idle_run(tool, nginx, kind, 1, 2)
        many = idle_run(tool, nginx, kind, n, secs)
        if not one or not many:
            print(f"{name:28} failed")
            continue
        per_steady = (many[1] - one[1]) / (n - 1)
        per_peak = (many[0] - one[0]) / (n - 1)
        results[name] = per_steady
        print(f"{name:28} {many[2]:6d} {many[1] / 1024:10.1f} {many[0] / 1024:9.1f} {one[1] / 1024:10.1f}"
              f" {per_steady:15.2f} {per_peak:13.2f}   target <= 16 KiB (steady): "
              f"{'met' if per_steady <= 16 else 'NOT MET'}"
              f"{'' if many[2] >= n else f'  (only {many[2]} of {n} open)'}", flush=True)
    return results


class CpuShares:
    """Fixed CPU shares on a shared machine: a parent cgroup with the largest weight the kernel
    allows (so the machine's other work, at the default weight, takes at most a few per cent of
    a core from it), and children of equal weight for the generator, the hog and the server.
    The generator and the hog, both pinned to CPU 0, then split that core evenly however busy
    the rest of the machine is; nginx, alone on CPU 1, gets nearly all of that one. cgroup v2
    (`cpu.weight`) where the cpu controller is there, else v1 (`cpu.shares`)."""

    def __init__(self):
        v2 = "/sys/fs/cgroup"
        v1 = "/sys/fs/cgroup/cpu"
        name = f"iter8-bench-{os.getpid()}"
        if "cpu" in _read(f"{v2}/cgroup.controllers").split():
            self.root, self.file, top, child = f"{v2}/{name}", "cpu.weight", 10000, 100
            self.parent_ctl = f"{v2}/cgroup.subtree_control"
        elif os.path.exists(f"{v1}/cpu.shares"):
            self.root, self.file, top, child = f"{v1}/{name}", "cpu.shares", 262144, 1024
            self.parent_ctl = None
        else:
            raise SystemExit("contention: no cgroup cpu controller (v2 cpu.weight or v1 cpu.shares)")
        os.makedirs(self.root)
        _write(f"{self.root}/{self.file}", top)
        if self.parent_ctl:
            _write(f"{self.root}/cgroup.subtree_control", "+cpu")
        self.groups = {}
        for g in ("gen", "hog", "server"):
            os.makedirs(f"{self.root}/{g}")
            _write(f"{self.root}/{g}/{self.file}", child)
            self.groups[g] = f"{self.root}/{g}/cgroup.procs"

    def wrap(self, group, cmd):
        """cmd started inside `group` (the shell joins it, then execs cmd)."""
        return ["sh", "-c", f'echo $$ > {self.groups[group]} && exec "$@"', "sh"] + cmd

    def move_tree(self, group, pid):
        """Move pid and its descendants into `group`."""
        todo = [pid]
        while todo:
            p = todo.pop()
            try:
                _write(self.groups[group], p)
                todo += [int(k) for k in _read(f"/proc/{p}/task/{p}/children").split()]
            except OSError:
                pass

    def remove(self):
        """Move what is left back to the root and delete the cgroups."""
        top = os.path.dirname(self.root)
        for g in self.groups.values():
            for pid in _read(g).split():
                try:
                    _write(f"{top}/cgroup.procs", pid)
                except OSError:
                    pass
        for g in self.groups:
            try:
                os.rmdir(f"{self.root}/{g}")
            except OSError:
                pass
        try:
            os.rmdir(self.root)
        except OSError as e:
            print(f"contention: could not remove {self.root}: {e}")


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def contention_section(nginx, args, iter8):
    rate, secs, c = args.rate, args.contention_seconds, args.connections
    n = rate * secs
    print(f"\n== contention: {rate} req/s for {n} requests, {c} connections, a busy loop pinned to "
          f"CPU {CLIENT_CPU} (the generator's); fixed CPU shares (cgroup: generator and hog equal "
          f"halves of CPU {CLIENT_CPU}, the pair and nginx weighted far above the machine's other "
          f"work); {args.rounds} round(s), load average {os.getloadavg()[0]:.1f}", flush=True)
    shares = CpuShares()
    shares.move_tree("server", nginx.proc.pid)
    hog = subprocess.Popen(shares.wrap("hog", ["taskset", "-c", CLIENT_CPU, "sh", "-c",
                                               "while :; do :; done"]))
    tools = [t for t in (Ours(iter8, "uring"), Ours(iter8, "epoll"), "fortio") if
             (t.name if isinstance(t, Ours) else t) not in args.skip]
    got = collections.defaultdict(list)
    lag = collections.defaultdict(list)
    cpu = collections.defaultdict(list)
    try:
        for rnd in range(args.rounds):
            order = tools[rnd % len(tools):] + tools[:rnd % len(tools)]
            for tool in order:
                r = run_client(tool, nginx.url("plain"), n, c, secs, perf=False, qps=rate,
                               wrap=lambda cmd: shares.wrap("gen", cmd))
                if r and r.get("achieved"):
                    got[r["name"]].append(r["achieved"])
                    cpu[r["name"]].append(r["cpu"] / r["wall"])
                    if r.get("lag_p99") is not None:
                        lag[r["name"]].append(r["lag_p99"])
    finally:
        hog.kill()
        hog.wait()
        shares.move_tree("server", nginx.proc.pid)
        shares.remove()
    out = {}
    for name, rates in got.items():
        med = statistics.median(rates)
        out[name] = med
        dev = (med / rate - 1) * 100
        extra = f"   generator lag p99 {statistics.median(lag[name]):.2f} ms" if lag[name] else ""
        print(f"{name:14} achieved {med:9.1f} req/s of {rate} ({dev:+.3f} %)   rounds: "
              f"{' '.join(f'{x:.1f}' for x in rates)}   its CPU {statistics.median(cpu[name]) * 100:.0f} %"
              f" of a core{extra}   target within 0.5 %: {'met' if abs(dev) <= 0.5 else 'NOT MET'}",
              flush=True)
    print("(ours: http/achieved-rate, the send schedule kept; Fortio: ActualQPS, requests / "
          "its run time)")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    ap.add_argument("--requests", type=int, default=2_000_000)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved runs of every tool; medians")
    ap.add_argument("--rate", type=int, default=20_000)
    ap.add_argument("--contention-seconds", type=int, default=10)
    ap.add_argument("--idle-connections", type=int, default=10_000)
    ap.add_argument("--idle-seconds", type=int, default=4)
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes (20,000 requests, 1 round, 1,000 idle connections, 2 s)")
    ap.add_argument("--skip", default="", help="comma-separated tools to leave out (e.g. oha)")
    ap.add_argument("--profile-dir", default="",
                    help="counts: keep ours' callgrind profiles here (callgrind_annotate reads them)")
    ap.add_argument("--no-perf", action="store_true", help="skip perf (no kernel share)")
    ap.add_argument("--no-build", action="store_true", help="use the existing target/release/iter8")
    ap.add_argument("--iter8", default="", help="this iter8 binary instead (implies --no-build)")
    ap.add_argument("--no-install", action="store_true", help="do not install missing peers")
    args = ap.parse_args()
    if args.smoke:
        args.requests, args.rounds, args.idle_connections = 20_000, 1, 1_000
        args.contention_seconds, args.idle_seconds = 2, 2
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        ap.error(f"--only: unknown section {bad[0]!r} (known: {', '.join(SECTIONS)})")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.idle_connections * 2 + 2000
    if "idle" in only:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, need)), hard))
        except (ValueError, OSError):
            pass
        if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < args.idle_connections + 100:
            raise SystemExit(f"--idle-connections {args.idle_connections}: the open-file limit is "
                             f"{resource.getrlimit(resource.RLIMIT_NOFILE)[0]} (raise ulimit -Hn)")
    if not args.no_install:
        install_peers()
    if not args.no_build and not args.iter8:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "iter8"], cwd=ROOT, check=True)
    iter8 = os.path.abspath(args.iter8) if args.iter8 else os.path.join(ROOT, "target", "release", "iter8")
    commit = sh_ok(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.strip()
    print(f"bench/http.py at {commit}, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} CPUs, kernel {os.uname().release}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; clients on CPU {CLIENT_CPU}, nginx on "
          f"CPU {SERVER_CPU}")
    tmp = tempfile.mkdtemp()
    nginx = Nginx(tmp, max(args.idle_connections, 1000) if "idle" in only else 1000)
    uring, epoll = Ours(iter8, "uring"), Ours(iter8, "epoll")
    h2ours = Ours(iter8, http2=True)
    try:
        if "h1" in only:
            rows = closed_loop(nginx, "plain", [uring, epoll, "wrk", "oha", "fortio"], args, False,
                               "wrk", 0.9, "HTTP/1.1")
            memory_check(rows)
        if "https" in only:
            rows = closed_loop(nginx, "tls", [Ours(iter8), "wrk", "oha", "fortio"], args, False,
                               "wrk", 0.9, "HTTPS HTTP/1.1")
            memory_check(rows)
        if "h2" in only:
            closed_loop(nginx, "tls", [h2ours, "h2load", "oha", "fortio"], args, True, "h2load", 0.95,
                        "HTTP/2 over TLS")
        if "h2c" in only:
            closed_loop(nginx, "h2c", [h2ours, "h2load", "oha", "fortio"], args, True, "h2load", 0.95,
                        "h2c")
        if "counts" in only:
            counts_section(nginx, args, iter8)
        if "idle" in only:
            idle_section(nginx, args, iter8)
        if "contention" in only:
            contention_section(nginx, args, iter8)
        print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        nginx.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
