package netwatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrUnavailable is matched (errors.Is) by every error saying that sealed
// namespaces cannot be made here. The caller then runs with the proxy alone
// and reports egress and DNS as "not verified", never as passed.
var ErrUnavailable = errors.New("sealed network namespaces are unavailable")

// UnavailableError explains why namespaces cannot be made and how to fix it.
type UnavailableError struct {
	Reason string // what stands in the way
	Fix    string // what to do about it
	Err    error  // the failure observed
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%v: %s; %s (%v)", ErrUnavailable, e.Reason, e.Fix, e.Err)
}

func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// Available makes and discards one sealed namespace (helper, sink, route
// check, sockets: about as long as a run's setup) and returns nil, or an
// error matching ErrUnavailable that says why not and what to do.
func Available() error {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	s, err := start(ctx, Options{Hostname: "th-probe"}, true)
	if err != nil {
		return err
	}
	return s.Close()
}

// hostFacts are the settings that decide whether an unprivileged process may
// make user namespaces. -1 means the setting does not exist on this kernel.
type hostFacts struct {
	EUID int
	// MaxUserNamespaces is /proc/sys/user/max_user_namespaces (0 forbids).
	MaxUserNamespaces int
	// UnprivilegedUsernsClone is Debian's kernel.unprivileged_userns_clone.
	UnprivilegedUsernsClone int
	// AppArmorRestrict is kernel.apparmor_restrict_unprivileged_userns
	// (Ubuntu 23.10+, GitHub's ubuntu-24.04 runners): 1 lets unprivileged
	// processes make user namespaces but denies them capabilities there.
	AppArmorRestrict int
}

func readHostFacts() hostFacts {
	read := func(path string) int {
		b, err := os.ReadFile(path)
		if err != nil {
			return -1
		}
		v, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return -1
		}
		return v
	}
	return hostFacts{
		EUID:                    os.Geteuid(),
		MaxUserNamespaces:       read("/proc/sys/user/max_user_namespaces"),
		UnprivilegedUsernsClone: read("/proc/sys/kernel/unprivileged_userns_clone"),
		AppArmorRestrict:        read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
	}
}

// diagnose turns a failure to make or set up a namespace into an
// UnavailableError naming the likely cause, judged from the host's settings.
// Failures that are not about privileges are returned as they are.
func diagnose(err error, f hostFacts) error {
	msg := err.Error()
	denied := strings.Contains(msg, "operation not permitted") || strings.Contains(msg, "permission denied") ||
		strings.Contains(msg, "MaybeRunHelper") || strings.Contains(msg, "no space left on device") ||
		strings.Contains(msg, "invalid argument")
	if !denied {
		return err
	}
	const root = "run the harness as root (e.g. go test -exec sudo)"
	u := &UnavailableError{Err: err}
	switch {
	case strings.Contains(msg, "MaybeRunHelper"):
		u.Reason = "the re-executed harness did not act as the namespace helper"
		u.Fix = "call netwatch.MaybeRunHelper() first in main and in TestMain"
	case f.MaxUserNamespaces == 0:
		u.Reason = "user namespaces are disabled (user.max_user_namespaces = 0)"
		u.Fix = "set sysctl user.max_user_namespaces to a positive number"
	case f.EUID != 0 && f.UnprivilegedUsernsClone == 0:
		u.Reason = "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)"
		u.Fix = root + ", or sysctl -w kernel.unprivileged_userns_clone=1"
	case f.EUID != 0 && f.AppArmorRestrict == 1:
		u.Reason = "AppArmor denies capabilities in unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)"
		u.Fix = root + ", or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
	case f.EUID == 0:
		u.Reason = "even root may not make namespaces here (a container's seccomp profile or missing privileges)"
		u.Fix = "run the container with --privileged or a seccomp profile that allows clone(CLONE_NEWUSER|CLONE_NEWNET), or run on the host"
	default:
		u.Reason = "this process may not make user and network namespaces, or lacks a capability inside them"
		u.Fix = root + ", or allow unprivileged user namespaces"
	}
	return u
}
