#!/bin/sh
# Full `run` against the reference, timed, beside the same tool invocations
# run without the harness, for the harness overhead ratio
# (docs/performance.md, "Full run against the reference").
#   bench/run-overhead.sh          3 reps each of: run --seal on, run --seal off, bare, bare-sink
#   REPS=1 bench/run-overhead.sh   one rep each
#   PARALLEL=4 ...                 scenarios at once, for the harness and both bare variants (default 2)
# Builds and outputs go to ${BENCH_TMP:-/tmp/run-overhead}: times.tsv (every
# rep, then the medians and ratios), sends.tsv (what bare-sink's tool sent),
# sink-logs/ (plainsink's log of every bare-sink run).
#
# Both bare variants come from one `run --keep`: per scenario run, the kept
# working folder and the exact environment and argv the harness used (its
# "rerun the tool by hand" lines). Each rep copies the kept folder (repo +
# home) afresh and runs the argv with that environment, scenarios PARALLEL
# at once, a scenario's runs in order, and waits until the run's whole
# process tree is done: stdout and stderr closed, then every process that
# carries the run's marker variable (TELEMETRY_HARNESS_SESSION, as under the
# harness) gone, so the reference's detached background sender is waited for.
#   bare       no proxy at all. The reference refuses to connect
#              (PANTS_REF_ALLOW_DIRECT is not set), so its sender fails at
#              once instead of sending: a lower bound of the tool's cost.
#   bare-sink  the fair baseline: each run gets its own bench/plainsink (a
#              plain HTTPS_PROXY that terminates TLS and answers each host
#              the way the run's policy sink does: status, delay, refuse;
#              no recording, no process tracking, no namespace, no judging,
#              no reports). The proxy variables point at it and the CA
#              variables (the harness's list) at its bundle (system roots
#              plus its throwaway CA, like the harness's). The tool does
#              what it does under the harness: TLS, the POST, and in
#              slow-endpoint its own 5 s timeout against a 10 s delay.
set -eu
cd "$(dirname "$0")/.."
B=${BENCH_TMP:-/tmp/run-overhead}
REPS=${REPS:-3}
PARALLEL=${PARALLEL:-2}
mkdir -p "$B"
go build -o "$B/th" ./cmd/telemetry-harness
go build -o "$B/plainsink" ./bench/plainsink

load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }

: >"$B/times.tsv"
for _ in $(seq "$REPS"); do
	for seal in on off; do
		rm -rf "$B/out-$seal"
		l=$(load)
		t0=$(now)
		"$B/th" run --seal "$seal" --parallel "$PARALLEL" --out "$B/out-$seal" >"$B/run-$seal.log" 2>&1 || true
		t1=$(now)
		printf 'harness-seal-%s\t%s\t%s\n' "$seal" "$(echo "$t1 - $t0" | bc)" "$l" | tee -a "$B/times.tsv"
	done
done

rm -rf "$B/keep" "$B/sink-logs"
"$B/th" run --keep --parallel "$PARALLEL" --out "$B/keep" >"$B/keep.log" 2>&1 || true
REAL_PY=$(python3 -c 'import sys;print(sys.executable)')
python3 - "$B" "$REPS" "$PARALLEL" "$REAL_PY" <<'EOF' | tee -a "$B/times.tsv"
import concurrent.futures, os, re, select, shlex, shutil, signal, subprocess, sys, tempfile, time, uuid
import yaml

b, reps, par, real_py = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lines = open(os.path.join(b, "keep.log")).read().splitlines()
runs = {}  # scenario -> [(rel, dir, env, argv)]
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
    # out is keep/<scenario>[/<run>]/rerun; rel is <scenario>[/<run>].
    rel = os.path.dirname(os.path.relpath(out, os.path.join(b, "keep")))
    scen = rel.split(os.sep)[0]
    runs.setdefault(scen, []).append((rel, d, env, argv))
for s in runs:
    runs[s].sort()
if not runs:
    sys.exit("no kept runs in keep.log")

# Each run's sink answer, as suites/scenario passes it to the proxy: the
# run's sink, else its scenario's, for the policy's endpoint host only.
pol = yaml.safe_load(open(os.path.join(b, "keep", "policy.yaml")))
endpoint = pol["endpoint"]["host"]
expect, answer = {}, {}
for sc in pol["scenarios"]:
    expect[sc["name"]] = (sc.get("expect") or {}).get("reports", "")
    rs = sc.get("runs") or [{"name": None}]
    for r in rs:
        sink = r.get("sink") if r.get("sink") is not None else (sc.get("sink") or {})
        words = [str(sink.get("status") or 200)]
        if sink.get("delay"):
            words.append("delay=" + str(sink["delay"]))
        if sink.get("refuse"):
            words.append("refuse")
        answer[sc["name"] if r["name"] is None else os.path.join(sc["name"], r["name"])] = ",".join(words)

# The variables the harness points at its proxy and bundle
# (proxy/session/env.go: ProxyVariables, NoProxyVariables, CAVariables).
PROXY_VARS = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
NO_PROXY_VARS = ["NO_PROXY", "no_proxy"]
CA_VARS = ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "NIX_SSL_CERT_FILE", "AWS_CA_BUNDLE",
           "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO", "PIP_CERT", "HTTPLIB2_CA_CERTS",
           "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE"]
MARKER = "TELEMETRY_HARNESS_SESSION"

def marked(mark):
    """Pids of live processes whose environment carries MARKER=mark."""
    needle = f"{MARKER}={mark}".encode() + b"\0"
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/environ", "rb") as f:
                if needle in f.read():
                    pids.append(int(p))
        except OSError:
            pass
    return pids

