package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy"
	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
)

// File names of a run folder besides the capture and run.json, as
// proxy/capture defines them.
const (
	StdoutName = capture.StdoutName
	StderrName = capture.StderrName
)

// ErrRunFolder is wrapped when the run folder cannot be created or written.
var ErrRunFolder = errors.New("run folder not writable")

// ErrNotFound is wrapped when the command cannot be found.
var ErrNotFound = errors.New("command not found")

// kindError puts an error in a class (errors.Is(err, kind)) without adding
// the class name to its text, which already says it.
type kindError struct{ kind, err error }

func (e kindError) Error() string        { return e.err.Error() }
func (e kindError) Unwrap() error        { return e.err }
func (e kindError) Is(target error) bool { return target == e.kind }

// Options configure one recorded run. Every zero value has a documented
// default.
type Options struct {
	// Argv is the command and its arguments, never run through a shell.
	// Required.
	Argv []string
	// Dir is the command's working directory; empty means the harness's.
	Dir string
	// Out is the run folder, created if missing; files already in it are
	// replaced. Required.
	Out string

	// Forward, Answers, Default, MaxBody and MaxDecoded configure the proxy
	// (see proxy.Options): sink mode answering 200 `{}` by default.
	Forward             bool
	Answers             map[string]proxy.Answer
	Default             proxy.Answer
	MaxBody, MaxDecoded int64
	// Logger receives the proxy's warnings; nil discards them.
	Logger *log.Logger

	// Home is the command's HOME; empty means a fresh empty folder that is
	// removed afterwards.
	Home string
	// User is planted as USER, LOGNAME and USERNAME (a canary); empty
	// means the harness's own values.
	User string
	// Env holds more KEY=VALUE entries; PassEnv names harness variables to
	// copy. Neither may name a proxy, CA or HOME variable (see BuildEnv).
	Env     []string
	PassEnv []string

	// Settle, Timeout, IdleStop and KillGrace shape the wait for late
	// senders (see Spec): no settle window, 60 s timeout, no idle stop and
	// 2 s from SIGTERM to SIGKILL by default.
	Settle, Timeout, IdleStop, KillGrace time.Duration

	// NoRedact keeps Authorization, Cookie and Proxy-Authorization values
	// in capture.har; the JSONL always keeps exact bytes.
	NoRedact bool

	// Started, if set, is called with the proxy's URL once the proxy
	// listens, just before the command starts (for progress output).
	Started func(proxyURL string)

	// Stdout and Stderr also receive the command's output (the terminal);
	// nil means the run folder files only.
	Stdout, Stderr io.Writer

	// Seal is SealAuto (the default, ""), SealOn or SealOff: whether the
	// command runs in a sealed network namespace (see netwatch) where every
	// packet is watched, packets.pcapng and dns.jsonl are written, and a
	// client that ignores the proxy is caught by transparent listeners.
	// egress.json says whether the run was sealed and, if not, why.
	Seal string
	// Hostname and MAC are the canaries set inside the namespace (the host
	// name, and the sink's MAC that uuid.getnode() returns); empty means
	// random ones, written to egress.json.
	Hostname string
	MAC      net.HardwareAddr
	// StartSandbox makes the namespace; nil means netwatch.Start. Tests
	// use it to simulate a host without namespaces.
	StartSandbox func(context.Context, netwatch.Options) (*netwatch.Sandbox, error)
	// Hide lists folders a sealed run covers with an empty tmpfs inside the
	// tool's mount namespace (netwatch.Options.Hide): the output folder, so
	// the tool can neither read nor change what the harness writes there.
	// They must not hold the command, its working folder or HOME. Runs that
	// are not sealed cannot hide anything (egress.json says whether it was
	// done).
	Hide []string
	// HoldEvidence keeps the capture's integrity chain in memory
	// (capture.RunFacts.Integrity) instead of writing integrity.json: for a
	// caller that runs more tools (other runs, other scenarios) and writes
	// every chain once all of them are gone, since any of them could read
	// a key written earlier. The caller must then write it
	// (capture.WriteIntegrity), else the run folder is unverified.
	HoldEvidence bool
	// NoKeyLog leaves out sslkeys.log, which a sealed run writes by
	// default: the TLS secrets of every connection the proxy terminated,
	// so that Wireshark or tshark decrypt packets.pcapng (which is of
	// little use encrypted). A run that is not sealed has no packet
	// capture and writes none.
	NoKeyLog bool
	// Host, when set, pins the host facts real tools branch on (see
	// capture.Host; zero fields are a plain developer machine): the
	// container markers and cgroup inside the sealed run, CI, locale, time
	// zone and TERM in the environment, a terminal or not. run.json records
	// them, with what could not be applied (an unsealed run shows the
	// host's own root). Nil: the host's own facts show, as before.
	Host *capture.Host
}

