package flows

import (
	"net/netip"
	"testing"
)

func TestSpecialUseLocal(t *testing.T) {
	l := SpecialUseLocal()
	for _, tc := range []struct {
		addr  string
		local bool
	}{
		{"10.1.2.3", true}, {"172.31.255.1", true}, {"172.32.0.1", false}, {"192.168.1.1", true}, {"100.64.0.1", true},
		{"198.18.0.1", true}, {"198.19.255.255", true}, {"198.20.0.1", false}, {"169.254.1.1", true}, {"127.0.0.1", true},
		{"fd00:198:18::1", true}, {"fe80::1", true}, {"::1", true}, {"8.8.8.8", false}, {"2001:db8::1", false},
	} {
		if got := l.Contains(netip.MustParseAddr(tc.addr)); got != tc.local {
			t.Errorf("SpecialUseLocal().Contains(%s) = %v, want %v", tc.addr, got, tc.local)
		}
	}
}

func TestParseLocalNet(t *testing.T) {
	for _, tc := range []struct {
		in, desc string
		local    string
		err      bool
	}{
		{in: "198.18.0.7/15", desc: "198.18.0.0/15", local: "198.19.1.1"},
		{in: " fd00::1/8 ", desc: "fd00::/8", local: "fd12::1"},
		{in: "198.18.0.0", err: true},
		{in: "", err: true},
	} {
		l, desc, err := ParseLocalNet(tc.in)
		if (err != nil) != tc.err || desc != tc.desc {
			t.Errorf("ParseLocalNet(%q) = %q, %v; want %q, err=%v", tc.in, desc, err, tc.desc, tc.err)
			continue
		}
		if tc.local != "" && !l.Contains(netip.MustParseAddr(tc.local)) {
			t.Errorf("ParseLocalNet(%q) does not contain %s", tc.in, tc.local)
		}
	}
}
