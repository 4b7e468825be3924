#!/bin/sh
# `run` against the bundled reference with and without --differential:
# wall time and CPU time (user+sys of the harness and every tool it ran),
# REPS reps each, interleaved so machine load hits both alike
# (docs/differential.md, "What it costs").
#   bench/differential.sh            3 reps each
#   REPS=5 PARALLEL=2 bench/differential.sh
# Outputs go to ${BENCH_TMP:-/tmp/differential-bench}: times.tsv (every rep,
# then the medians and the ratio).
set -eu
cd "$(dirname "$0")/.."
B=${BENCH_TMP:-/tmp/differential-bench}
REPS=${REPS:-3}
PARALLEL=${PARALLEL:-4}
mkdir -p "$B"
go build -o "$B/th" ./cmd/telemetry-harness
printf 'mode\trep\twall_s\tcpu_s\texit\n' >"$B/times.tsv"
for rep in $(seq 1 "$REPS"); do
	for mode in plain differential; do
		flag=""
		[ "$mode" = differential ] && flag="--differential"
		rc=0
		# GNU time: %e wall, %U+%S CPU of the harness and its waited-for children.
		/usr/bin/time -f "%e %U %S" -o "$B/time.$mode" "$B/th" run --parallel "$PARALLEL" --out "$B/out-$mode" $flag >"$B/log-$mode" 2>&1 || rc=$?
		read -r wall user sys <"$B/time.$mode"
		printf '%s\t%s\t%s\t%s\t%s\n' "$mode" "$rep" "$wall" "$(echo "$user + $sys" | bc)" "$rc" >>"$B/times.tsv"
	done
done
python3 - "$B/times.tsv" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
med = {}
for mode in ("plain", "differential"):
    w = [float(r[2]) for r in rows if r[0] == mode]
    c = [float(r[3]) for r in rows if r[0] == mode]
    med[mode] = (statistics.median(w), statistics.median(c))
with open(sys.argv[1], "a") as f:
    for mode, (w, c) in med.items():
        f.write(f"median\t{mode}\t{w:.2f}\t{c:.2f}\t\n")
    f.write(f"ratio\tdifferential/plain\t{med['differential'][0] / med['plain'][0]:.2f}\t{med['differential'][1] / med['plain'][1]:.2f}\t\n")
PY
cat "$B/times.tsv"