// Record runs opts.Argv under a fresh recording proxy and writes the run
// folder: capture.jsonl (streamed while recording), capture.har, stdout,
// stderr and run.json. It returns the run facts, also when it fails after
// the folder was made (then run.Error says why and everything captured so
// far is kept). The error wraps ErrNotFound, ErrRunFolder, ErrTimeout or
// ErrInterrupted where one applies.
func Record(ctx context.Context, opts Options) (*capture.RunFacts, error) {
	if len(opts.Argv) == 0 || opts.Argv[0] == "" {
		return nil, errors.New("record: no command given")
	}
	if opts.Out == "" {
		return nil, errors.New("record: no run folder given")
	}
	// Check what can be checked before anything starts: the environment
	// options and the command, with the PATH the command will get.
	if opts.Host != nil {
		h := opts.Host.WithDefaults()
		if err := h.Check(); err != nil {
			return nil, fmt.Errorf("record: %w", err)
		}
		opts.Host = &h
	}
	probe, err := BuildEnv(EnvOptions{ProxyURL: "-", Bundle: "-", Home: "-", User: opts.User, Extra: opts.Env, PassEnv: opts.PassEnv, Host: opts.Host})
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	if _, err := LookPath(opts.Argv[0], opts.Dir, probe); err != nil {
		return nil, kindError{ErrNotFound, err}
	}
	if err := CheckSeal(opts.Seal); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	// Owner only: the run folder is evidence. This keeps out other users;
	// a tool running as the harness's user is kept from changing the
	// capture unnoticed by its integrity chain (capture.IntegrityName).
	if err := os.MkdirAll(opts.Out, 0o700); err != nil {
		return nil, kindError{ErrRunFolder, fmt.Errorf("create run folder: %w", err)}
	}
	if err := os.Chmod(opts.Out, 0o700); err != nil {
		return nil, kindError{ErrRunFolder, fmt.Errorf("create run folder: %w", err)}
	}
	w, err := capture.Create(filepath.Join(opts.Out, capture.JSONLName))
	if err != nil {
		return nil, kindError{ErrRunFolder, err}
	}
	w.HoldIntegrity()
	run := &capture.RunFacts{Argv: append([]string(nil), opts.Argv...), Dir: opts.Dir, ExitCode: -1, Forward: opts.Forward, Start: time.Now()}
	seal, err := startSeal(ctx, opts)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("record: %w", err)
	}
	err = record(ctx, opts, w, run, seal)
	if serr := seal.close(); serr != nil {
		err = errors.Join(err, serr)
	}
	if eerr := capture.WriteEgress(opts.Out, seal.egress); eerr != nil {
		err = errors.Join(err, eerr)
	}
	// The tool's last process is gone: the capture's key and chain may
	// reach the run folder now (Close writes them).
	if cerr := w.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	// A capture the tool changed while it ran is a harness error here
	// already; the HAR made from it is then left unsealed.
	chain := w.Integrity()
	verr := capture.VerifyWith(w.Path(), chain)
	if verr != nil {
		err = errors.Join(err, verr)
	}
	if herr := writeHAR(opts.Out, !opts.NoRedact); herr != nil {
		err = errors.Join(err, herr)
	} else if verr == nil {
		if serr := chain.Seal(opts.Out, capture.HARName); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	if !opts.HoldEvidence {
		if ierr := capture.WriteIntegrity(opts.Out, chain); ierr != nil {
			err = errors.Join(err, ierr)
		}
	}
	if err != nil {
		run.Error = err.Error()
	}
	if run.End.IsZero() {
		run.End = time.Now()
	}
	run.Host = hostFacts(opts.Host, seal)
	if werr := capture.WriteRun(opts.Out, run); werr != nil {
		err = errors.Join(err, werr)
	}
	run.Integrity = chain
	return run, err
}

