package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/telemetry-harness/telemetry-harness/proxy/capture"
	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
)

// Seal modes (Options.Seal).
const (
	// SealAuto seals when a namespace can be made, else records with the
	// proxy alone and says why in egress.json.
	SealAuto = "auto"
	// SealOn requires a sealed namespace: Record fails without one.
	SealOn = "on"
	// SealOff never seals; egress.json says so.
	SealOff = "off"
)

// ErrSealUnavailable is wrapped when Seal is on and no sealed namespace can
// be made.
var ErrSealUnavailable = errors.New("sealed run unavailable")

// CheckSeal reports whether mode is a known seal mode ("" is auto).
func CheckSeal(mode string) error {
	switch mode {
	case "", SealAuto, SealOn, SealOff:
		return nil
	}
	return fmt.Errorf("seal mode %q: want auto, on or off", mode)
}

// sealing is the sealed namespace of one run, or the reason there is none.
type sealing struct {
	sb     *netwatch.Sandbox
	egress *capture.Egress
	accept *acceptLog
}

// startSeal makes the run's sealed namespace as opts.Seal says. Without one
// (off, or auto where namespaces cannot be made) it returns a sealing with
// sb nil and the reason in egress.
func startSeal(ctx context.Context, opts Options) (*sealing, error) {
	mode := opts.Seal
	if mode == "" {
		mode = SealAuto
	}
	s := &sealing{egress: &capture.Egress{Mode: mode}}
	if mode == SealOff {
		s.egress.Reason = "sealing was switched off (seal off)"
		return s, nil
	}
	start := opts.StartSandbox
	if start == nil {
		start = netwatch.Start
	}
	t0 := time.Now()
	sb, err := start(ctx, netwatch.Options{
		Hostname:   opts.Hostname,
		MAC:        opts.MAC,
		PcapPath:   filepath.Join(opts.Out, capture.PcapName),
		DNSLogPath: filepath.Join(opts.Out, capture.DNSLogName),
		Container:  container(opts.Host),
		Hide:       opts.Hide,
	})
	if err != nil {
		if mode == SealOn {
			return nil, fmt.Errorf("%w: %w", ErrSealUnavailable, err)
		}
		s.egress.Reason = err.Error()
		return s, nil
	}
	s.egress.Setup = time.Since(t0)
	s.sb = sb
	s.accept = &acceptLog{Listener: sb.ProxyListener(), remotes: map[string]bool{}}
	e := s.egress
	e.Sealed = true
	e.Hostname = sb.Hostname()
	e.MAC = sb.MAC().String()
	e.Node = strconv.FormatUint(sb.Node(), 10)
	e.Proxy = sb.ProxyListener().Addr().String()
	name, kind := sb.Sink()
	e.Sink = fmt.Sprintf("%s (%s)", name, kind)
	e.Routes = sb.Routes()
	contained, why := sb.PIDNamespace()
	e.Contained, e.ContainReason = &contained, why
	privSys, why := sb.PrivateSys()
	e.PrivateSys, e.SysReason = &privSys, why
	if len(opts.Hide) > 0 {
		hidden, why := sb.Hidden()
		e.OutputHidden, e.HideReason = &hidden, why
	}
	return s, nil
}

// container is the container kind the namespace pins: the host facts' one,
// or the host's own root when nothing is pinned.
func container(h *capture.Host) string {
	if h == nil {
		return netwatch.ContainerHost
	}
	return h.WithDefaults().Container
}

// HideOutput is what Options.Hide may cover for the output folder out: out
// itself, unless one of the paths the tool needs (its working folder, HOME,
// the temporary folder where the CA bundle lives, a command word that is a
// path) is out or lies under it, which the cover would hide too; then
// nothing.
func HideOutput(out string, needed ...string) []string {
	out, err := filepath.Abs(out)
	if err != nil {
		return nil
	}
	for _, p := range append(needed, os.TempDir()) {
		if p == "" {
			continue
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if rel, err := filepath.Rel(out, p); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return nil
		}
	}
	return []string{out}
}

// listener is what the proxy serves: the namespace's proxy listener, or nil
// (the proxy listens on loopback itself).
func (s *sealing) listener() net.Listener {
	if s.sb == nil {
		return nil
	}
	return s.accept
}

// launcher runs the tool in the namespace; nil when not sealed.
func (s *sealing) launcher() Launcher {
	if s.sb == nil {
		return nil
	}
	return sandboxLauncher{s.sb}
}

// close removes the namespace (killing whatever the supervisor left) and
// fills egress with what the capture saw.
func (s *sealing) close() error {
	if s.sb == nil {
		return nil
	}
	t0 := time.Now()
	err := s.sb.Close()
	s.egress.Teardown = time.Since(t0)
	if err != nil {
		s.egress.Errors = append(s.egress.Errors, err.Error())
	}
	cc := &capture.CrossCheck{}
	accepted := s.accept.snapshot()
	cc.Accepted = len(accepted)
	for _, f := range s.sb.Flows() {
		cf := capture.Flow{
			Kind: string(f.Kind), Proto: f.Proto, Interface: f.Interface,
			Names: f.Names, SYN: f.SYN, Packets: f.Packets, Bytes: f.Bytes, First: f.First, Last: f.Last,
		}
		if f.Client.IsValid() {
			cf.Client = f.Client.String()
		}
		if f.Server.IsValid() {
			cf.Server = f.Server.String()
		}
		s.egress.Flows = append(s.egress.Flows, cf)
		if f.Kind == netwatch.KindProxy && f.SYN {
			cc.InCapture++
			if !accepted[cf.Client] {
				cc.Unmatched = append(cc.Unmatched, cf.Client)
			}
		}
	}
	sort.Strings(cc.Unmatched)
	s.egress.CrossCheck = cc
	for _, q := range s.sb.DNSQueries() {
		s.egress.DNS = append(s.egress.DNS, capture.DNSQuery{Time: q.Time, Name: q.Name, Type: q.Type, Client: q.Client, Answer: q.Answer})
	}
	if err != nil {
		return fmt.Errorf("close sealed namespace: %w", err)
	}
	return nil
}

// sandboxLauncher starts the tool inside the namespace. The helper is the
// harness's child and the init of the namespace's PID namespace; the tool
// is the helper's child, and Launch returns its host pid. Every process in
// the namespace belongs to the run.
type sandboxLauncher struct{ sb *netwatch.Sandbox }

func (l sandboxLauncher) Launch(argv, env []string, dir string, stdin, stdout, stderr *os.File) (int, error) {
	if err := l.sb.Go(netwatch.Command{Argv: argv, Env: env, Dir: dir, Stdin: stdin, Stdout: stdout, Stderr: stderr}); err != nil {
		return 0, err
	}
	return l.sb.Pid(), nil
}

// Wait returns the tool's status as the helper reported it the moment it
// reaped the tool: its exit is the run's MainExit, whatever the namespace
// still holds.
func (l sandboxLauncher) Wait() (syscall.WaitStatus, bool) {
	_ = l.sb.Wait() // the status is in ExitStatus
	return l.sb.ExitStatus()
}

func (l sandboxLauncher) Members() ([]int, error) { return l.sb.Processes() }

// acceptLog notes the client address of every connection the proxy
// accepted, for the cross-check against the packet capture.
type acceptLog struct {
	net.Listener
	mu      sync.Mutex
	remotes map[string]bool
}

func (l *acceptLog) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.remotes[c.RemoteAddr().String()] = true
		l.mu.Unlock()
	}
	return c, err
}

func (l *acceptLog) snapshot() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]bool, len(l.remotes))
	for k := range l.remotes {
		out[k] = true
	}
	return out
}
