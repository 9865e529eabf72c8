#!/usr/bin/env bash
# Runs the flag-evaluation benchmarks side by side: shipsafe's compiled evaluator
# (internal/flags) and the interpreted JSON Logic baseline shaped like flagd's evaluator
# (bench/flags/jsonlogicbase, its own module). Pinned to one CPU (-cpu 1); COUNT repeats.
set -euo pipefail
cd "$(dirname "$0")/../.."
count="${COUNT:-5}"
echo "# $(go version); $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
go test -run '^$' -bench . -benchmem -cpu 1 -count "$count" ./internal/flags/
(cd bench/flags/jsonlogicbase && go test -run '^$' -bench . -benchmem -cpu 1 -count "$count" .)
