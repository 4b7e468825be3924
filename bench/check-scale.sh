#!/bin/sh
# check and replay of the 100,000-exchange capture (docs/performance.md,
# "check and replay of the 100,000-exchange capture"): wall time, CPU, peak
# RSS and exchanges per second of each, one run each.
#   bench/check-scale.sh              records the capture first when missing (~40 s, 1.4 GiB)
#   N=20000 bench/check-scale.sh      a smaller capture
# Work goes to ${BENCH_TMP:-/tmp/check-scale} (needs ~1.5 GiB for the default).
# The capture is 10 KiB POSTs to telemetry.example (not Pants reports), judged
# as the opt-in scenario with the canaries of a real opt-in run, so every
# check runs on every exchange and the canary search has 10 KiB to scan.
set -eu
cd "$(dirname "$0")/.."
B=${BENCH_TMP:-/tmp/check-scale}
N=${N:-100000}
mkdir -p "$B"
go build -o "$B/th" ./cmd/telemetry-harness
go build -o "$B/proxybench" ./bench/proxybench
CAP="$B/scale-$N.jsonl"
if [ ! -s "$CAP" ]; then
	"$B/proxybench" scale -n "$N" -size 10240 -c 8 -keep "$CAP" >"$B/scale.log"
fi
if [ ! -s "$B/o/opt-in/canaries.json" ]; then
	rm -rf "$B/o"
	"$B/th" run --scenario opt-in --out "$B/o" >"$B/run.log" 2>&1 || true
fi
# replay reads a run folder: the output marker, the policy and the capture
# as opt-in's run folder, with the canaries of the real run.
rm -rf "$B/replay"
mkdir -p "$B/replay/opt-in"
cp "$B/o/policy.yaml" "$B/o/.telemetry-harness-output" "$B/replay/"
cp "$B/o/opt-in/canaries.json" "$B/replay/opt-in/"
ln -s "$CAP" "$B/replay/opt-in/capture.jsonl"
exchanges=$(grep -c '"type":"exchange"' "$CAP")

measure() { # name, command...
	name=$1
	shift
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	/usr/bin/time -f '%e %U %S %M' -o "$B/$name.time" "$@" >"$B/$name.out" 2>"$B/$name.err" || true
	# GNU time puts "Command exited with non-zero status 3" first: the
	# numbers are the last line.
	echo "$name $(tail -n 1 "$B/$name.time") $load" | awk -v n="$exchanges" '{
		printf "%-7s %8.1f s wall  %6.1f s user  %5.1f s sys  %7.1f MiB peak RSS  %8.0f exchanges/s  (load %s %s %s)\n",
			$1, $2, $3, $4, $5/1024, n/$2, $6, $7, $8 }'
}

echo "capture: $CAP, $exchanges exchanges, $(du -hL "$CAP" | cut -f1)"
measure check "$B/th" check --policy "$B/o/policy.yaml" --scenario opt-in --capture "$CAP" --canaries "$B/o/opt-in/canaries.json"
measure replay "$B/th" replay --scenario opt-in "$B/replay"
