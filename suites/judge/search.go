package judge

import (
	"fmt"
	"slices"

	"github.com/telemetry-harness/telemetry-harness/suites/canary"
	"github.com/telemetry-harness/telemetry-harness/suites/observe"
	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// hit is one occurrence of a canary in a captured exchange.
type hit struct {
	Role, Form string
	Exchange   int64
	// Path is the canary package's location: an observe path, host, sni,
	// url or body@offset.
	Path string
	// Length is the canary value's length (the value itself is never kept).
	Length int
	// Chain spells the form with the role ("base64(gzip(user))").
	Chain string
	// Salt, Sep and SaltAfter describe a salted hash (canary.Hit).
	Salt, Sep string
	SaltAfter bool
	// Matched is how many leading characters a truncated value kept.
	Matched int
	// From names the scenario that planted the value when another one
	// did (Input.Elsewhere); empty for this scenario's own.
	From string
}

// searcher adapts canary.Searcher to the roles a check asks for.
type searcher struct {
	s *canary.Searcher
	// others search for the values other scenarios planted (Elsewhere);
	// origin maps such a value to its scenario, and a hit of a value
	// missing from it (this scenario's own) is left to s.
	others []*canary.Searcher
	origin map[string]string
}

func newSearcher(cs []canary.Canary, p *policy.Policy) (*searcher, error) {
	if len(cs) == 0 {
		return &searcher{}, nil
	}
	s, err := canary.NewSearcherWith(cs, searchOptions(p))
	if err != nil {
		return nil, err
	}
	return &searcher{s: s}, nil
}

// find returns the hits of every planted role in everything o's exchange
// sent: one search per exchange, which the checks then filter by role.
func (s *searcher) find(o *observe.Observation) []hit {
	var out []hit
	for _, cs := range s.all() {
		out = append(out, s.findWith(cs, o)...)
	}
	return out
}

// all are the searchers to run: this scenario's first, then the others'.
func (s *searcher) all() []*canary.Searcher {
	var out []*canary.Searcher
	if s.s != nil {
		out = append(out, s.s)
	}
	return append(out, s.others...)
}

// keep reports whether a hit of cs belongs to the judgement: every hit of
// this scenario's searcher, and hits of values only others planted.
func (s *searcher) keep(cs *canary.Searcher, h canary.Hit) bool {
	return cs == s.s || s.origin[h.Canary.Value] != ""
}

func (s *searcher) findWith(cs *canary.Searcher, o *observe.Observation) []hit {
	var out []hit
	add := func(hs []canary.Hit) {
		for _, h := range hs {
			if !s.keep(cs, h) {
				continue
			}
			out = append(out, hit{Role: h.Canary.Role, Form: h.Form, Exchange: h.Exchange, Path: h.Location, Length: len(h.Canary.Value),
				Chain: h.Chain(), Salt: h.Salt, Sep: h.Sep, SaltAfter: h.SaltAfter, Matched: h.Matched, From: s.origin[h.Canary.Value]})
		}
	}
	add(cs.Search(o))
	// Trailers and chunk extensions of a chunked body, which the
	// exchange search does not read.
	ex := o.Exchange
	for _, t := range ex.Trailers {
		add(cs.SearchBytes([]byte(t.Name+": "+t.Value), ex.Seq, "trailer:"+t.Name))
	}
	for i, e := range ex.ChunkExtensions {
		add(cs.SearchBytes([]byte(e), ex.Seq, fmt.Sprintf("chunk-ext[%d]", i)))
	}
	return out
}

// searchOptions are the policy's minimum prefixes per role and its
// constants (the tool's name, constant tag values), which the salted-hash search tries
// as salts besides the planted values.
func searchOptions(p *policy.Policy) canary.Options {
	var o canary.Options
	if p == nil {
		return o
	}
	for _, c := range p.Canaries {
		mp := c.MinPrefix
		// A recorded value (the run's working path, a command's output)
		// is not made up by the harness: its start is shared with
		// ordinary text (/tmp/...), so only the whole value counts unless
		// the policy asks for prefixes.
		if mp == 0 && (c.Plant == policy.PlantWorkdir || c.Plant == policy.PlantCommand) {
			mp = -1
		}
		if mp != 0 {
			if o.MinPrefixByRole == nil {
				o.MinPrefixByRole = map[string]int{}
			}
			o.MinPrefixByRole[c.Role] = mp
		}
	}
	if p.Tool.Name != "" {
		o.Constants = append(o.Constants, p.Tool.Name)
	}
	for _, salt := range p.Tool.Salts {
		if !slices.Contains(o.Constants, salt) {
			o.Constants = append(o.Constants, salt)
		}
	}
	for _, f := range p.Fields {
		for _, t := range f.Tags {
			if t.Const != "" && !slices.Contains(o.Constants, t.Const) {
				o.Constants = append(o.Constants, t.Const)
			}
		}
	}
	return o
}

// declaredID reports whether h is a salted hash the policy promises: an id
// computed from a planted input and the salt role with a declared
// separator (e.g. Pants' user_id, sha256(repo id + "." + user)), or any
// salted hash in a declared id field, whose formula the id-salted check
// judges. Whether the id is where it belongs is the field checks' business.
func declaredID(p *policy.Policy, h hit) bool {
	ids := p.IDs
	if ids == nil || h.Form != canary.SaltedPrefix+ids.Hash {
		return false
	}
	for _, f := range ids.Fields {
		if fd, ok := p.Field(f.Field); ok && fd.Path == h.Path {
			return true
		}
	}
	if ids.Salt == "" || !slices.Contains(ids.Separators, h.Sep) {
		return false
	}
	for _, f := range ids.Fields {
		if f.Input == "" {
			continue
		}
		if !h.SaltAfter && h.Role == f.Input && h.Salt == ids.Salt || h.SaltAfter && h.Role == ids.Salt && h.Salt == f.Input {
			return true
		}
	}
	return false
}
