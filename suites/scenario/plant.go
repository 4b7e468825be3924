package scenario

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/oracle"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// values are the canaries of one canary set.
type values struct {
	// byRole is what {{canary.<role>}} expands to.
	byRole map[string]string
	// canaries is what was planted, as canaries.json lists it.
	canaries []canary.Canary
	// notes say which listed roles could not be planted.
	notes []string
}

// sets hands out the canary values of a scenario's runs: roles in the
// scenario's vary list get fresh values per set, the others one value for
// the whole scenario. Runs of one scenario are sequential, so it needs no
// lock.
type sets struct {
	p      *policy.Policy
	sc     *policy.Scenario
	shared map[string]string
	nodes  []oracle.Node
	bySet  map[string]*values
	// hostname and mac are the canaries a sealed run sets inside its
	// namespace (see seal.go); empty when the roles are not listed.
	hostname string
	mac      net.HardwareAddr
	// tmpAt maps a run's name to the temporary folder it must use (a
	// differential rerun with identical inputs reuses the first run's
	// working path); a run not listed gets a fresh one.
	tmpAt map[string]string
}

// tempDir makes the temporary folder of run name: the one tmpAt pins, or a
// fresh one.
func (s *sets) tempDir(name string) (string, error) {
	if at, ok := s.tmpAt[name]; ok {
		if err := os.Mkdir(at, 0o700); err != nil {
			return "", fmt.Errorf("reuse the first run's working path: %w", err)
		}
		return at, nil
	}
	return os.MkdirTemp("", "work-")
}

// mixed is a copy of s that plants fresh's values for roles and s's for
// every other role, each run in the temporary folder tmp names for it: a
// differential run that changes only some roles. Both must have planted
// every canary set already.
func (s *sets) mixed(fresh *sets, roles map[string]bool, tmp map[string]string) *sets {
	c := *s
	c.tmpAt = tmp
	c.shared = maps.Clone(s.shared)
	for r := range roles {
		if v, ok := fresh.shared[r]; ok {
			c.shared[r] = v
		}
		if plan, ok := s.p.CanaryPlan(r); ok {
			switch plan.Plant {
			case policy.PlantHostname:
				c.hostname = fresh.hostname
			case policy.PlantNode:
				c.mac = fresh.mac
			}
		}
	}
	c.bySet = map[string]*values{}
	for name, v := range s.bySet {
		nv := &values{byRole: maps.Clone(v.byRole), notes: v.notes}
		for _, cn := range v.canaries {
			if !roles[cn.Role] {
				nv.canaries = append(nv.canaries, cn)
			}
		}
		if fv := fresh.bySet[name]; fv != nil {
			for r := range roles {
				if val, ok := fv.byRole[r]; ok {
					nv.byRole[r] = val
				}
			}
			for _, cn := range fv.canaries {
				if roles[cn.Role] {
					nv.canaries = append(nv.canaries, cn)
				}
			}
		}
		c.bySet[name] = nv
	}
	return &c
}

// again is a copy of s that plants the same values again, each run in the
// temporary folder tmp names for it.
func (s *sets) again(tmp map[string]string) *sets {
	c := *s
	c.tmpAt = tmp
	return &c
}

