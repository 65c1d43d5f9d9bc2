package triage

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// WatchError says why the interfaces to watch could not be chosen. The
// names in it come from the user and the kernel: Message cleans them for
// a terminal.
type WatchError struct {
	// Problem is what was wrong: WatchNoneUp, WatchAny or WatchUnknown.
	Problem WatchProblem
	// Name is the unknown name (WatchUnknown).
	Name string
	// AnyReason is why -i any is refused (WatchAny).
	AnyReason string
	// Interfaces are the interfaces of the sample, sorted by name.
	Interfaces []string
}

// WatchProblem is the kind of a WatchError.
type WatchProblem int

// The problems of WatchedInterfaces.
const (
	// WatchNoneUp: no interface is named and none is up.
	WatchNoneUp WatchProblem = iota
	// WatchAny: -i any was named where it is refused.
	WatchAny
	// WatchUnknown: a named interface is not in the sample.
	WatchUnknown
)

// Error is Message without cleaning.
func (e *WatchError) Error() string { return e.Message(func(s string, _ int) string { return s }) }

// Message is the error's text with every name passed through clean (with
// the longest length to keep, in runes): views/format.Sanitize for a
// terminal.
func (e *WatchError) Message(clean func(s string, maxRunes int) string) string {
	all := make([]string, len(e.Interfaces))
	for i, n := range e.Interfaces {
		all[i] = clean(n, 32)
	}
	sort.Strings(all)
	list := strings.Join(all, ", ")
	switch e.Problem {
	case WatchNoneUp:
		return fmt.Sprintf("no interface is up (interfaces: %s); name one with -i", list)
	case WatchAny:
		return fmt.Sprintf("-i any: %s; name them (interfaces: %s)", e.AnyReason, list)
	default:
		return fmt.Sprintf("unknown interface %q (interfaces: %s)", clean(e.Name, 40), list)
	}
}

// WatchedInterfaces returns the interfaces to judge in s: the named ones
// (each must exist; duplicates dropped, in the order given), or with none
// named every interface that is up except loopback, by name. anyReason,
// when set, refuses the name "any" with that reason; requireUp refuses an
// empty result when nothing was named. Errors are *WatchError.
func WatchedInterfaces(s *LinksSample, named []string, anyReason string, requireUp bool) ([]string, error) {
	all := make([]string, 0, len(s.Ifaces))
	for _, i := range s.Ifaces {
		all = append(all, i.Name)
	}
	sort.Strings(all)
	if len(named) == 0 {
		var out []string
		for _, i := range s.Ifaces {
			if i.IsUp() && !i.Loopback {
				out = append(out, i.Name)
			}
		}
		if len(out) == 0 && requireUp {
			return nil, &WatchError{Problem: WatchNoneUp, Interfaces: all}
		}
		sort.Strings(out)
		return out, nil
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range named {
		if n == "any" && anyReason != "" {
			return nil, &WatchError{Problem: WatchAny, AnyReason: anyReason, Interfaces: all}
		}
		if _, ok := s.Iface(n); !ok {
			return nil, &WatchError{Problem: WatchUnknown, Name: n, Interfaces: all}
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// KnownInterfaces checks named against have, the interfaces there are:
// the first name that is neither one of them nor "any" is a *WatchError.
func KnownInterfaces(have, named []string) error {
	for _, n := range named {
		if n != "any" && !slices.Contains(have, n) {
			all := slices.Clone(have)
			sort.Strings(all)
			return &WatchError{Problem: WatchUnknown, Name: n, Interfaces: all}
		}
	}
	return nil
}
