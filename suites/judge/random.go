package judge

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// maxByteRepeat is how often one byte value may occur among 16 random
// bytes: five or more occurrences has a chance of about 1e-6 for a random
// source (256 × C(16,5) / 256^5), while a fixed, zeroed or clock-filled
// part shows it at once. Longer parts get one more per 16 bytes.
const maxByteRepeat = 4

// random judges a field the policy declares random (or the group of
// RandomPattern in it): well formed as the declared kind, with no byte
// value repeated beyond chance, and different in every run of the
// scenario. A uuid that is unique only through its prefix (a time
// stamp) is no random uuid.
func (j *judgement) random(clause string, c policy.Check) *checker {
	f, ok := j.p.Field(c.Field)
	if !ok {
		return unobservableChecker("unknown field %q", c.Field)
	}
	var pick func(string) (string, bool)
	if c.RandomPattern != "" {
		re, err := j.regex(c.RandomPattern)
		if err != nil {
			return unobservableChecker("%v", err)
		}
		pick = func(s string) (string, bool) {
			m := re.FindStringSubmatch(s)
			if m == nil {
				return "", false
			}
			return m[1], true
		}
	}
	k, out := newChecker(true)
	// firstRun maps a random part to the run that sent it first.
	firstRun := map[string]*runView{}
	k.each = func(rv *runView, x *item) {
		if !x.isReport() {
			return
		}
		for _, v := range x.o.Get(f.Path) {
			out.exercised = true
			part := v.Text
			if pick != nil {
				p, ok := pick(v.Text)
				if !ok {
					out.add(j.finding(clause, c.Kind, rv, x.ex.Seq, v.Path,
						fmt.Sprintf("%s does not match %s, so its random part cannot be found", f.Name, c.RandomPattern), fmt.Sprintf("%d chars, redacted", len(v.Text))))
					continue
				}
				part = p
			}
			if msg := randomProblem(c, part); msg != "" {
				out.add(j.finding(clause, c.Kind, rv, x.ex.Seq, v.Path, f.Name+"'s random part "+msg, fmt.Sprintf("%d chars", len(part))))
			}
			key := strings.ToLower(strings.ReplaceAll(part, "-", ""))
			switch first, seen := firstRun[key]; {
			case !seen:
				firstRun[key] = rv
			case first != rv:
				out.add(j.finding(clause, c.Kind, rv, x.ex.Seq, v.Path,
					fmt.Sprintf("%s's random part repeats the one of run %s: not different in every run", f.Name, runLabel(first)), ""))
			}
		}
	}
	return k
}

func runLabel(rv *runView) string {
	if rv.Name != "" {
		return rv.Name
	}
	return fmt.Sprint(rv.idx + 1)
}

// randomProblem says how part is not a random value of the declared kind;
// empty when it could be one.
func randomProblem(c policy.Check, part string) string {
	var b []byte
	switch c.Random {
	case policy.RandomUUID4:
		h := part
		if len(h) == 36 && h[8] == '-' && h[13] == '-' && h[18] == '-' && h[23] == '-' {
			h = strings.ReplaceAll(h, "-", "")
		}
		var err error
		if b, err = hex.DecodeString(h); err != nil || len(b) != 16 {
			return "is not a UUID (32 hex digits, with or without dashes)"
		}
		if b[6]>>4 != 4 {
			return fmt.Sprintf("is a version-%d UUID, not a random (version-4) one", b[6]>>4)
		}
		if b[8]>>6 != 2 {
			return "has not the RFC 4122 variant bits of a version-4 UUID"
		}
	case policy.RandomBytes:
		b = decodeRandom(part, c.RandomBytes)
		if b == nil {
			return fmt.Sprintf("is not %d bytes as hex or base64", c.RandomBytes)
		}
	default:
		return fmt.Sprintf("has an unknown random kind %q", c.Random)
	}
	var count [256]int
	for _, x := range b {
		count[x]++
	}
	allowed := maxByteRepeat + (len(b)-1)/16
	for v, n := range count {
		if n > allowed {
			return fmt.Sprintf("is not random: byte 0x%02x occurs %d times in %d bytes", v, n, len(b))
		}
	}
	return ""
}

// decodeRandom decodes n bytes written as hex or base64 (either
// alphabet, padded or not); nil when part is neither.
func decodeRandom(part string, n int) []byte {
	if b, err := hex.DecodeString(part); err == nil && len(b) == n {
		return b
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(part); err == nil && len(b) == n {
			return b
		}
	}
	return nil
}