def wait_tree(mark):
    """Waits until no process of the run lives (a zombie's environ reads empty)."""
    while True:
        pids = marked(mark)
        if not pids:
            return
        fds = []
        for p in pids:
            try:
                fds.append(os.pidfd_open(p))
            except OSError:
                pass
        try:
            for fd in fds:
                select.select([fd], [], [])
        finally:
            for fd in fds:
                os.close(fd)

def start_sink(spec, log):
    p = subprocess.Popen([os.path.join(b, "plainsink"), "-answer", f"{endpoint}={spec}", "-log", log],
                         stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    first = p.stdout.readline().split()
    if len(first) != 2:
        p.kill()
        sys.exit(f"plainsink printed {first!r}, want ADDR BUNDLE")
    return p, first[0], first[1]

def one(variant, rep, rel, d, env, argv):
    # d is <parent>/<repo>/<project>; copy the parent (repo and home).
    parent = os.path.dirname(os.path.dirname(d))
    tmp = tempfile.mkdtemp(prefix="bare-", dir=b)
    cp = os.path.join(tmp, "w")
    shutil.copytree(parent, cp, symlinks=True)
    e = dict(env)
    # The kept HOME sits beside the repo copy (its name is a canary, with no
    # fixed prefix): point HOME at its copy.
    home = e.get("HOME", "")
    if home and os.path.dirname(home.rstrip("/")) == parent:
        e["HOME"] = os.path.join(cp, os.path.basename(home.rstrip("/")))
    mark = "bench-" + uuid.uuid4().hex
    e[MARKER] = mark
    sink = None
    if variant == "bare-sink":
        log = os.path.join(b, "sink-logs", f"rep{rep}", rel.replace(os.sep, "--") + ".log")
        sink, addr, bundle = start_sink(answer[rel], log)
        for k in PROXY_VARS:
            e[k] = "http://" + addr
        for k in NO_PROXY_VARS:
            e[k] = ""
        for k in CA_VARS:
            e[k] = bundle
        e["SSL_CERT_DIR"] = os.path.dirname(bundle)
    cwd = os.path.join(cp, os.path.relpath(d, parent))
    try:
        subprocess.run(argv, cwd=cwd, env=e, stdin=subprocess.DEVNULL, capture_output=True)
        wait_tree(mark)
    finally:
        if sink is not None:
            sink.send_signal(signal.SIGTERM)
            sink.wait()
        shutil.rmtree(tmp, ignore_errors=True)

def scenario(variant, rep, s):
    for rel, d, env, argv in runs[s]:
        one(variant, rep, rel, d, env, argv)

os.makedirs(os.path.join(b, "sink-logs"), exist_ok=True)
for rep in range(1, reps + 1):
    os.makedirs(os.path.join(b, "sink-logs", f"rep{rep}"), exist_ok=True)
    for variant in ("bare", "bare-sink"):
        load = " ".join(open("/proc/loadavg").read().split()[:3])
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(par) as ex:
            list(ex.map(lambda s: scenario(variant, rep, s), sorted(runs)))
        print(f"{variant}\t{time.monotonic() - t0:.3f}\t{load}", flush=True)

# What the tool sent in bare-sink (plainsink's log: answered, refused, gone
# lines), beside what the harness recorded in the last `run --seal off`.
def kinds(path):
    n = {"answered": 0, "refused": 0, "gone": 0}
    try:
        for line in open(path):
            k = line.split(" ", 1)[0]
            n[k] = n.get(k, 0) + 1
    except OSError:
        pass
    return n

def harness_exchanges(rel):
    try:
        return sum('"type":"exchange"' in l for l in open(os.path.join(b, "out-off", rel, "capture.jsonl")))
    except OSError:
        return "-"

rows = []
for s in sorted(runs):
    for rel, *_ in runs[s]:
        per = [kinds(os.path.join(b, "sink-logs", f"rep{r}", rel.replace(os.sep, "--") + ".log")) for r in range(1, reps + 1)]
        rows.append((rel, answer[rel], expect.get(s, ""), per, harness_exchanges(rel)))
with open(os.path.join(b, "sends.tsv"), "w") as f:
    f.write("run\tsink answer\texpect reports\tbare-sink answered/refused/gone per rep\tharness exchanges (seal off)\n")
    for rel, spec, exp, per, hx in rows:
        counts = " ".join(f"{n['answered']}/{n['refused']}/{n['gone']}" for n in per)
        f.write(f"{rel}\t{spec}\t{exp}\t{counts}\t{hx}\n")
print(open(os.path.join(b, "sends.tsv")).read(), file=sys.stderr, end="")
EOF

python3 - "$B/times.tsv" <<'EOF'
import statistics, sys
path = sys.argv[1]
t = {}
for line in open(path):
    k, v, _ = line.rstrip("\n").split("\t")
    if k.startswith(("median ", "ratio ")):
        continue
    t.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in t.items()}
out = []
for k, v in sorted(med.items()):
    print(f"{k}: median {v:.2f} s of {len(t[k])} ({', '.join(f'{x:.2f}' for x in t[k])})")
    out.append(f"median {k}\t{v:.3f}\t{len(t[k])} reps")
for k in ("harness-seal-on", "harness-seal-off"):
    for base in ("bare-sink", "bare"):
        if k in med and base in med:
            print(f"{k}/{base}: {med[k] / med[base]:.2f}x")
            out.append(f"ratio {k}/{base}\t{med[k] / med[base]:.3f}\tmedians")
with open(path, "a") as f:
    f.write("".join(line + "\n" for line in out))
EOF