// newSets checks the scenario's roles against the plan and draws the values
// shared by every run.
func newSets(p *policy.Policy, sc *policy.Scenario) (*sets, error) {
	s := &sets{p: p, sc: sc, shared: map[string]string{}, bySet: map[string]*values{}}
	for _, role := range sc.Canaries {
		plan, ok := p.CanaryPlan(role)
		if !ok {
			return nil, fmt.Errorf("canary role %s: not in the policy's canary plan; add it under canaries or drop it from the scenario", role)
		}
		switch plan.Plant {
		case policy.PlantNode:
			nodes, err := oracle.NodeCandidates()
			if err != nil {
				return nil, fmt.Errorf("canary role %s: %w", role, err)
			}
			s.nodes = nodes
			if s.mac, err = canaryMAC(); err != nil {
				return nil, fmt.Errorf("canary role %s: %w", role, err)
			}
		case policy.PlantHostname:
			v, err := generate(plan)
			if err != nil {
				return nil, err
			}
			s.hostname = v
		case policy.PlantWorkdir, policy.PlantCommand:
			// Recorded per run once the repo copy exists (recorded).
		default:
			if slices.Contains(sc.Vary, role) {
				continue
			}
			v, err := generate(plan)
			if err != nil {
				return nil, err
			}
			s.shared[role] = v
		}
	}
	if s.mac == nil {
		// A sealed run without the node role still gets a fixed MAC: a
		// namespace with none makes uuid.getnode() draw a random one per
		// run, and a differential rerun needs the same host as the first.
		var err error
		if s.mac, err = canaryMAC(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// values returns the canaries of set, drawing the set's vary roles the first
// time the set is asked for.
func (s *sets) values(set string) (*values, error) {
	if v, ok := s.bySet[set]; ok {
		return v, nil
	}
	v := &values{byRole: map[string]string{}}
	for _, role := range s.sc.Canaries {
		plan, _ := s.p.CanaryPlan(role)
		switch plan.Plant {
		case policy.PlantHostname:
			// Planted by a sealed run only; unsealRoles drops it otherwise.
			v.byRole[role] = s.hostname
			v.canaries = append(v.canaries, canary.Canary{Role: role, Value: s.hostname})
			continue
		case policy.PlantWorkdir, policy.PlantCommand:
			continue // per run, see recorded
		case policy.PlantNode:
			// A sealed run's sink has the canary MAC, which uuid.getnode()
			// then returns: its forms come first and are the node. Outside
			// a namespace the tool sees this machine's real MACs, so they
			// are recorded too and a leak of any of them is still caught.
			v.canaries = append(v.canaries, nodeCanaries(role, s.mac)...)
			v.byRole[role] = oracle.NodeDecimal(s.mac)
			if len(s.nodes) == 0 {
				v.notes = append(v.notes, fmt.Sprintf("canary role %s: this machine has no MAC address (outside a namespace uuid.getnode() then makes up a random one)", role))
				continue
			}
			// Every spelling of every candidate: the canary search knows
			// strings, not MACs, and uuid.getnode() may pick any of them.
			for _, n := range s.nodes {
				for _, form := range oracle.NodeForms(n.MAC) {
					v.canaries = append(v.canaries, canary.Canary{Role: role, Value: form})
				}
			}
			continue
		}
		val, ok := s.shared[role]
		if !ok {
			var err error
			if val, err = generate(plan); err != nil {
				return nil, err
			}
		}
		v.byRole[role] = val
		v.canaries = append(v.canaries, canary.Canary{Role: role, Value: val})
	}
	s.bySet[set] = v
	return v, nil
}

// generate draws a fresh value for a role: a repo id is a random UUID (36
// characters, which Pants' repo id check accepts, as `uuidgen` would make
// one), a host name has the host shape, anything else the shape the canary
// package picks for the role's name. A value must match the plan's pattern
// (what the tool accepts there): when the role's shape does not, a plain
// word is drawn, and when that does not either, the plan is at fault.
func generate(plan *policy.CanaryPlan) (string, error) {
	if plan.Plant == policy.PlantRepoID {
		return newUUID()
	}
	kind := canary.KindOf(plan.Role)
	if plan.Plant == policy.PlantHostname {
		kind = canary.KindHost
	}
	v := canary.GenerateKind(plan.Role, kind).Value
	if plan.Pattern == "" {
		return v, nil
	}
	re, err := regexp.Compile(plan.Pattern)
	if err != nil {
		return "", fmt.Errorf("canary role %s: pattern %q: %w", plan.Role, plan.Pattern, err)
	}
	if re.MatchString(v) {
		return v, nil
	}
	if v = canary.GenerateKind(plan.Role, canary.KindWord).Value; re.MatchString(v) {
		return v, nil
	}
	return "", fmt.Errorf("canary role %s: pattern %q admits no generated value (e.g. %q, 12 lower-case letters and 2 digits); widen the pattern in the policy's canaries", plan.Role, plan.Pattern, v)
}

// newUUID returns a random version 4 UUID.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate repo id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// sandbox is one run's prepared folder and inputs.
type sandbox struct {
	workdir, home, user string
	// env holds the scenario's variables and the canary variables.
	env []string
	// words are the goals and arguments after the tool words.
	words []string
	// prepare are the scenario's preparatory commands, expanded.
	prepare [][]string
}

// prepare makes the run's repo copy and HOME under tmp and expands the
// scenario's templates with the run's canaries.
func prepare(opts Options, sc *policy.Scenario, v *values, tmp string) (*sandbox, error) {
	tv := policy.Values{Canaries: v.byRole}
	src := sc.Repo
	if !filepath.IsAbs(src) {
		src = filepath.Join(opts.Root, src)
	}
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("scenario repo %s: not a folder (relative repos resolve against %q); check the policy's repo or the root", src, opts.Root)
	}
	sb := &sandbox{}
	repoParent, homeName := "repo", "home"
	for _, role := range sc.Canaries {
		plan, _ := opts.Policy.CanaryPlan(role)
		val, ok := v.byRole[role]
		if !ok {
			continue
		}
		switch plan.Plant {
		case policy.PlantRepoDir:
			repoParent = val
		case policy.PlantHomeDir:
			homeName = val
		case policy.PlantUser:
			// The session sets USER, LOGNAME and USERNAME from it; other
			// names the plan lists are set like an env canary.
			sb.user = val
			for _, k := range plan.Env {
				if k != "USER" && k != "LOGNAME" && k != "USERNAME" {
					sb.env = append(sb.env, k+"="+val)
				}
			}
		case policy.PlantEnv:
			for _, k := range plan.Env {
				sb.env = append(sb.env, k+"="+val)
			}
		}
	}
	sb.workdir = filepath.Join(tmp, repoParent, filepath.Base(src))
	sb.home = filepath.Join(tmp, homeName)
	if err := copyTree(src, sb.workdir); err != nil {
		return nil, fmt.Errorf("copy scenario repo %s: %w", src, err)
	}
	if err := os.Mkdir(sb.home, 0o700); err != nil {
		return nil, fmt.Errorf("make HOME folder: %w", err)
	}
	for i, f := range sc.Files {
		if err := writeFile(sb.workdir, f, tv); err != nil {
			return nil, fmt.Errorf("scenario %s, files[%d] (%s): %w", sc.Name, i, f.Path, err)
		}
	}
	keys := make([]string, 0, len(sc.Env))
	for k := range sc.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val, err := policy.Expand(sc.Env[k], tv)
		if err != nil {
			return nil, fmt.Errorf("scenario %s, env %s: %w", sc.Name, k, err)
		}
		sb.env = append(sb.env, k+"="+val)
	}
	var err error
	if sb.words, err = expandAll(append(slices.Clone(sc.Goals), sc.Args...), tv); err != nil {
		return nil, fmt.Errorf("scenario %s, goals/args: %w", sc.Name, err)
	}
	for i, argv := range sc.Prepare {
		var head []string
		if len(argv) > 0 && argv[0] == policy.ToolTemplate {
			head, argv = opts.Tool, argv[1:]
		}
		words, err := expandAll(argv, tv)
		if err != nil {
			return nil, fmt.Errorf("scenario %s, prepare[%d]: %w", sc.Name, i, err)
		}
		sb.prepare = append(sb.prepare, append(slices.Clone(head), words...))
	}
	return sb, nil
}

func expandAll(in []string, tv policy.Values) ([]string, error) {
	out := make([]string, len(in))
	for i, s := range in {
		var err error
		if out[i], err = policy.Expand(s, tv); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writeFile writes or appends one scenario file inside the repo copy.
func writeFile(root string, f policy.File, tv policy.Values) error {
	rel, err := policy.Expand(f.Path, tv)
	if err != nil {
		return err
	}
	rel = filepath.Clean(rel)
	if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("path %q leaves the repo copy; give a path relative to the repo", f.Path)
	}
	content, err := policy.Expand(f.Content, tv)
	if err != nil {
		return err
	}
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	switch f.Mode {
	case "write":
	case "append":
		flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	default:
		return fmt.Errorf("mode %q: want write or append", f.Mode)
	}
	fh, err := os.OpenFile(p, flag, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(fh, content); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// copyTree copies the folder src to dst (which must not exist), keeping file
// modes and symbolic links.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(to, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case d.Type().IsRegular():
			return copyFile(p, to, info.Mode().Perm())
		}
		return nil
	})
}

