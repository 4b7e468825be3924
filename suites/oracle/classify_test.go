package oracle_test

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"net"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/suites/oracle"
)

// The worked example of the research note (real humbug 0.2.7 capture).
const (
	repoID    = "7775F8D5-FC58-4DBC-9302-D00AE4A1505F"
	repoHash  = "5a01f053c895c2078d9a3db0496d8944fda894ec5f43a4f5df0023bc927e8fb5"
	machineID = "7253fd5f0460a49eb6f4c4b4150e48534577a8d746d3d5c84e31b05a55bda61c"
	userID    = "c097d99e988826c75cb2b4d4b56f937590ba2f0cf32e8be063321ef97cd5ca51"
)

var _ = Describe("Classify", func() {
	var in oracle.Inputs

	classify := func(observed string) oracle.Match {
		GinkgoHelper()
		m, ok := oracle.Classify(observed, in)
		Expect(ok).To(BeTrue(), "no formula matched")
		return m
	}

	BeforeEach(func() {
		in = oracle.Inputs{
			RepoID: repoID,
			Values: map[string][]string{
				"user": {"alice"},
				"node": {"123456789012", "00:1c:be:99:1a:14"},
				"host": {"kavero-milasula-07"},
			},
		}
	})

	It("recognises the worked example's three ids", func() {
		Expect(classify(repoHash)).To(Equal(oracle.Match{Formula: "sha256(R)", Role: "repo-id", Input: repoID, Salted: true}))
		Expect(classify(machineID)).To(Equal(oracle.Match{Formula: "sha256(R.v)", Role: "node", Input: "123456789012", Salted: true}))
		Expect(classify(userID)).To(Equal(oracle.Match{Formula: "sha256(R.v)", Role: "user", Input: "alice", Salted: true}))
	})

	It("recognises plain concatenation, as the page words it", func() {
		h := sha256.Sum256([]byte(repoID + "alice"))
		id := hex.EncodeToString(h[:])
		Expect(classify(id)).To(Equal(oracle.Match{Formula: "sha256(Rv)", Role: "user", Input: "alice", Salted: true}))
	})

	It("recognises an upper-case id (the format check is IsSHA256Hex's job)", func() {
		m, ok := oracle.Classify(strings.ToUpper(userID), in)
		Expect(ok).To(BeTrue())
		Expect(m.Formula).To(Equal("sha256(R.v)"))
		Expect(oracle.IsSHA256Hex(strings.ToUpper(userID))).To(BeFalse())
	})

	DescribeTable("reports unsalted hashes of known inputs as Salted=false",
		func(formula, role, input string, digest func(string) string) {
			m, ok := oracle.Classify(digest(input), in)
			Expect(ok).To(BeTrue())
			Expect(m).To(Equal(oracle.Match{Formula: formula, Role: role, Input: input, Salted: false}))
		},
		Entry("md5 of the user", "md5(v)", "user", "alice", func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }),
		Entry("sha1 of the node", "sha1(v)", "node", "123456789012", func(s string) string { h := sha1.Sum([]byte(s)); return hex.EncodeToString(h[:]) }),
		Entry("sha256 of the user", "sha256(v)", "user", "alice", func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }),
		Entry("sha512 of the host, upper-case", "sha512(v)", "host", "kavero-milasula-07", func(s string) string {
			h := sha512.Sum512([]byte(s))
			return strings.ToUpper(hex.EncodeToString(h[:]))
		}),
		Entry("md5 of the repo id", "md5(v)", "repo-id", repoID, func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }),
	)

	DescribeTable("matches nothing for near misses",
		func(observed string) {
			_, ok := oracle.Classify(observed, in)
			Expect(ok).To(BeFalse())
		},
		Entry("empty", ""),
		Entry("random sha256", strings.Repeat("ab", 32)),
		Entry("one digit off", userID[:63]+"0"),
		Entry("truncated", userID[:32]),
		Entry("sha256 of the lower-cased repo id with the user", func() string {
			h := sha256.Sum256([]byte(strings.ToLower(repoID) + ".alice"))
			return hex.EncodeToString(h[:])
		}()),
		Entry("a raw value", "alice"),
	)

	It("matches no salted formula without a repo id, and still finds unsalted hashes", func() {
		in.RepoID = ""
		_, ok := oracle.Classify(repoHash, in)
		Expect(ok).To(BeFalse())
		h := sha256.Sum256([]byte("alice"))
		m, ok := oracle.Classify(hex.EncodeToString(h[:]), in)
		Expect(ok).To(BeTrue())
		Expect(m.Salted).To(BeFalse())
	})

	It("lists the ids the promise allows", func() {
		Expect(oracle.Expected("repo-id", in)).To(Equal([]string{repoHash}))
		Expect(oracle.Expected("user", in)).To(ContainElement(userID))
		Expect(oracle.Expected("user", in)).To(HaveLen(2))
		Expect(oracle.Expected("user", oracle.Inputs{})).To(BeEmpty())
	})
})

var _ = Describe("IsSHA256Hex", func() {
	It("accepts 64 lower-case hex digits only", func() {
		Expect(oracle.IsSHA256Hex(userID)).To(BeTrue())
		Expect(oracle.IsSHA256Hex(userID[:63])).To(BeFalse())
		Expect(oracle.IsSHA256Hex(userID + "0")).To(BeFalse())
		Expect(oracle.IsSHA256Hex(strings.Repeat("g", 64))).To(BeFalse())
		Expect(oracle.IsSHA256Hex("")).To(BeFalse())
	})
})

var _ = Describe("nodes", func() {
	It("spells a MAC the way uuid.getnode() and the canaries do", func() {
		mac := net.HardwareAddr{0x00, 0x1c, 0xbe, 0x99, 0x1a, 0x14}
		Expect(oracle.NodeDecimal(mac)).To(Equal("123456789012"))
		Expect(oracle.NodeForms(mac)).To(Equal([]string{"123456789012", "001cbe991a14", "00:1c:be:99:1a:14"}))
		for _, form := range oracle.NodeForms(mac) {
			Expect(oracle.ParseNode(form)).To(Equal(mac), form)
		}
		Expect(oracle.NodeDecimal(net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})).To(Equal("281474976710655"))
		_, err := oracle.ParseNode("not-a-node")
		Expect(err).To(MatchError(ContainSubstring("want a decimal 48-bit integer")))
	})

	It("lists this machine's candidates as 48-bit decimals, universal ones first", func() {
		nodes, err := oracle.NodeCandidates()
		Expect(err).NotTo(HaveOccurred(), "oracle.NodeCandidates")
		seenLocal := false
		for _, n := range nodes {
			Expect(n.MAC).To(HaveLen(6))
			Expect(n.Decimal).To(Equal(oracle.NodeDecimal(n.MAC)))
			if !n.Universal {
				seenLocal = true
			}
			Expect(seenLocal && n.Universal).To(BeFalse(), "universal MACs come before local ones")
		}
	})
})
