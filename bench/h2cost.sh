#!/usr/bin/env bash
# Client CPU per request (user + sys) of our load generator beside h2load (HTTP/2 over TLS, h2c)
# and wrk (HTTP/1.1 plain and over TLS), against nginx on loopback. Not a test.
#
# nginx runs on CPU 1, every client on CPU 0; 16 connections, full speed (closed loop), one
# request in flight per connection (h2load -m1); TLS 1.3 with one cipher (nginx allows only
# TLS_AES_128_GCM_SHA256). Rounds are interleaved; medians are printed with ratios.
#
# usage: bench/h2cost.sh [ITER8_BINARY] (env: N requests per run, ROUNDS, CASES="h2c h2 https http",
# BEFORE=another iter8 binary to run beside it, e.g. a build of the previous commit)
# Peers: h2load (Debian nghttp2-client), wrk and nginx (Debian). CPU from getrusage (python3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
iter8=${1:-$root/target/release/iter8}
N=${N:-200000}
ROUNDS=${ROUNDS:-5}
CASES=${CASES:-"h2c h2 https http"}
C=16
for t in h2load wrk nginx python3 taskset; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "missing $t" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$tmp"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P_HTTP=$(port); P_H2C=$(port); P_H2=$(port); P_HTTPS=$(port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/key.pem" \
  -out "$tmp/cert.pem" -days 2 -subj /CN=localhost 2>/dev/null
cat >"$tmp/nginx.conf" <<EOF
daemon on; worker_processes 1; pid $tmp/nginx.pid; error_log $tmp/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000;
  ssl_protocols TLSv1.3; ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
  ssl_certificate $tmp/cert.pem; ssl_certificate_key $tmp/key.pem;
  server { listen 127.0.0.1:$P_HTTP backlog=4096; location / { return 200 "hello\n"; } }
  server { listen 127.0.0.1:$P_H2C http2; location / { return 200 "hello\n"; } }
  server { listen 127.0.0.1:$P_H2 ssl http2; location / { return 200 "hello\n"; } }
  server { listen 127.0.0.1:$P_HTTPS ssl; location / { return 200 "hello\n"; } }
}
EOF
taskset -c 1 "$(command -v nginx || echo /usr/sbin/nginx)" -c "$tmp/nginx.conf" -p "$tmp" 2>"$tmp/start.log" \
  || { cat "$tmp/start.log" >&2; exit 1; }
sleep 0.5

# rusage <command...>: run it on CPU 0, write "user sys" seconds (getrusage, µs resolution).
rusage() {
  python3 - "$@" >"$tmp/time" <<'PY'
import resource, subprocess, sys
rc = subprocess.run(["taskset", "-c", "0"] + sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT).returncode
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(r.ru_utime, r.ru_stime, rc)
PY
}
# cpu_us <requests> <command...>: client CPU per request in µs (user + sys of the command).
cpu_us() {
  local n=$1; shift
  rusage "$@"
  awk -v n="$n" '$3 != 0 { exit 1 } { printf "%.2f", ($1 + $2) / n * 1e6 }' "$tmp/time" || { echo "failed: $*" >&2; return 1; }
}
ours() {  # ours <binary> <url> [extra --set ...]
  local bin=$1 url=$2; shift 2
  rm -rf "$tmp/run"; mkdir -p "$tmp/run"
  cpu_us "$N" "$bin" launch --runDir "$tmp/run" --set 'tasks={http}' --set "http.url=$url" \
    --set "http.numRequests=$N" --set "http.connections=$C" --set http.qps=0 "$@"
  # Every request must have succeeded (the value list under nonHistMetricValues).
  grep -A1 "http/error-count:$" "$tmp/run/experiment.yaml" | grep -q -- "- 0.0$" \
    || echo "ours: errors in $url" >&2
}
peer_h2load() { cpu_us "$N" h2load -n "$N" -c "$C" -m 1 -t 1 "$1"; }
peer_wrk() {  # wrk is duration-based: requests are read from its output
  local n; n=$(python3 - "$1" "$tmp/time" "${WRK_SECS:-8}" "$C" <<'PY'
import re, resource, subprocess, sys
url, out, secs, c = sys.argv[1:]
p = subprocess.run(["taskset", "-c", "0", "wrk", "-t1", f"-c{c}", f"-d{secs}s", url], capture_output=True, text=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(out, "w").write(f"{r.ru_utime} {r.ru_stime} {p.returncode}\n")
print(re.search(r"(\d+) requests in", p.stdout).group(1))
PY
)
  awk -v n="$n" '{ printf "%.2f", ($1 + $2) / n * 1e6 }' "$tmp/time"
}

ours_case() {  # ours_case <binary> <case>
  case $2 in
    h2c) ours "$1" "http://127.0.0.1:$P_H2C/" --set http.http2=true ;;
    h2) ours "$1" "https://localhost:$P_H2/" --set http.http2=true --set http.insecureSkipVerify=true ;;
    https) ours "$1" "https://localhost:$P_HTTPS/" --set http.insecureSkipVerify=true ;;
    http) ours "$1" "http://127.0.0.1:$P_HTTP/" ;;
  esac
}
peer_case() {
  case $1 in
    h2c) peer_h2load "http://127.0.0.1:$P_H2C/" ;;
    h2) peer_h2load "https://localhost:$P_H2/" ;;
    https) peer_wrk "https://localhost:$P_HTTPS/" ;;
    http) peer_wrk "http://127.0.0.1:$P_HTTP/" ;;
  esac
}

declare -A res before
for r in $(seq "$ROUNDS"); do
  for c in $CASES; do
    a=$(ours_case "$iter8" "$c"); b=$(peer_case "$c")
    res[$c]="${res[$c]:-} $a/$b"
    line="round $r $c: ours $a us/req, peer $b us/req, ratio $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.3f", a/b}')"
    if [ -n "${BEFORE:-}" ]; then
      x=$(ours_case "$BEFORE" "$c"); before[$c]="${before[$c]:-} $x/$b"; line="$line; before $x us/req"
    fi
    echo "$line"
  done
done
echo "== medians over $ROUNDS rounds, $N requests (wrk: ${WRK_SECS:-8} s), $C connections, client on CPU 0, nginx on CPU 1"
summary() {  # summary <label> <pairs>
  echo "$2" | tr ' ' '\n' | grep / | awk -F/ -v c="$1" '
    { a[NR]=$1; b[NR]=$2; q[NR]=$1/$2 }
    function med(x, n,   i, j, t) { for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (x[j]<x[i]) { t=x[i]; x[i]=x[j]; x[j]=t }
      return (n%2) ? x[(n+1)/2] : (x[n/2]+x[n/2+1])/2 }
    END { n=NR; printf "%-15s ours %.2f us/req  peer %.2f us/req  ratio of medians %.3f  median paired ratio %.3f\n",
      c, med(a,n), med(b,n), med(a,n)/med(b,n), med(q,n) }'
}
for c in $CASES; do
  summary "$c" "${res[$c]}"
  [ -z "${BEFORE:-}" ] || summary "$c (before)" "${before[$c]}"
done
