package textmatch_test

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/textmatch"
)

// policyPatterns are the forbidden-patterns and no-log-mention patterns of
// the bundled Pants policy.
var policyPatterns = []string{
	`(?i)telemetry`, `(?i)repo_id`, `(?i)anonymous`,
	`Traceback \(most recent call last\)`, `File "[^"]*", line [0-9]+`, `\b[A-Z][A-Za-z]*(Error|Exception)\b`,
}

var edgePatterns = []string{
	``, `^$`, `^`, `$`, `a*`, `a|`, `|a`, `(a|)b`, `(?i)ſ`, `(?i)s`, `(?i)k`, `(?i)ks`, `\x{212A}`, `(?i)\x{212A}`,
	`(?i)\banonymous telemetry\b`, `\bError\b`, `[Ee]rror`, `colou?r`, `x{3,5}y`, `(?i)é`, `\x{FFFD}`, `(?i)\x{FFFD}a`,
	`[^\x00-\x{10FFFF}]`, `a[^\x00-\x{10FFFF}]|b`, `(?m)^Traceback$`, `(?s)a.b`, `\Aabc\z`, `abc$`, `^abc`,
	`(?i)[k-l]x`, `[\x{17F}s]x`, `(a+)(b+)`, `(?U)a+?b`, `(?i)(Error|Warning): (\w+)`, `é+`, `\pL+rror`,
}

var texts = []string{
	"", "a", "b", "ab", "abc", "xabcx", "Error", "an Error here", "ValueError", "KeyException: x", "MyErrors",
	"Traceback (most recent call last):\n  File \"x.py\", line 12, in <module>\nValueError: boom",
	"TELEMETRY", "anonymous telemetry", "ANONYMOUſ TELEMETRY", "anonymouſ", "\u212a", "\u212as", "k\u017f", "KS",
	"\xff", "a\xffb", "\xef\xbf\xbd", "\xe2\x84", "color colour", "xxxy", "xxxxxxy", "é É", "repo_id=1", "REPO_ID",
	`{"k":"0123456789abcdefghijklmnopqrstuvwxyz"},`, "abc\n", "x\nabc", "\nTraceback\n", "Warning: careful",
	"a\u017fx", "sx Sx", "kx KX", "\u212ax",
}

// differ compares every wrapped method with regexp's; "" when all agree.
func differ(expr, text string) (string, error) {
	want, werr := regexp.Compile(expr)
	got, gerr := textmatch.Compile(expr)
	if (werr == nil) != (gerr == nil) {
		return fmt.Sprintf("compile errors differ: %v vs %v", werr, gerr), nil
	}
	if werr != nil {
		return "", werr
	}
	b := []byte(text)
	checks := []struct {
		name      string
		want, got any
	}{
		{"MatchString", want.MatchString(text), got.MatchString(text)},
		{"Match", want.Match(b), got.Match(b)},
		{"FindStringIndex", want.FindStringIndex(text), got.FindStringIndex(text)},
		{"FindIndex", want.FindIndex(b), got.FindIndex(b)},
		{"FindStringSubmatch", want.FindStringSubmatch(text), got.FindStringSubmatch(text)},
		{"String", want.String(), got.String()},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.want, c.got) {
			return fmt.Sprintf("%s(%q) on %q: regexp %#v, textmatch %#v (prefilter %q)", c.name, text, expr, c.want, c.got, got.Prefilter()), nil
		}
	}
	set, err := textmatch.CompileSet([]string{expr, `(?i)telemetry`, expr})
	if err != nil {
		return "", err
	}
	var wantSet []int
	for i, e := range []*regexp.Regexp{want, regexp.MustCompile(`(?i)telemetry`), want} {
		if e.MatchString(text) {
			wantSet = append(wantSet, i)
		}
	}
	if gs, gb := set.MatchString(text), set.Match(b); !reflect.DeepEqual(gs, wantSet) || !reflect.DeepEqual(gb, wantSet) {
		return fmt.Sprintf("Set on %q with %q: regexp %v, textmatch %v / %v", text, expr, wantSet, gs, gb), nil
	}
	var wantLocs [][]int
	for i, e := range []*regexp.Regexp{want, regexp.MustCompile(`(?i)telemetry`), want} {
		if loc := e.FindStringIndex(text); loc != nil {
			if wantLocs == nil {
				wantLocs = make([][]int, 3)
			}
			wantLocs[i] = loc
		}
	}
	if gs, gb := set.FindStringIndexes(text), set.FindIndexes(b); !reflect.DeepEqual(gs, wantLocs) || !reflect.DeepEqual(gb, wantLocs) {
		return fmt.Sprintf("Set.FindIndexes on %q with %q: regexp %v, textmatch %v / %v", text, expr, wantLocs, gs, gb), nil
	}
	return "", nil
}

var _ = Describe("Equivalence with regexp", func() {
	It("gives regexp's results for the policy and edge-case patterns on every text", func() {
		var bad []string
		for _, e := range append(append([]string{}, policyPatterns...), edgePatterns...) {
			for _, t := range append(texts, strings.Repeat("padding ", 200)+t0(texts)) {
				d, err := differ(e, t)
				Expect(err).NotTo(HaveOccurred(), e)
				if d != "" {
					bad = append(bad, d)
				}
			}
		}
		Expect(bad).To(BeEmpty())
	})

	It("still finds the Unicode fold partners regexp matches under (?i)", func() {
		for _, c := range []struct{ expr, text string }{
			{`(?i)k`, "\u212a"}, {`(?i)s`, "\u017f"}, {`(?i)ſ`, "S"}, {`(?i)anonymous`, "ANONYMOU\u017f"},
			{`(?i)Traceback`, "TRACEBAC\u212a"}, {`(?i)é`, "É"},
		} {
			Expect(textmatch.MustCompile(c.expr).MatchString(c.text)).To(BeTrue(), "%s on %q", c.expr, c.text)
		}
	})

	It("runs the regexp on every text for \\x{FFFD}, which regexp matches against an invalid byte", func() {
		Expect(textmatch.MustCompile(`\x{FFFD}`).Prefilter()).To(BeEmpty())
		Expect(textmatch.MustCompile(`\x{FFFD}`).FindStringIndex("x\xff")).To(Equal([]int{1, 2}))
		re := textmatch.MustCompile(`a\x{FFFD}b`)
		Expect(re.Prefilter()).To(Equal("a"), "the literals around it still count")
		Expect(re.FindStringIndex("xa\xffb")).To(Equal([]int{1, 4}))
	})
})

// t0 puts the texts' interesting content after a long prefix too.
func t0(ts []string) string { return strings.Join(ts, " ") }

func FuzzEquivalence(f *testing.F) {
	for _, e := range append(append([]string{}, policyPatterns...), edgePatterns...) {
		for _, t := range []string{"", "an Error: anonymous TELEMETRY \u212a\u017f", "\xff\xef\xbf\xbd", texts[11]} {
			f.Add(e, t)
		}
	}
	f.Fuzz(func(t *testing.T, expr, text string) {
		d, err := differ(expr, text)
		if err != nil {
			return // not a valid expression: only the error agreement matters, checked in differ
		}
		if d != "" {
			t.Fatal(d)
		}
	})
}