// record does the part of Record between creating the capture and writing
// the run facts; it fills run.
func record(ctx context.Context, opts Options, w *capture.Writer, run *capture.RunFacts, seal *sealing) (err error) {
	stdout, err := createOutput(opts.Out, StdoutName, opts.Stdout)
	if err != nil {
		return err
	}
	defer stdout.close()
	stderr, err := createOutput(opts.Out, StderrName, opts.Stderr)
	if err != nil {
		return err
	}
	defer stderr.close()

	home := opts.Home
	if home == "" {
		if home, err = os.MkdirTemp("", "home-"); err != nil {
			return fmt.Errorf("make HOME folder: %w", err)
		}
		defer os.RemoveAll(home)
	}
	var keyLog io.Writer
	if seal.sb != nil && !opts.NoKeyLog {
		// These are the session keys of connections between the tool and
		// leaves of the run's own throwaway CA: they decrypt what
		// capture.jsonl already holds in plain text, nothing more. Never
		// the keys of forward mode's upstream connections. 0600 all the
		// same, like the captures.
		f, err := os.OpenFile(filepath.Join(opts.Out, capture.KeyLogName), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return kindError{ErrRunFolder, fmt.Errorf("create %s: %w", capture.KeyLogName, err)}
		}
		// Closed after the proxy (defers run last first), whose
		// connections write to it until then.
		defer f.Close()
		keyLog = f
	} else if err := os.Remove(filepath.Join(opts.Out, capture.KeyLogName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A previous run's key log must not pass for this run's.
		return kindError{ErrRunFolder, fmt.Errorf("remove stale %s: %w", capture.KeyLogName, err)}
	}
	p, err := proxy.New(proxy.Options{
		Forward: opts.Forward, Capture: w, Answers: opts.Answers, Default: opts.Default,
		MaxBody: opts.MaxBody, MaxDecoded: opts.MaxDecoded, Logger: opts.Logger,
		Listener: seal.listener(), KeyLog: keyLog,
	})
	if err != nil {
		return fmt.Errorf("start proxy: %w", err)
	}
	defer func() {
		if cerr := p.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		run.Exchanges = p.Exchanges()
	}()
	if seal.sb != nil {
		if err := p.ServeTransparent(seal.sb.TransparentListeners()); err != nil {
			return fmt.Errorf("start proxy: %w", err)
		}
	}
	env, err := BuildEnv(EnvOptions{
		ProxyURL: p.URL(), Bundle: p.BundleFile(), CertDir: p.CertDir(), Home: home,
		User: opts.User, Extra: opts.Env, PassEnv: opts.PassEnv, Host: opts.Host,
	})
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	id, err := newID()
	if err != nil {
		return err
	}
	if opts.Started != nil {
		opts.Started(p.URL())
	}
	got, err := Supervise(ctx, Spec{
		Argv: opts.Argv, Dir: opts.Dir, Env: env, ID: id,
		Stdout: stdout.writer(), Stderr: stderr.writer(),
		Settle: opts.Settle, Timeout: opts.Timeout, IdleStop: opts.IdleStop, KillGrace: opts.KillGrace,
		Launcher: seal.launcher(), TTY: opts.Host != nil && opts.Host.TTY,
	}, p)
	if got != nil {
		got.Forward = opts.Forward
		*run = *got
	}
	return err
}

// hostFacts is run.json's record of the pinned host facts: what was asked,
// what could not be applied and, where the tool saw the host's own root,
// the container facts that root shows. Nil when nothing was pinned.
func hostFacts(pinned *capture.Host, seal *sealing) *capture.Host {
	if pinned == nil {
		return nil
	}
	h := *pinned
	h.NotApplied, h.HostShows = nil, nil
	if seal.sb == nil {
		h.NotApplied = append(h.NotApplied, "container: the run was not sealed ("+seal.egress.Reason+"), so the tool saw the host's own root and cgroup")
	} else {
		_, h.NotApplied = seal.sb.ContainerFacts()
	}
	if len(h.NotApplied) > 0 {
		// The environment's facts (CI, locale, time zone) were applied;
		// the files are whatever this machine has.
		h.HostShows = capture.ObservedHost([]string{})
	}
	return &h
}

// writeHAR converts the run folder's JSONL capture to capture.har. A JSONL
// cut mid-line still converts up to its last complete record.
func writeHAR(dir string, redact bool) error {
	exs, err := capture.Load(filepath.Join(dir, capture.JSONLName))
	if err != nil && !errors.Is(err, capture.ErrTruncated) {
		return fmt.Errorf("write HAR: %w", err)
	}
	p := filepath.Join(dir, capture.HARName)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write HAR: %w", err)
	}
	if err := capture.WriteHAR(f, exs, redact); err != nil {
		f.Close()
		return fmt.Errorf("write HAR %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write HAR %s: %w", p, err)
	}
	return nil
}

func newID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make session id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// runOutput is one of the command's streams: a file in the run folder and,
// optionally, a pass-through writer.
type runOutput struct {
	f    *os.File
	pass io.Writer
}

func createOutput(dir, name string, pass io.Writer) (*runOutput, error) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, kindError{ErrRunFolder, fmt.Errorf("create %s: %w", name, err)}
	}
	return &runOutput{f: f, pass: pass}, nil
}

// writer is the file itself when there is no pass-through (the command
// then writes it directly), else a tee that never lets a failing terminal
// stop the file.
func (o *runOutput) writer() io.Writer {
	if o.pass == nil {
		return o.f
	}
	return o
}

func (o *runOutput) Write(b []byte) (int, error) {
	n, err := o.f.Write(b)
	_, _ = o.pass.Write(b)
	return n, err
}

func (o *runOutput) close() { o.f.Close() }
