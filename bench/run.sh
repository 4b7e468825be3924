#!/bin/sh
# Runs the recording proxy benchmarks on loopback (see docs/performance.md).
#   bench/run.sh                 full matrix: 3 reps, 3 s per throughput run, 30 processes per proc cell (~4-5 min)
#   bench/run.sh -reps 1 -d 1s -proc-runs 5      quick smoke run
#   bench/run.sh -only keepalive-c8 -targets direct,sink
#   SCALE=1 bench/run.sh         the 100,000 x 10 KiB capture instead of the matrix
# Builds go to ${BENCH_TMP:-/tmp/proxybench}; mitmdump is used when installed
# (apt-get install -y mitmproxy), skipped with a note otherwise.
set -eu
cd "$(dirname "$0")/.."
B=${BENCH_TMP:-/tmp/proxybench}
mkdir -p "$B"
go build -o "$B/proxybench" ./bench/proxybench
go build -o "$B/oneshot" ./bench/oneshot
if [ "${SCALE:-}" = 1 ]; then
	exec "$B/proxybench" scale "$@"
fi
exec "$B/proxybench" matrix -oneshot "$B/oneshot" -out "$B/results.jsonl" "$@"
