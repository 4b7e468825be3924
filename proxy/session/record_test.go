package session_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/session"
)

// postPy posts argv[1] to the telemetry URL with urllib through
// HTTPS_PROXY. It refuses to run unless the proxy is on loopback, so a
// broken environment can never send to the real host.
const postPy = `
import json, os, sys, urllib.request
proxy = urllib.request.getproxies().get("https", "")
if not proxy.startswith("http://127.0.0.1:"):
    sys.exit("refusing to send: https proxy is %r" % proxy)
def post(body):
    req = urllib.request.Request("https://spire.bugout.dev/humbug/reports", data=body,
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        print("status", r.status, flush=True)
`

// latePy double-forks a daemon that posts after the command exited.
const latePy = postPy + `
import time
main = os.getpid()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        # Send only once the command is gone (reaped by the harness).
        while os.path.exists("/proc/%d" % main):
            time.sleep(0.01)
        post(sys.argv[1].encode())
        os._exit(0)
    os._exit(0)
os.wait()
`

// hangPy posts once, then never exits.
const hangPy = postPy + `
import time
post(sys.argv[1].encode())
time.sleep(1000)
`

// authPy sends a request with a credential.
const authPy = postPy + `
req = urllib.request.Request("https://spire.bugout.dev/humbug/reports", data=b"{}",
                             headers={"Authorization": "Bearer secret-token-1"}, method="POST")
urllib.request.urlopen(req, timeout=10)
`

// keepAlivePy starts a daemon that reports through a tunnel it then keeps
// open, idle, like a connection pool.
const keepAlivePy = postPy + `
import http.client, ssl, time
if os.fork() == 0:
    os.setsid()
    host, port = proxy[len("http://"):].rstrip("/").split(":")
    c = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(), timeout=10)
    c.set_tunnel("spire.bugout.dev", 443)
    c.request("POST", "/humbug/reports", body=b'{"kept":"alive"}', headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    print("status", r.status, flush=True)
    time.sleep(1000)
    os._exit(0)
`

// envPy prints its environment as JSON and whether HOME is empty.
const envPy = `
import json, os
e = dict(os.environ)
e["home entries"] = str(len(os.listdir(e["HOME"])))
e["bundle has harness CA"] = str(open(e["SSL_CERT_FILE"]).read().count("BEGIN CERTIFICATE"))
print(json.dumps(e))
`

