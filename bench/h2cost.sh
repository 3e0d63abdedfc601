#!/usr/bin/env bash
# Client CPU per request (user + sys) of our load generator beside h2load (HTTP/2 over TLS, h2c)
# and wrk (HTTP/1.1 plain and over TLS), against nginx on loopback. Not a test.
#
# nginx runs on CPU 1, every client on CPU 0; 16 connections, full speed (closed loop), one
# request in flight per connection (h2load -m1); TLS 1.3 with one cipher (nginx allows only
# TLS_AES_128_GCM_SHA256). Rounds are interleaved; medians are printed with ratios.
#
# usage: bench/h2cost.sh [ITER8_BINARY] (env: N requests per run, ROUNDS, CASES="h2c h2 https http")
# Peers: h2load (Debian nghttp2-client), wrk and nginx (Debian), /usr/bin/time (Debian time).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
iter8=${1:-$root/target/release/iter8}
N=${N:-300000}
ROUNDS=${ROUNDS:-5}
CASES=${CASES:-"h2c h2 https http"}
C=16
for t in h2load wrk nginx /usr/bin/time taskset; do
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

# cpu_us <requests> <command...>: client CPU per request in µs (user + sys of the command).
cpu_us() {
  local n=$1; shift
  /usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c 0 "$@" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; return 1; }
  awk -v n="$n" '{ printf "%.2f", ($1 + $2) / n * 1e6 }' "$tmp/time"
}
ours() {  # ours <url> [extra --set ...]
  local url=$1; shift
  rm -rf "$tmp/run"; mkdir -p "$tmp/run"
  cpu_us "$N" "$iter8" launch --runDir "$tmp/run" --set 'tasks={http}' --set "http.url=$url" \
    --set "http.numRequests=$N" --set "http.connections=$C" --set http.qps=0 "$@"
  # Every request must have succeeded (the value list under nonHistMetricValues).
  grep -A1 "http/error-count:$" "$tmp/run/experiment.yaml" | grep -q -- "- 0.0$" \
    || echo "ours: errors in $url" >&2
}
peer_h2load() { cpu_us "$N" h2load -n "$N" -c "$C" -m 1 -t 1 "$1"; }
peer_wrk() {  # wrk is duration-based: requests are read from its output
  /usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c 0 wrk -t1 -c"$C" -d"${WRK_SECS:-8}s" "$1" >"$tmp/out" 2>&1
  local n; n=$(awk '/requests in/ { print $1 }' "$tmp/out")
  awk -v n="$n" '{ printf "%.2f", ($1 + $2) / n * 1e6 }' "$tmp/time"
}

declare -A res
for r in $(seq "$ROUNDS"); do
  for c in $CASES; do
    case $c in
      h2c) a=$(ours "http://127.0.0.1:$P_H2C/" --set http.http2=true); b=$(peer_h2load "http://127.0.0.1:$P_H2C/") ;;
      h2) a=$(ours "https://localhost:$P_H2/" --set http.http2=true --set http.insecureSkipVerify=true)
          b=$(peer_h2load "https://localhost:$P_H2/") ;;
      https) a=$(ours "https://localhost:$P_HTTPS/" --set http.insecureSkipVerify=true); b=$(peer_wrk "https://localhost:$P_HTTPS/") ;;
      http) a=$(ours "http://127.0.0.1:$P_HTTP/"); b=$(peer_wrk "http://127.0.0.1:$P_HTTP/") ;;
    esac
    res[$c]="${res[$c]:-} $a/$b"
    echo "round $r $c: ours $a us/req, peer $b us/req, ratio $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.3f", a/b}')"
  done
done
echo "== medians over $ROUNDS rounds, $N requests (wrk: ${WRK_SECS:-8} s), $C connections, client on CPU 0, nginx on CPU 1"
for c in $CASES; do
  echo "${res[$c]}" | tr ' ' '\n' | grep / | awk -F/ -v c="$c" '
    { a[NR]=$1; b[NR]=$2; q[NR]=$1/$2 }
    function med(x, n,   i, j, t) { for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (x[j]<x[i]) { t=x[i]; x[i]=x[j]; x[j]=t }
      return (n%2) ? x[(n+1)/2] : (x[n/2]+x[n/2+1])/2 }
    END { n=NR; printf "%-6s ours %.2f us/req  peer %.2f us/req  ratio of medians %.3f  median paired ratio %.3f\n",
      c, med(a,n), med(b,n), med(a,n)/med(b,n), med(q,n) }'
done
