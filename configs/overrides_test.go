package configs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"netriage/triage/flows"
)

func TestFlowsDisplay(t *testing.T) {
	tests := []struct {
		name      string
		aggregate string
		ports     bool
		sort      string
		limit     int
		wantAgg   flows.Aggregation
		wantSort  flows.SortKey
		wantErr   string // substring; "" = no error
	}{
		{"defaults", "", false, "10s", 0, flows.ByHostPair, flows.Sort10s, ""},
		{"-P", "", true, "2s", 0, flows.ByHostPort, flows.Sort2s, ""},
		{"-o 40s", "", false, "40s", 0, flows.ByHostPair, flows.Sort40s, ""},
		{"-o source", "", false, "source", 0, flows.ByHostPair, flows.SortSource, ""},
		{"-o destination", "", false, "destination", 0, flows.ByHostPair, flows.SortDestination, ""},
		{"-o 5s", "", false, "5s", 0, 0, 0, `-o "5s"`},
		{"-o empty", "", false, "", 0, 0, 0, `-o ""`},
		{"-L negative", "", false, "10s", -1, 0, 0, "-L -1"},
		{"aggregate 5tuple", "5tuple", false, "10s", 0, flows.By5Tuple, flows.Sort10s, ""},
		{"aggregate s", "s", false, "10s", 0, flows.BySource, flows.Sort10s, ""},
		{"aggregate d", "d", false, "10s", 0, flows.ByDestination, flows.Sort10s, ""},
		{"aggregate ports", "ports", false, "10s", 0, flows.ByHostPort, flows.Sort10s, ""},
		{"aggregate bogus", "bogus", false, "10s", 0, 0, 0, `--aggregate "bogus"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			agg, key, err := FlowsDisplay(tc.aggregate, tc.ports, tc.sort, tc.limit)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if !errors.Is(err, ErrUsage) {
					t.Errorf("err = %v is not a usage error (exit 2)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if agg != tc.wantAgg || key != tc.wantSort {
				t.Errorf("got (%v, %v), want (%v, %v)", agg, key, tc.wantAgg, tc.wantSort)
			}
		})
	}
}

// TestResolveCaptureFlags: -F and -f are checked with the other flags,
// before anything is opened, and before the flags checked after them.
func TestResolveCaptureFlags(t *testing.T) {
	tests := []struct {
		name    string
		o       Overrides
		wantErr string // substring; "" = no error
	}{
		{"none", Overrides{}, ""},
		{"-F ipv4 and -f", Overrides{LocalNet: "198.18.0.0/15", Filter: "tcp port 443"}, ""},
		{"-F ipv6", Overrides{LocalNet: "fd00:198:18::/64"}, ""},
		{"-F no length", Overrides{LocalNet: "198.18.0.1"}, `-F "198.18.0.1": want NET/LEN`},
		{"-F first", Overrides{LocalNet: "lan", Count: -1}, `-F "lan"`},
		{"-f with a newline", Overrides{Filter: "tcp\nport 443"}, "-f: the filter contains a NUL or newline character"},
		{"-f with a NUL", Overrides{Filter: "tcp\x00"}, "-f: the filter contains a NUL or newline character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Resolve("", nil, tc.o)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrUsage) {
				t.Errorf("err = %v, want a usage error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestReplayFlags(t *testing.T) {
	tests := []struct {
		name       string
		check      bool
		interval   time.Duration
		linkSpeeds []string
		wantLink   string
		wantBps    uint64
		wantErr    string // substring; "" = no error
	}{
		{"records", false, 0, nil, "", 0, ""},
		{"records every 5s", false, 5 * time.Second, nil, "", 0, ""},
		{"negative interval", false, -time.Second, nil, "", 0, "--interval -1s: must be positive"},
		{"--link-speed without --check", false, 0, []string{"100M"}, "", 0, "--link-speed only applies with --check"},
		{"check without a link speed", true, 0, nil, "", 0, ""},
		{"check RATE", true, 0, []string{"100M"}, "", 100e6, ""},
		{"check IF=RATE", true, 0, []string{"wan=1G"}, "wan", 1e9, ""},
		{"check two links", true, 0, []string{"100M", "1G"}, "", 0, "--link-speed given 2 times"},
		{"check bad rate", true, 0, []string{"fast"}, "", 0, `--link-speed "fast"`},
		{"check negative interval", true, -time.Second, []string{"100M"}, "", 0, "--interval -1s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			link, bps, err := ReplayFlags(tc.check, tc.interval, tc.linkSpeeds)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrUsage) {
					t.Errorf("err = %v, want a usage error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || link != tc.wantLink || bps != tc.wantBps {
				t.Errorf("got %q, %d, %v; want %q, %d", link, bps, err, tc.wantLink, tc.wantBps)
			}
		})
	}
}
