package verdict

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestUnnamedRemotes(t *testing.T) {
	named := tcp(3, "198.18.0.9", 9000, 0)
	named.RemoteName = "big.example"
	fl := []Flow{tcp(1, "198.18.0.2", 100, 0), named, tcp(2, "198.18.0.3", 0, 500), tcp(4, "198.18.0.2", 1000, 0), tcp(5, "198.18.0.4", 10, 0)}
	addrs := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	tests := []struct {
		name string
		max  int
		want []netip.Addr
	}{
		{"largest first, each once, named left out", 64, addrs("198.18.0.2", "198.18.0.3", "198.18.0.4")},
		{"at most max", 2, addrs("198.18.0.2", "198.18.0.3")},
		{"none", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, UnnamedRemotes(fl, tc.max), cmpopts.EquateComparable(netip.Addr{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestNameRemotes(t *testing.T) {
	named := tcp(3, "198.18.0.9", 9000, 0)
	named.RemoteName = "kept.example"
	fl := []Flow{tcp(1, "198.18.0.2", 100, 0), named, tcp(2, "198.18.0.3", 0, 500)}
	NameRemotes(fl, func(a netip.Addr) string {
		if a == netip.MustParseAddr("198.18.0.2") {
			return "two.example"
		}
		return ""
	})
	var got []string
	for _, f := range fl {
		got = append(got, f.RemoteName)
	}
	if d := cmp.Diff([]string{"two.example", "kept.example", ""}, got); d != "" {
		t.Errorf("names (-want +got):\n%s", d)
	}
}
