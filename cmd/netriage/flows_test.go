package main

import (
	"errors"
	"strings"
	"testing"

	"netriage/configs"
	"netriage/triage/flows"
)

func TestFlowsResolveDisplay(t *testing.T) {
	tests := []struct {
		name     string
		f        flowFlags
		wantAgg  flows.Aggregation
		wantSort flows.SortKey
		wantErr  string // substring; "" = no error
	}{
		{"defaults", flowFlags{sort: "10s"}, flows.ByHostPair, flows.Sort10s, ""},
		{"-P", flowFlags{sort: "2s", ports: true}, flows.ByHostPort, flows.Sort2s, ""},
		{"-o 40s", flowFlags{sort: "40s"}, flows.ByHostPair, flows.Sort40s, ""},
		{"-o source", flowFlags{sort: "source"}, flows.ByHostPair, flows.SortSource, ""},
		{"-o destination", flowFlags{sort: "destination"}, flows.ByHostPair, flows.SortDestination, ""},
		{"-o 5s", flowFlags{sort: "5s"}, 0, 0, `-o "5s"`},
		{"-o empty", flowFlags{sort: ""}, 0, 0, `-o ""`},
		{"-F ipv4", flowFlags{sort: "10s", common: commonFlags{localNet: "198.18.0.0/15"}}, flows.ByHostPair, flows.Sort10s, ""},
		{"-F ipv6", flowFlags{sort: "10s", common: commonFlags{localNet: "fd00:198:18::/64"}}, flows.ByHostPair, flows.Sort10s, ""},
		{"-F no length", flowFlags{sort: "10s", common: commonFlags{localNet: "198.18.0.1"}}, 0, 0, `-F "198.18.0.1"`},
		{"-F bad length", flowFlags{sort: "10s", common: commonFlags{localNet: "198.18.0.0/33"}}, 0, 0, `-F "198.18.0.0/33"`},
		{"-F words", flowFlags{sort: "10s", common: commonFlags{localNet: "lan"}}, 0, 0, `-F "lan"`},
		{"-L negative", flowFlags{sort: "10s", limit: -1}, 0, 0, "-L -1"},
		{"aggregate 5tuple", flowFlags{sort: "10s", aggregate: "5tuple"}, flows.By5Tuple, flows.Sort10s, ""},
		{"aggregate s", flowFlags{sort: "10s", aggregate: "s"}, flows.BySource, flows.Sort10s, ""},
		{"aggregate d", flowFlags{sort: "10s", aggregate: "d"}, flows.ByDestination, flows.Sort10s, ""},
		{"aggregate ports", flowFlags{sort: "10s", aggregate: "ports"}, flows.ByHostPort, flows.Sort10s, ""},
		{"aggregate bogus", flowFlags{sort: "10s", aggregate: "bogus"}, 0, 0, `--aggregate "bogus"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.f.common.resolve() // -F is checked with the other common flags
			var agg flows.Aggregation
			var key flows.SortKey
			if err == nil {
				agg, key, err = tc.f.resolveDisplay()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if !errors.Is(err, configs.ErrUsage) {
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

// TestFlowsBadInput runs the subcommand with bad flags: exit 2 and a
// message naming the problem, before any capture is opened.
func TestFlowsBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"sort", []string{"-o", "1m"}, `-o "1m"`},
		{"net", []string{"-F", "10.0.0.0"}, `-F "10.0.0.0"`},
		{"aggregate", []string{"--aggregate", "x"}, `--aggregate "x"`},
		{"output", []string{"--output", "xml"}, "xml"},
		{"argument", []string{"extra"}, `unexpected argument "extra"`},
		{"filter", []string{"-n", "-f", "tcp port"}, "tcp port"},
		{"unknown flag", []string{"--bogus"}, "bogus"},
		{"ring memory", []string{"--fanout", "64"}, "capture rings: 2048 MiB (ring_mib 32 × fanout 64 × 1 interface(s)) is over the limit of 1024 MiB"},
		{"ring memory per interface", []string{"--fanout", "20", "-i", "lo,lo"}, "1280 MiB (ring_mib 32 × fanout 20 × 2 interface(s))"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCmd(t, append([]string{"flows"}, tc.args...)...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "goroutine ") {
				t.Errorf("stderr %q does not name %q (or has a stack trace)", stderr, tc.want)
			}
		})
	}
}