var _ = Describe("Record", func() {
	var (
		opts session.Options
		out  string
	)

	BeforeEach(func() {
		out = filepath.Join(GinkgoT().TempDir(), "run")
		opts = session.Options{Out: out, Dir: GinkgoT().TempDir(), Timeout: 20 * time.Second}
	})

	It("captures a POST that a detached child sends after the command exited", func(ctx SpecContext) {
		body := `{"title":"pants run","content":"{\"num_goals\": 1}","tags":["late"]}`
		opts.Argv = []string{python, "-c", latePy, body}

		run, err := session.Record(ctx, opts)

		Expect(err).NotTo(HaveOccurred(), "stderr: %s", readFile(filepath.Join(out, session.StderrName)))
		Expect(run.ExitCode).To(Equal(0))
		Expect(run.Exchanges).To(BeEquivalentTo(1))
		exs, err := capture.Load(out)
		Expect(err).NotTo(HaveOccurred(), "capture.Load")
		Expect(exs).To(HaveLen(1))
		Expect(exs[0].Method).To(Equal("POST"))
		Expect(exs[0].URL).To(Equal("https://spire.bugout.dev/humbug/reports"))
		Expect(string(exs[0].Body.Raw)).To(Equal(body), "recorded byte-exact")
		Expect(exs[0].Time).To(BeTemporally(">", run.MainExit), "sent after the command exited")
		Expect(readFile(filepath.Join(out, session.StdoutName))).To(Equal("status 200\n"))

		har, err := capture.Load(filepath.Join(out, capture.HARName))
		Expect(err).NotTo(HaveOccurred(), "capture.Load")
		Expect(har).To(ConsistOf(HaveField("Body.Raw", Equal([]byte(body)))), "capture.har holds the same request")

		saved, err := capture.ReadRun(out)
		Expect(err).NotTo(HaveOccurred(), "capture.ReadRun")
		Expect(saved.Argv).To(Equal(opts.Argv))
		Expect(saved.Exchanges).To(BeEquivalentTo(1))
		Expect(saved.End).To(BeTemporally(">=", exs[0].Time))
	}, SpecTimeout(40*time.Second))

	It("kills a command that never exits at the timeout and keeps its capture", func(ctx SpecContext) {
		opts.Argv = []string{python, "-c", hangPy, `{"n":1}`}
		opts.Timeout = 5 * time.Second

		run, err := session.Record(ctx, opts)

		Expect(err).To(MatchError(session.ErrTimeout))
		Expect(run.TimedOut).To(BeTrue())
		Expect(run.Killed).To(ConsistOf(HaveField("Reason", session.ReasonTimeout)))
		exs, err := capture.Load(out)
		Expect(err).NotTo(HaveOccurred(), "capture.Load")
		Expect(exs).To(ConsistOf(HaveField("Body.Raw", Equal([]byte(`{"n":1}`)))), "the request sent before the timeout is kept")
		saved, err := capture.ReadRun(out)
		Expect(err).NotTo(HaveOccurred(), "capture.ReadRun")
		Expect(saved.TimedOut).To(BeTrue())
		Expect(saved.Error).To(ContainSubstring("timed out after 5s"))
	}, SpecTimeout(40*time.Second))

	Describe("the environment of the command", func() {
		var seen map[string]string

		BeforeEach(func(ctx SpecContext) {
			// What this machine and many CI images set globally: inherited,
			// they would silently route around the harness CA or the proxy.
			for _, k := range append(session.CAVariables(), "SSL_CERT_DIR") {
				setEnv(k, "/etc/ssl/certs/ca-certificates.crt")
			}
			setEnv("SSL_CERT_DIR", "/etc/ssl/certs")
			setEnv("NO_PROXY", "*")
			setEnv("no_proxy", "spire.bugout.dev")
			setEnv("HTTPS_PROXY", "http://192.0.2.1:9")
			setEnv("HARNESS_SECRET", "not for the tool")
			setEnv("KEEP_ME", "passed")
			opts.Argv = []string{python, "-c", envPy}
			opts.User = "canary-user-3f9a"
			opts.PassEnv = []string{"KEEP_ME"}
			opts.Env = []string{"CANARY_VAR=canary-value-77"}

			_, err := session.Record(ctx, opts)

			Expect(err).NotTo(HaveOccurred(), "stderr: %s", readFile(filepath.Join(out, session.StderrName)))
			seen = map[string]string{}
			Expect(json.Unmarshal([]byte(readFile(filepath.Join(out, session.StdoutName))), &seen)).To(Succeed())
		}, NodeTimeout(30*time.Second))

		It("points every CA variable at the harness bundle, whatever the harness's own environment says", func() {
			bundle := seen["SSL_CERT_FILE"]
			Expect(bundle).NotTo(Equal("/etc/ssl/certs/ca-certificates.crt"))
			for _, k := range session.CAVariables() {
				Expect(seen).To(HaveKeyWithValue(k, bundle), "%s", k)
			}
			Expect(seen["SSL_CERT_DIR"]).NotTo(BeElementOf("", "/etc/ssl/certs"))
			Expect(seen["bundle has harness CA"]).NotTo(Equal("0"))
		})

		It("points every proxy variable at the proxy and leaves NO_PROXY empty", func() {
			for _, k := range session.ProxyVariables() {
				Expect(seen).To(HaveKeyWithValue(k, HavePrefix("http://127.0.0.1:")), "%s", k)
			}
			Expect(seen).To(HaveKeyWithValue("NO_PROXY", ""))
			Expect(seen).To(HaveKeyWithValue("no_proxy", ""))
		})

		It("gives a fresh empty HOME, the planted user, and only allowlisted variables", func() {
			Expect(seen).To(HaveKeyWithValue("home entries", "0"))
			Expect(seen["HOME"]).NotTo(Equal(os.Getenv("HOME")))
			for _, k := range []string{"USER", "LOGNAME", "USERNAME"} {
				Expect(seen).To(HaveKeyWithValue(k, "canary-user-3f9a"))
			}
			Expect(seen).To(HaveKeyWithValue("KEEP_ME", "passed"))
			Expect(seen).To(HaveKeyWithValue("CANARY_VAR", "canary-value-77"))
			Expect(seen).NotTo(HaveKey("HARNESS_SECRET"))
			// A pyenv shim may prepend its own folders.
			Expect(seen).To(HaveKeyWithValue("PATH", ContainSubstring(os.Getenv("PATH"))))
		})
	})

	It("redacts credentials in capture.har unless told not to, and keeps them in the JSONL", func(ctx SpecContext) {
		opts.Argv = []string{python, "-c", authPy}

		_, err := session.Record(ctx, opts)
		Expect(err).NotTo(HaveOccurred(), "stderr: %s", readFile(filepath.Join(out, session.StderrName)))
		Expect(readFile(filepath.Join(out, capture.HARName))).NotTo(ContainSubstring("secret-token-1"))
		Expect(readFile(filepath.Join(out, capture.JSONLName))).To(ContainSubstring("secret-token-1"))

		opts.NoRedact = true
		_, err = session.Record(ctx, opts)
		Expect(err).NotTo(HaveOccurred(), "session.Record")
		Expect(readFile(filepath.Join(out, capture.HARName))).To(ContainSubstring("secret-token-1"))
	}, SpecTimeout(40*time.Second))

	It("stops a daemon that keeps its connection open after reporting, with IdleStop", func(ctx SpecContext) {
		opts.Argv = []string{python, "-c", keepAlivePy}
		opts.IdleStop = 500 * time.Millisecond

		run, err := session.Record(ctx, opts)

		Expect(err).NotTo(HaveOccurred(), "stderr: %s", readFile(filepath.Join(out, session.StderrName)))
		Expect(run.TimedOut).To(BeFalse())
		Expect(run.Killed).To(ConsistOf(HaveField("Reason", session.ReasonIdle)))
		Expect(readFile(filepath.Join(out, session.StdoutName))).To(Equal("status 200\n"), "the daemon got its answer before it was stopped")
		exs, err := capture.Load(out)
		Expect(err).NotTo(HaveOccurred(), "capture.Load")
		Expect(exs).To(ConsistOf(HaveField("Body.Raw", Equal([]byte(`{"kept":"alive"}`)))))
	}, SpecTimeout(40*time.Second))

	It("records the command's failure as a successful recording", func(ctx SpecContext) {
		opts.Argv = []string{"sh", "-c", "echo oops >&2; exit 7"}

		run, err := session.Record(ctx, opts)

		Expect(err).NotTo(HaveOccurred(), "session.Record")
		Expect(run.ExitCode).To(Equal(7))
		Expect(readFile(filepath.Join(out, session.StderrName))).To(Equal("oops\n"))
		Expect(filepath.Join(out, capture.JSONLName)).To(BeAnExistingFile())
	}, SpecTimeout(30*time.Second))

	It("says when the command is not found, before making the run folder", func(ctx SpecContext) {
		opts.Argv = []string{"no-such-tool-4711"}

		_, err := session.Record(ctx, opts)

		Expect(err).To(MatchError(session.ErrNotFound))
		Expect(out).NotTo(BeADirectory())
	})

	It("says when the run folder cannot be written", func(ctx SpecContext) {
		file := filepath.Join(GinkgoT().TempDir(), "a-file")
		Expect(os.WriteFile(file, nil, 0o644)).To(Succeed())
		opts.Out = filepath.Join(file, "run")
		opts.Argv = []string{"true"}

		_, err := session.Record(ctx, opts)

		Expect(err).To(MatchError(session.ErrRunFolder))
	})

	It("refuses --pass-env for a variable the harness controls", func(ctx SpecContext) {
		opts.Argv = []string{"true"}
		opts.PassEnv = []string{"SSL_CERT_FILE"}

		_, err := session.Record(ctx, opts)

		Expect(err).To(MatchError(ContainSubstring("pass-env SSL_CERT_FILE: the harness sets this variable itself")))
	})
})

func readFile(p string) string {
	GinkgoHelper()
	b, err := os.ReadFile(p)
	Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
	return string(b)
}

// setEnv sets a variable of the test process for this spec only.
func setEnv(k, v string) {
	old, had := os.LookupEnv(k)
	Expect(os.Setenv(k, v)).To(Succeed())
	DeferCleanup(func() {
		if had {
			os.Setenv(k, old)
		} else {
			os.Unsetenv(k)
		}
	})
}
