#!/usr/bin/env bash
# CPU of an idle `shipsafe up` against the number of Healthy rollouts it holds (issue: an
# idle rollout should cost nothing until something changes). For each N it starts `up` on a
# fresh data dir (loopback, free ports), applies N canary rollouts with replicas: 0, waits
# until all are Healthy, lets it settle, then samples the CPU time of the control plane (up)
# and of the data plane over WINDOW seconds from /proc.
#
#   bench/controlplane/idle.sh            # N = 10 100 1000, 30 s windows
#   COUNTS="10 100" WINDOW=10 bench/controlplane/idle.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNTS=${COUNTS:-"10 100 1000"}
WINDOW=${WINDOW:-30}
SETTLE=${SETTLE:-10}
work=$(mktemp -d)
bin=$work/shipsafe
up_pid=""
cleanup() {
  if [[ -n $up_pid ]] && kill -0 "$up_pid" 2>/dev/null; then kill -TERM "$up_pid"; wait "$up_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$bin" ./cmd/shipsafe
hz=$(getconf CLK_TCK)
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

manifest() { # N rollouts, no replicas: nothing runs, nothing changes
  for i in $(seq 1 "$1"); do cat <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: idle-$i}
spec:
  replicas: 0
  selector: {matchLabels: {app: idle-$i}}
  template:
    metadata: {labels: {app: idle-$i}}
    spec:
      containers:
      - name: app
        image: shipsafe/shipsafe:dev
        command: ["shipsafe", "detector", "serve", "--addr", "127.0.0.1:\$(PORT)"]
  strategy:
    canary:
      steps: [{setWeight: 50}, {pause: {duration: 10}}]
YAML
  done
}

printf '%-9s %-12s %-14s %-16s\n' rollouts "up cores" "dataplane cores" "up ms/rollout/s"
for n in $COUNTS; do
  dir=$work/data-$n
  mkdir -m 700 "$dir"
  "$bin" up --data-dir "$dir" --api 127.0.0.1:0 --listen 127.0.0.1:0 >"$work/up-$n.out" 2>&1 &
  up_pid=$!
  for _ in $(seq 1 100); do [[ -s $dir/api.json && -s $dir/dataplane.json ]] && break; sleep 0.2; done
  manifest "$n" >"$work/m-$n.yaml"
  "$bin" apply --data-dir "$dir" -f "$work/m-$n.yaml" >/dev/null
  for _ in $(seq 1 300); do
    healthy=$("$bin" get --data-dir "$dir" 2>/dev/null | grep -c Healthy || true)
    [[ $healthy -ge $n ]] && break
    sleep 1
  done
  sleep "$SETTLE"
  dp_pid=$(grep -o '"pid":[0-9]*' "$dir/dataplane.json" | cut -d: -f2)
  u0=$(cputicks "$up_pid"); d0=$(cputicks "$dp_pid")
  sleep "$WINDOW"
  u1=$(cputicks "$up_pid"); d1=$(cputicks "$dp_pid")
  awk -v n="$n" -v u=$((u1 - u0)) -v d=$((d1 - d0)) -v hz="$hz" -v w="$WINDOW" -v h="$healthy" 'BEGIN {
    printf "%-9s %-12.3f %-14.3f %-16.4f (%d Healthy)\n", n, u/hz/w, d/hz/w, 1000*u/hz/w/n, h }'
  kill -TERM "$up_pid"; wait "$up_pid" 2>/dev/null || true; up_pid=""
done
