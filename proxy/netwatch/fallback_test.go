package netwatch_test

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
)

var _ = Describe("where sealed namespaces cannot be made", func() {
	eperm := fmt.Errorf("start namespace helper: fork/exec /proc/self/exe: %w", syscall.EPERM)

	DescribeTable("the error names the cause and the fix",
		func(err error, facts netwatch.HostFacts, cause, fix string) {
			got := netwatch.Diagnose(err, facts)
			Expect(errors.Is(got, netwatch.ErrUnavailable)).To(BeTrue(), "callers branch on ErrUnavailable to run proxy-only: %v", got)
			Expect(errors.Is(got, syscall.EPERM) || errors.Is(got, err)).To(BeTrue(), "the observed failure stays in the chain")
			var u *netwatch.UnavailableError
			Expect(errors.As(got, &u)).To(BeTrue())
			Expect(u.Reason).To(ContainSubstring(cause))
			Expect(u.Fix).To(ContainSubstring(fix))
			Expect(got.Error()).To(And(ContainSubstring(cause), ContainSubstring(fix), ContainSubstring("operation not permitted")))
		},
		Entry("AppArmor on ubuntu-24.04",
			fmt.Errorf("set up namespace: create a sink device: %w", syscall.EPERM),
			netwatch.HostFacts{EUID: 1001, MaxUserNamespaces: 63000, UnprivilegedUsernsClone: -1, AppArmorRestrict: 1},
			"AppArmor", "apparmor_restrict_unprivileged_userns=0"),
		Entry("Debian with unprivileged user namespaces off", eperm,
			netwatch.HostFacts{EUID: 1001, MaxUserNamespaces: 63000, UnprivilegedUsernsClone: 0, AppArmorRestrict: -1},
			"unprivileged_userns_clone = 0", "as root"),
		Entry("user namespaces off everywhere", eperm,
			netwatch.HostFacts{EUID: 1001, MaxUserNamespaces: 0, UnprivilegedUsernsClone: -1, AppArmorRestrict: -1},
			"max_user_namespaces = 0", "positive"),
		Entry("root in a locked-down container", eperm,
			netwatch.HostFacts{EUID: 0, MaxUserNamespaces: 63000, UnprivilegedUsernsClone: -1, AppArmorRestrict: -1},
			"even root", "seccomp"),
	)

	It("passes other failures through unchanged", func() {
		err := errors.New("start namespace: decode helper reply: unexpected end of JSON input")
		Expect(netwatch.Diagnose(err, netwatch.HostFacts{EUID: 1001})).To(MatchError(err))
		Expect(errors.Is(netwatch.Diagnose(err, netwatch.HostFacts{}), netwatch.ErrUnavailable)).To(BeFalse())
	})

	It("refuses a namespace with a route or an interface that leads out", func() {
		// The test's own namespace is the host's: it has interfaces other
		// than lo that are up (or at least routes that are not lo's).
		ifaces, err := net.Interfaces()
		Expect(err).NotTo(HaveOccurred(), "net.Interfaces")
		lo := 0
		others := 0
		for _, i := range ifaces {
			if i.Flags&net.FlagLoopback != 0 {
				lo = i.Index
			} else if i.Flags&net.FlagUp != 0 {
				others++
			}
		}
		if others == 0 {
			Skip("this namespace has no interface besides lo that is up: nothing to refuse")
		}
		_, err = netwatch.CheckSealed(map[int]bool{lo: true})
		Expect(err).To(MatchError(ContainSubstring("refusing to run")))
	})
})
