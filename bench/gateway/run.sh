#!/usr/bin/env bash
# Compares shipsafe's gateway with nginx and haproxy as reverse proxies in front of the same
# two tiny backends with a 95/5 split, on loopback, one proxy at a time, interleaved over
# ROUNDS rounds in rotating order. Prints the median rps, p50/p99, total errors and CPU time
# per request of each, and as its last line "shipsafe/nginx rps ratio: X.XX", the median of
# the per-round ratios (each round measures both, minutes apart at most, so background load
# on a shared machine cancels better than in a ratio of medians).
#
# Usage: bench/gateway/run.sh            (from the repository root or anywhere inside it)
# Knobs (environment): DURATION=5s CONNS=64 THREADS=2 ROUNDS=5 MODE=infer|get PORT_BASE=19100
#   SHIPSAFE_ENV="GOMAXPROCS=1" passes environment settings to the shipsafe process;
#   SHIPSAFE_BIN=path uses a prebuilt shipsafe binary instead of building ./cmd/shipsafe.
# Installs Debian's wrk, nginx-light and haproxy with apt-get when missing. Everything it
# starts is stopped on exit; it only listens on 127.0.0.1.
set -euo pipefail

DURATION=${DURATION:-5s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-5}
MODE=${MODE:-infer}
PORT_BASE=${PORT_BASE:-19100}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/shipsafe-gwbench.XXXXXX")
PIDS=()

cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
command -v haproxy >/dev/null || need+=(haproxy)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} with apt-get" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

P_BACK1=$PORT_BASE; P_BACK2=$((PORT_BASE + 1))
P_NGINX=$((PORT_BASE + 2)); P_HAPROXY=$((PORT_BASE + 3)); P_SHIPSAFE=$((PORT_BASE + 4))

echo "building shipsafe and the bench backend" >&2
if [ -n "${SHIPSAFE_BIN:-}" ]; then
  cp "$SHIPSAFE_BIN" "$WORK/shipsafe"
else
  (cd "$ROOT" && go build -o "$WORK/shipsafe" ./cmd/shipsafe)
fi
(cd "$ROOT" && go build -o "$WORK/backend" ./bench/gateway/backend)

declare -A PID_OF
start() { # start NAME CMD... ; runs in the background, remembers the pid
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  PID_OF[$name]=$!
}

# cpu_ticks PID: user+system clock ticks used so far by PID and its direct children
# (nginx's workers are children of its master).
cpu_ticks() {
  local total=0 t
  for p in "$1" $(pgrep -P "$1" || true); do
    t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}

wait_port() { # wait_port PORT NAME
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not start listening on 127.0.0.1:$1; its log:" >&2
  cat "$WORK/$2.log" >&2 || true
  exit 1
}

start backend1 "$WORK/backend" -listen "127.0.0.1:$P_BACK1" -version stable -label 0
start backend2 "$WORK/backend" -listen "127.0.0.1:$P_BACK2" -version canary -label 1

mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  upstream backends {
    server 127.0.0.1:$P_BACK1 weight=95;
    server 127.0.0.1:$P_BACK2 weight=5;
    keepalive 256;
  }
  server {
    listen 127.0.0.1:$P_NGINX;
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
start nginx nginx -p "$WORK/nginx" -c "$WORK/nginx.conf" -g 'daemon off;'

cat >"$WORK/haproxy.cfg" <<EOF
global
  nbthread 2
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:$P_HAPROXY
  default_backend be
backend be
  balance roundrobin
  http-reuse always
  server stable 127.0.0.1:$P_BACK1 weight 95
  server canary 127.0.0.1:$P_BACK2 weight 5
EOF
start haproxy haproxy -f "$WORK/haproxy.cfg"

cat >"$WORK/routes.yaml" <<EOF
defaultService: detector
services:
  detector:
    idempotent: true
    revisions:
      - name: stable
        weight: 95
        endpoints: ["127.0.0.1:$P_BACK1"]
      - name: canary
        weight: 5
        endpoints: ["127.0.0.1:$P_BACK2"]
EOF
start shipsafe env ${SHIPSAFE_ENV:-X=1} "$WORK/shipsafe" gateway --listen "127.0.0.1:$P_SHIPSAFE" --routes "$WORK/routes.yaml" --log-level warn

for p in "$P_BACK1:backend1" "$P_BACK2:backend2" "$P_NGINX:nginx" "$P_HAPROXY:haproxy" "$P_SHIPSAFE:shipsafe"; do
  wait_port "${p%%:*}" "${p##*:}"
done

if [ "$MODE" = infer ]; then
  REQ_PATH=/v2/models/detector/infer
  cat >"$WORK/req.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs":[{"name":"image","datatype":"FP32","shape":[1,4],"data":[0.1,0.2,0.3,0.4]}]}'
