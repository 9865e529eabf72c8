#!/usr/bin/env bash
# Runs the flag-evaluation benchmarks side by side: shipsafe's compiled evaluator
# (internal/flags) and the interpreted JSON Logic baseline shaped like flagd's evaluator
# (bench/flags/jsonlogicbase, its own module). One CPU (-cpu 1); COUNT repeats (default 5).
#
# RT=1 (root only) runs each benchmark binary at real-time priority pinned to CPU 1
# (chrt -f 50 taskset -c 1), so that on a shared, overloaded machine the wall-clock ns/op
# is not inflated by other processes. Every run also reports cpu-ns/op (getrusage).
set -euo pipefail
cd "$(dirname "$0")/../.."
count="${COUNT:-5}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/flags.test" ./internal/flags/
(cd bench/flags/jsonlogicbase && go test -c -o "$tmp/baseline.test" .)
run=()
if [ "${RT:-0}" = 1 ]; then run=(chrt -f 50 taskset -c 1); fi
echo "# $(go version); $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg); RT=${RT:-0}"
for bin in flags baseline; do
  "${run[@]}" "$tmp/$bin.test" -test.run '^$' -test.bench . -test.benchmem -test.cpu 1 -test.count "$count"
done
