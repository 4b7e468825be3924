package matchers_test

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/matchers"
	"github.com/telemetry-harness/telemetry-harness/suites/oracle"
)

var _ = Describe("BeSaltedHashOf", func() {
	const repoID, user, node = "cnryrepo4f5g6h7j8k", "cnryuser8k2m4x7p", "cnrynode1q2w3e4r5t"
	var in oracle.Inputs

	sha256Hex := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	sha1Hex := func(s string) string { h := sha1.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

	BeforeEach(func() {
		in = oracle.Inputs{RepoID: repoID, Values: map[string][]string{"user": {user}, "node": {node}}}
	})

	// noRawValue asserts that a message holds none of the planted values.
	noRawValue := func(msgs []string) {
		GinkgoHelper()
		for _, m := range msgs {
			Expect(m).NotTo(SatisfyAny(ContainSubstring(repoID), ContainSubstring(user), ContainSubstring(node)))
		}
	}

	DescribeTable("passes each salted formula, and NotTo fails naming it",
		func(id, line string) {
			Expect(to(id, matchers.BeSaltedHashOf(in))).To(BeEmpty())
			failures := notTo(id, matchers.BeSaltedHashOf(in))
			noRawValue(failures)
			Expect(failures).To(Equal([]string{`Expected
    <id of 64 chars, lowercase sha256 hex>
not to be a salted hash of repo id R of 18 chars and planted values v: node (1), user (1)
    ` + line}))
		},
		Entry("sha256(R.v)", sha256Hex(repoID+"."+user), "matches sha256(R.v) with v the user value"),
		Entry("sha256(Rv)", sha256Hex(repoID+node), "matches sha256(Rv) with v the node value"),
		Entry("sha256(R)", sha256Hex(repoID), "matches sha256(R), the repo id alone"),
	)

	DescribeTable("fails an unsalted or unknown id without printing it or the inputs",
		func(id, summary, line string) {
			Expect(notTo(id, matchers.BeSaltedHashOf(in))).To(BeEmpty())
			failures := to(id, matchers.BeSaltedHashOf(in))
			noRawValue(failures)
			Expect(failures).To(Equal([]string{`Expected
    ` + summary + `
to be a salted hash of repo id R of 18 chars and planted values v: node (1), user (1)
    ` + line}))
		},
		Entry("unsalted sha256 of the user", sha256Hex(user), "<id of 64 chars, lowercase sha256 hex>", "unsalted sha256 of user"),
		Entry("unsalted sha1 of the repo id", sha1Hex(repoID), "<id of 40 chars, not lowercase sha256 hex>", "unsalted sha1 of repo-id"),
		Entry("an unrelated hash", sha256Hex("something else"), "<id of 64 chars, lowercase sha256 hex>",
			"matches no formula (tried sha256(R), sha256(R.v) and sha256(Rv) for every planted value)"),
		Entry("the raw user name", user, "<id of 16 chars, not lowercase sha256 hex>",
			"matches no formula (tried sha256(R), sha256(R.v) and sha256(Rv) for every planted value)"),
		Entry("an empty id", "", "<id of 0 chars, not lowercase sha256 hex>",
			"matches no formula (tried sha256(R), sha256(R.v) and sha256(Rv) for every planted value)"),
	)

	DescribeTable("errs under both To and NotTo on bad input",
		func(actual any, in oracle.Inputs, want string) {
			Expect(bothFail(actual, matchers.BeSaltedHashOf(in))).To(Equal(want))
		},
		Entry("nil", nil, oracle.Inputs{RepoID: repoID}, "BeSaltedHashOf matcher expects the observed id as a string, got nil"),
		Entry("a wrong type", []byte("abc"), oracle.Inputs{RepoID: repoID}, "BeSaltedHashOf matcher expects the observed id as a string, got []uint8"),
		Entry("no repo id to salt with", sha256Hex(user), oracle.Inputs{Values: map[string][]string{"user": {user}}},
			"BeSaltedHashOf matcher: oracle.Inputs has no RepoID: nothing can be salted without the repo id that was configured"),
	)

	It("clears what it found between calls, as Eventually needs", func() {
		m := matchers.BeSaltedHashOf(in)
		Expect(m.Match(sha256Hex(user))).To(BeFalse())
		Expect(m.Match(sha256Hex(repoID + "." + user))).To(BeTrue())
		Expect(m.NegatedFailureMessage(nil)).NotTo(ContainSubstring("unsalted"))
	})
})
