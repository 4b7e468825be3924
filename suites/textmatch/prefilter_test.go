package textmatch_test

import (
	"bytes"
	"errors"
	"regexp/syntax"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/textmatch"
)

// body is a JSON-ish text holding none of the policy patterns' literals.
func body(n int) []byte {
	return bytes.Repeat([]byte(`{"k":"0123456789abcdefghijklmnopqrstuvwxyz"},`), n/45+1)[:n]
}

var _ = Describe("Prefilter", func() {
	It("derives the literals the policy patterns need", func() {
		want := map[string]string{
			`(?i)telemetry`:                       "(?i)telemetry",
			`(?i)anonymous`:                       "(?i)anonymous | (?i)anonymouſ",
			`File "[^"]*", line [0-9]+`:           `", line `,
			`\b[A-Z][A-Za-z]*(Error|Exception)\b`: "Error | Exception",
			`Traceback \(most recent call last\)`: "Traceback (most recent call last)",
			`(?i)k`:                               "(?i)k | \u212a",
			`a*`:                                  "",
			`a|`:                                  "",
			`^$`:                                  "",
		}
		for expr, pre := range want {
			Expect(textmatch.MustCompile(expr).Prefilter()).To(Equal(pre), expr)
		}
	})

	It("skips the regexp on a body without the required literals and runs it on one with them", func() {
		b := body(10 << 10)
		for _, expr := range policyPatterns {
			re := textmatch.MustCompile(expr)
			Expect(re.Match(b)).To(BeFalse(), expr)
			Expect(re.FindIndex(b)).To(BeNil(), expr)
			Expect(re.FindStringIndex(string(b))).To(BeNil(), expr)
			Expect(textmatch.Runs(re)).To(BeZero(), "%s: the prefilter should have skipped the regexp", expr)
		}

		re := textmatch.MustCompile(`(?i)telemetry`)
		hit := append(body(10<<10), "... TeleMetry ..."...)
		Expect(re.FindIndex(hit)).To(Equal([]int{10<<10 + 4, 10<<10 + 13}))
		Expect(textmatch.Runs(re)).To(Equal(uint64(1)))
	})

	It("runs the regexp on every text when nothing is required", func() {
		re := textmatch.MustCompile(`[a-z]+[0-9]`)
		Expect(re.Prefilter()).To(BeEmpty())
		Expect(re.MatchString("abc")).To(BeFalse())
		Expect(textmatch.Runs(re)).To(Equal(uint64(1)))
	})

	It("lets a Set search each literal once and run only the expressions whose literals occur", func() {
		set, err := textmatch.CompileSet(policyPatterns)
		Expect(err).NotTo(HaveOccurred(), "textmatch.CompileSet")
		Expect(set.Len()).To(Equal(len(policyPatterns)))
		Expect(set.Match(body(10 << 10))).To(BeEmpty())
		Expect(set.FindIndexes(body(10 << 10))).To(BeNil())
		text := string(body(1<<10)) + `Traceback (most recent call last): File "a.py", line 3 ValueError`
		Expect(set.MatchString(text)).To(Equal([]int{3, 4, 5}))
		for i := range set.Len() {
			want := uint64(0)
			if i >= 3 {
				want = 1
			}
			Expect(textmatch.Runs(set.Regexp(i))).To(Equal(want), policyPatterns[i])
		}
		Expect(set.Regexp(5).FindStringIndex(text)).To(Equal([]int{len(text) - 10, len(text)}))
	})

	It("is safe for concurrent use (run with -race)", func() {
		set, err := textmatch.CompileSet(policyPatterns)
		Expect(err).NotTo(HaveOccurred(), "textmatch.CompileSet")
		text := string(body(1<<10)) + " anonymous "
		results := make(chan []int, 4)
		for range 4 {
			go func() {
				defer GinkgoRecover()
				results <- set.MatchString(text)
			}()
		}
		for range 4 {
			Eventually(results).WithTimeout(10 * time.Second).Should(Receive(Equal([]int{2})))
		}
		Expect(textmatch.Runs(set.Regexp(2))).To(Equal(uint64(4)))
	})

	It("wraps regexp's compile error with the expression", func() {
		_, err := textmatch.Compile(`File "(`)
		Expect(err).To(MatchError(ContainSubstring(`compile "File \"(": error parsing regexp: missing closing )`)))
		var serr *syntax.Error
		Expect(errors.As(err, &serr)).To(BeTrue())
		Expect(serr.Code).To(Equal(syntax.ErrMissingParen))

		_, err = textmatch.CompileSet([]string{`ok`, `a**`})
		Expect(err).To(MatchError(ContainSubstring(`compile "a**"`)))
		Expect(strings.Count(err.Error(), "a**")).To(BeNumerically(">=", 1))
	})
})
