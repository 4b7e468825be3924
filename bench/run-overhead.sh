#!/bin/sh
# Full `run` against the reference, timed, beside the same tool invocations
# run bare (no harness, no proxy), for the harness overhead ratio
# (docs/performance.md, "Full run against the reference").
#   bench/run-overhead.sh                  3 reps each of: run --seal on, run --seal off, bare
#   REPS=1 bench/run-overhead.sh           one rep each
# Builds and outputs go to ${BENCH_TMP:-/tmp/run-overhead}.
#
# Bare: one `run --keep` gives, per scenario run, the kept working folder and
# the exact environment and argv the harness used (its "rerun the tool by
# hand" lines). Each bare rep copies the kept folder (repo + home) afresh and
# runs the argv with that environment minus the harness's proxy, scenarios
# PARALLEL at once (the harness's --parallel default, 2), a scenario's runs
# in order. The timing waits until stdout and stderr close, so a background
# sender that inherited them is waited for too. Without a proxy the
# reference refuses to connect (PANTS_REF_ALLOW_DIRECT is not set), so its
# background sender fails fast instead of sending: the bare time is a lower
# bound of the tool's own cost.
set -eu
cd "$(dirname "$0")/.."
B=${BENCH_TMP:-/tmp/run-overhead}
REPS=${REPS:-3}
PARALLEL=${PARALLEL:-2}
mkdir -p "$B"
go build -o "$B/th" ./cmd/telemetry-harness

load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }

: >"$B/times.tsv"
for rep in $(seq "$REPS"); do
	for seal in on off; do
		rm -rf "$B/out-$seal"
		l=$(load)
		t0=$(now)
		"$B/th" run --seal "$seal" --parallel "$PARALLEL" --out "$B/out-$seal" >"$B/run-$seal.log" 2>&1 || true
		t1=$(now)
		printf 'harness-seal-%s\t%s\t%s\n' "$seal" "$(echo "$t1 - $t0" | bc)" "$l" | tee -a "$B/times.tsv"
	done
done

rm -rf "$B/keep"
"$B/th" run --keep --parallel "$PARALLEL" --out "$B/keep" >"$B/keep.log" 2>&1 || true
REAL_PY=$(python3 -c 'import sys;print(sys.executable)')
python3 - "$B" "$REPS" "$PARALLEL" "$REAL_PY" <<'EOF' | tee -a "$B/times.tsv"
import concurrent.futures, os, re, shlex, shutil, subprocess, sys, tempfile, time
b, reps, par, real_py = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lines = open(os.path.join(b, "keep.log")).read().splitlines()
runs = {}  # scenario -> [(out, dir, env, argv)]
for line in lines:
    line = line.strip()
    if not line.startswith("cd ") or " record --out " not in line:
        continue
    w = shlex.split(line)
    d = w[1]
    i = w.index("-i")
    j = i + 1
    env = {}
    while "=" in w[j] and not w[j].startswith("/"):
        k, v = w[j].split("=", 1)
        env[k] = v
        j += 1
    out = w[w.index("--out", j) + 1]
    argv = w[w.index("--", j) + 1:]
    if argv and os.path.basename(argv[0]).startswith("python") and "shims" in argv[0]:
        argv[0] = real_py  # never time a pyenv shim
    rel = os.path.relpath(out, os.path.join(b, "keep"))
    scen = rel.split(os.sep)[0]
    runs.setdefault(scen, []).append((rel, d, env, argv))
for s in runs:
    runs[s].sort()
if not runs:
    sys.exit("no kept runs in keep.log")

def scenario(s):
    for rel, d, env, argv in runs[s]:
        # d is <parent>/<repo>/<project>; copy the parent (repo and home).
        parent = os.path.dirname(os.path.dirname(d))
        tmp = tempfile.mkdtemp(prefix="bare-", dir=b)
        cp = os.path.join(tmp, "w")
        shutil.copytree(parent, cp, symlinks=True)
        e = dict(env)
        homes = [n for n in os.listdir(cp) if n.startswith("cnryhome")]
        if homes:
            e["HOME"] = os.path.join(cp, homes[0])
        cwd = os.path.join(cp, os.path.relpath(d, parent))
        subprocess.run(argv, cwd=cwd, env=e, stdin=subprocess.DEVNULL, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

for rep in range(reps):
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(par) as ex:
        list(ex.map(scenario, sorted(runs)))
    print(f"bare\t{time.monotonic() - t0:.3f}\t{load}", flush=True)
EOF

python3 - "$B/times.tsv" <<'EOF'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    k, v, _ = line.rstrip("\n").split("\t")
    t.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in t.items()}
for k, v in sorted(med.items()):
    print(f"{k}: median {v:.2f} s of {len(t[k])} ({', '.join(f'{x:.2f}' for x in t[k])})")
for k in ("harness-seal-on", "harness-seal-off"):
    if k in med and "bare" in med:
        print(f"{k}/bare: {med[k] / med['bare']:.2f}x")
EOF