func copyFile(from, to string, perm fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// recorded returns the canaries of the plants that are not drawn but read
// off the run once its repo copy is ready: the copy's absolute path
// (workdir) and the output of a command run in it (command), e.g. the id of
// a commit the prepare commands made. A tool may hash these, so the search
// needs them as values like any planted one.
func recorded(ctx context.Context, p *policy.Policy, sc *policy.Scenario, sb *sandbox) ([]canary.Canary, error) {
	var out []canary.Canary
	for _, role := range sc.Canaries {
		plan, _ := p.CanaryPlan(role)
		switch plan.Plant {
		case policy.PlantWorkdir:
			out = append(out, canary.Canary{Role: role, Value: sb.workdir})
		case policy.PlantCommand:
			cmd := exec.CommandContext(ctx, plan.Command[0], plan.Command[1:]...)
			cmd.Dir = sb.workdir
			// A plain environment: this is the harness reading the repo
			// copy, not the tool running.
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + sb.home, "LANG=C"}
			b, err := cmd.Output()
			if err != nil {
				return nil, fmt.Errorf("canary role %s: command %s: %w", role, strings.Join(plan.Command, " "), err)
			}
			v := strings.TrimSpace(string(b))
			if v == "" {
				return nil, fmt.Errorf("canary role %s: command %s printed nothing", role, strings.Join(plan.Command, " "))
			}
			out = append(out, canary.Canary{Role: role, Value: v})
		}
	}
	return out, nil
}

// copyState copies the policy's state files that exist after the run into
// <dir>/state/<name>, so they outlive the run's temporary folder.
func copyState(p *policy.Policy, sb *sandbox, dir string) error {
	for _, s := range p.State {
		base := sb.home
		if s.Base == policy.StateBaseRepo {
			base = sb.workdir
		}
		b, err := os.ReadFile(filepath.Join(base, filepath.FromSlash(s.Path)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // the tool wrote no state in this run
		}
		if err != nil {
			return fmt.Errorf("read state file %s: %w", s.Name, err)
		}
		if err := os.MkdirAll(filepath.Join(dir, StateDir), 0o700); err != nil {
			return fmt.Errorf("copy state file %s: %w", s.Name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, StateDir, s.Name), b, 0o600); err != nil {
			return fmt.Errorf("copy state file %s: %w", s.Name, err)
		}
	}
	return nil
}
