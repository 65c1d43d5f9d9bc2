package main

import (
	"errors"
	"strings"
	"testing"

	"netriage/configs"
)

// TestCommonLocalNet: -F is checked with the other common flags, before
// anything is opened (the display flags are configs.FlowsDisplay's).
func TestCommonLocalNet(t *testing.T) {
	tests := []struct {
		name     string
		localNet string
		wantErr  string // substring; "" = no error
	}{
		{"none", "", ""},
		{"-F ipv4", "198.18.0.0/15", ""},
		{"-F ipv6", "fd00:198:18::/64", ""},
		{"-F no length", "198.18.0.1", `-F "198.18.0.1"`},
		{"-F bad length", "198.18.0.0/33", `-F "198.18.0.0/33"`},
		{"-F words", "lan", `-F "lan"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := commonFlags{localNet: tc.localNet}
			_, err := c.resolve()
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
		{"zero interval", []string{"--interval", "0s"}, "--interval 0s is out of range: use 10ms..1h"},
		{"negative interval", []string{"--interval", "-1s"}, "--interval -1s is out of range"},
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
