//go:build !linux

package netwatch

import "errors"

// ErrUnavailable is matched by every error saying that sealed namespaces
// cannot be made here.
var ErrUnavailable = errors.New("sealed network namespaces are unavailable: they need Linux")

// MaybeRunHelper does nothing outside Linux.
func MaybeRunHelper() {}

// Available reports that sealed namespaces need Linux.
func Available() error { return ErrUnavailable }