EOF
else
  REQ_PATH=/
  echo "" >"$WORK/req.lua"
fi

# to_ms: wrk latency ("950.00us", "3.12ms", "1.20s") on stdin -> milliseconds
to_ms() {
  awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /ms$/) v = v; else if ($1 ~ /s$/) v *= 1000; printf "%.2f", v }'
}

# bench NAME PORT -> prints "rps p50 p99 errors cpu_us_per_request"
bench() {
  local out t0 t1 reqs
  t0=$(cpu_ticks "${PID_OF[$1]}")
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$WORK/req.lua" "http://127.0.0.1:$2$REQ_PATH" 2>&1)
  t1=$(cpu_ticks "${PID_OF[$1]}")
  echo "$out" >>"$WORK/$1.wrk"
  local rps p50 p99 non2xx sock
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out" | to_ms)
  p99=$(awk '$1=="99%" {print $2}' <<<"$out" | to_ms)
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  sock=$(awk '/Socket errors:/ {gsub(",",""); print $4+$6+$8+$10}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  local cpu
  cpu=$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v n="${reqs:-0}" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')
  echo "${rps:-0} ${p50:-?} ${p99:-?} $(( ${non2xx:-0} + ${sock:-0} )) $cpu"
}

# Warm every proxy's upstream connections before measuring.
for p in $P_NGINX $P_HAPROXY $P_SHIPSAFE; do
  wrk -t1 -c"$CONNS" -d1s -s "$WORK/req.lua" "http://127.0.0.1:$p$REQ_PATH" >/dev/null 2>&1
done

declare -A RESULTS
RATIOS=()
NAMES=(nginx haproxy shipsafe)
for r in $(seq 1 "$ROUNDS"); do
  # Rotate the order each round so that drifting background load hits every proxy alike.
  for k in 0 1 2; do
    name=${NAMES[$(((k + r) % 3))]}
    case $name in nginx) port=$P_NGINX ;; haproxy) port=$P_HAPROXY ;; shipsafe) port=$P_SHIPSAFE ;; esac
    RESULTS[$name,$r]=$(bench "$name" "$port")
    echo "round $r $name: ${RESULTS[$name,$r]}" >&2
  done
  RATIOS+=("$(awk -v s="${RESULTS[shipsafe,$r]%% *}" -v n="${RESULTS[nginx,$r]%% *}" 'BEGIN { printf "%.4f", (n > 0 ? s / n : 0) }')")
done

# median of a column over the rounds for one proxy
median_of() { # median_of NAME FIELD
  for r in $(seq 1 "$ROUNDS"); do echo "${RESULTS[$1,$r]}"; done | awk -v f="$2" '{print $f}' |
    sort -g | sed -n "$(((ROUNDS + 1) / 2))p"
}

echo
echo "gateway benchmark: MODE=$MODE ($REQ_PATH) conns=$CONNS threads=$THREADS duration=$DURATION rounds=$ROUNDS, split 95/5, $(nproc) cores"
echo "(medians over rounds; cpu/req = the proxy's own CPU time per request, user+system, all threads and workers)"
printf '%-10s %12s %10s %10s %8s %14s\n' proxy rps p50 p99 errors "cpu/req (us)"
for name in nginx haproxy shipsafe; do
  errs=0
  for r in $(seq 1 "$ROUNDS"); do errs=$((errs + $(awk '{print $4}' <<<"${RESULTS[$name,$r]}"))); done
  printf '%-10s %12s %9sms %9sms %8s %14s\n' "$name" "$(median_of $name 1)" "$(median_of $name 2)" \
    "$(median_of $name 3)" "$errs" "$(median_of $name 5)"
done
echo "per-round shipsafe/nginx rps ratios: ${RATIOS[*]}"
# What shipsafe recorded (so nobody wins by recording nothing): requests per revision and,
# in infer mode, predictions per revision and label, from its own /metrics.
curl -s "http://127.0.0.1:$P_SHIPSAFE/metrics" | awk '
  /^shipsafe_requests_total\{/ { split($0, a, "revision=\""); split(a[2], b, "\""); req[b[1]] += $NF }
  /^shipsafe_predictions_total\{/ { split($0, a, "revision=\""); split(a[2], b, "\""); pred[b[1]] += $NF }
  END { for (r in req) printf "shipsafe recorded: revision %s requests %d predictions %d\n", r, req[r], pred[r] }' | sort
printf '%s\n' "${RATIOS[@]}" | sort -g | sed -n "$(((ROUNDS + 1) / 2))p" |
  awk '{ printf "shipsafe/nginx rps ratio: %.2f\n", $1 }'
