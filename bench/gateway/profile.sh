#!/usr/bin/env bash
# CPU profile of `shipsafe gateway` under wrk load, with the same two backends, routes and
# request as run.sh (95/5 split, OIP inference POST or plain GET). Prints pprof's top
# functions and leaves the profile in $OUT (default /tmp/shipsafe-gateway.pprof).
#
# Usage: bench/gateway/profile.sh     knobs: DURATION=10s CONNS=64 THREADS=2 MODE=infer|get
#        PORT_BASE=19200 OUT=/tmp/shipsafe-gateway.pprof SHIPSAFE_BIN=path TOP=40
# Only listens on 127.0.0.1 and stops everything it starts.
set -euo pipefail

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
MODE=${MODE:-infer}
PORT_BASE=${PORT_BASE:-19200}
OUT=${OUT:-/tmp/shipsafe-gateway.pprof}
TOP=${TOP:-40}

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/shipsafe-gwprof.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }

P_BACK1=$PORT_BASE; P_BACK2=$((PORT_BASE + 1)); P_GW=$((PORT_BASE + 2))
if [ -n "${SHIPSAFE_BIN:-}" ]; then cp "$SHIPSAFE_BIN" "$WORK/shipsafe"; else (cd "$ROOT" && go build -o "$WORK/shipsafe" ./cmd/shipsafe); fi
(cd "$ROOT" && go build -o "$WORK/backend" ./bench/gateway/backend)

"$WORK/backend" -listen "127.0.0.1:$P_BACK1" -version stable -label 0 >"$WORK/b1.log" 2>&1 & PIDS+=($!)
"$WORK/backend" -listen "127.0.0.1:$P_BACK2" -version canary -label 1 >"$WORK/b2.log" 2>&1 & PIDS+=($!)
cat >"$WORK/routes.yaml" <<YAML
defaultService: detector
services:
  detector:
    idempotent: true
    revisions:
      - {name: stable, weight: 95, endpoints: ["127.0.0.1:$P_BACK1"]}
      - {name: canary, weight: 5, endpoints: ["127.0.0.1:$P_BACK2"]}
YAML
if [ "$MODE" = infer ]; then
  REQ_PATH=/v2/models/detector/infer
  cat >"$WORK/req.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs":[{"name":"image","datatype":"FP32","shape":[1,4],"data":[0.1,0.2,0.3,0.4]}]}'
LUA
else
  REQ_PATH=/
  echo "" >"$WORK/req.lua"
fi
for p in $P_BACK1 $P_BACK2; do
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done
# Warm up without the profiler, then profile a fresh process for the measured run only.
"$WORK/shipsafe" gateway --listen "127.0.0.1:$P_GW" --routes "$WORK/routes.yaml" --log-level warn --cpu-profile "$OUT" >"$WORK/gw.log" 2>&1 &
GW=$!
PIDS+=($GW)
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$P_GW") 2>/dev/null && break; sleep 0.1; done
wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$WORK/req.lua" "http://127.0.0.1:$P_GW$REQ_PATH" | grep -E "Requests/sec|Latency  |99%"
kill -TERM "$GW"
wait "$GW" 2>/dev/null || true
echo "profile: $OUT ($MODE, $DURATION, $CONNS connections)"
go tool pprof -top -nodecount="$TOP" "$WORK/shipsafe" "$OUT" 2>/dev/null | sed -n '1,'"$((TOP + 6))"'p'
