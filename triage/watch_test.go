package triage

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWatchedInterfaces(t *testing.T) {
	up := func(name string) IfaceSample { return IfaceSample{Name: name, OperState: "up", AdminUp: true} }
	s := &LinksSample{Ifaces: []IfaceSample{
		{Name: "lo", OperState: "unknown", AdminUp: true, Loopback: true}, up("eth1"), up("eth0"), {Name: "wg0", OperState: "down"},
	}}
	down := &LinksSample{Ifaces: []IfaceSample{{Name: "lo", Loopback: true, AdminUp: true}, {Name: "eth0", OperState: "down"}}}
	tests := []struct {
		name      string
		s         *LinksSample
		named     []string
		anyReason string
		requireUp bool
		want      []string
		wantErr   string
	}{
		{name: "every interface up, loopback excluded, by name", s: s, want: []string{"eth0", "eth1"}},
		{name: "named, in order, duplicates dropped", s: s, named: []string{"wg0", "eth1", "wg0"}, want: []string{"wg0", "eth1"}},
		{name: "unknown name", s: s, named: []string{"eth0", "nosuch"}, wantErr: `unknown interface "nosuch" (interfaces: eth0, eth1, lo, wg0)`},
		{name: "any refused", s: s, named: []string{"any"}, anyReason: "check answers per interface", wantErr: "-i any: check answers per interface; name them (interfaces: eth0, eth1, lo, wg0)"},
		{name: "any without a reason is a name", s: s, named: []string{"any"}, wantErr: `unknown interface "any"`},
		{name: "none up", s: down, requireUp: true, wantErr: "no interface is up (interfaces: eth0, lo); name one with -i"},
		{name: "none up allowed", s: down},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := WatchedInterfaces(tc.s, tc.named, tc.anyReason, tc.requireUp)
			if tc.wantErr != "" {
				var we *WatchError
				if !errors.As(err, &we) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want a *WatchError with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("watched (-want +got):\n%s", d)
			}
		})
	}
}

// TestWatchErrorMessage: every name goes through the cleaning function
// with its length, and the list is sorted after cleaning.
func TestWatchErrorMessage(t *testing.T) {
	e := &WatchError{Problem: WatchUnknown, Name: "bad\x1b", Interfaces: []string{"b", "a"}}
	clean := func(s string, n int) string { return strings.ReplaceAll(s, "\x1b", "?") + "/" + string(rune('0'+n/10)) }
	if got, want := e.Message(clean), `unknown interface "bad?/4" (interfaces: a/3, b/3)`; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
}

func TestKnownInterfaces(t *testing.T) {
	have := []string{"lo", "eth0", "wg0"}
	tests := []struct {
		name    string
		named   []string
		wantErr string
	}{
		{"none named", nil, ""},
		{"all known, any allowed", []string{"eth0", "any", "lo"}, ""},
		{"first unknown, list sorted", []string{"eth0", "nosuch", "other"}, `unknown interface "nosuch" (interfaces: eth0, lo, wg0)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := KnownInterfaces(have, tc.named)
			var we *WatchError
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tc.wantErr != "" && (!errors.As(err, &we) || err.Error() != tc.wantErr):
				t.Errorf("err = %v, want the *WatchError %q", err, tc.wantErr)
			}
		})
	}
}
