package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"netriage/configs"
	"netriage/triage/flows"
	"netriage/triage/verdict"
	"netriage/views/report"
)

// TestCheckBadInput checks that every bad flag or config value exits 3 (the
// plugin convention's unknown) with a message naming the problem, and
// prints nothing on stdout.
func TestCheckBadInput(t *testing.T) {
	dir := t.TempDir()
	badCfg := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badCfg, []byte("check:\n  warn_utilization: 1.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unknownKey := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknownKey, []byte("check:\n  wran_utilization: 0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--bogus"}, "unknown flag: --bogus"},
		{"argument", []string{"eth0"}, `unexpected argument "eth0"`},
		{"duration too short", []string{"--duration", "200ms"}, "too short for a verdict"},
		{"duration negative", []string{"--duration", "-5s"}, "--duration -5s is too short"},
		{"duration zero", []string{"--duration", "0s"}, "too short for a verdict"},
		{"duration syntax", []string{"--duration", "ten"}, "invalid argument"},
		{"interval", []string{"--interval", "1ms"}, "--interval 1ms is out of range"},
		{"fanout", []string{"--fanout", "65"}, "--fanout 65 is out of range: use 1..64"},
		{"fanout negative", []string{"--fanout", "-1"}, "--fanout -1 is out of range"},
		{"ring memory", []string{"--fanout", "40"}, "capture rings: 1280 MiB (ring_mib 32 × fanout 40 × 1 interface(s)) is over the limit of 1024 MiB of ring memory per run; lower capture.ring_mib or --fanout"},
		{"output", []string{"--output", "yaml"}, `--output "yaml": use one of text, json, markdown`},
		{"link speed", []string{"--link-speed", "eth0"}, "want IFACE=RATE"},
		{"link speed rate", []string{"--link-speed", "eth0=fast"}, "not a number"},
		{"warn above crit", []string{"--warn", "0.99"}, "check.warn_utilization (0.99) is above check.crit_utilization"},
		{"crit out of range", []string{"--crit", "2"}, "check.crit_utilization: 2 is out of range"},
		{"explain zero", []string{"--explain-share", "0"}, "check.explain_share: 0 is out of range"},
		{"negative drops", []string{"--min-drops", "-1"}, "check.min_drops_per_sec: -1 is negative"},
		{"local net", []string{"-F", "198.18.0.0"}, `-F "198.18.0.0": want NET/LEN`},
		{"config missing", []string{"--config", filepath.Join(dir, "none.yaml")}, "check the path given with --config"},
		{"config value", []string{"--config", badCfg}, "check.warn_utilization: 1.5 is out of range"},
		{"config key", []string{"--config", unknownKey}, "did you mean warn_utilization?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCmd(t, append([]string{"check"}, tc.args...)...)
			if code != exitUnknown {
				t.Errorf("exit code %d, want %d", code, exitUnknown)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.Contains(errOut, tc.want) || !strings.HasPrefix(errOut, "netriage check: ") {
				t.Errorf("stderr %q does not contain %q", errOut, tc.want)
			}
		})
	}
}

func TestReplayCheck(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fl := []verdict.Flow{{
		Key:       flows.Key{Proto: flows.ProtoTCP, Local: netip.MustParseAddr("198.18.0.1"), Remote: netip.MustParseAddr("198.18.1.2"), LocalPort: 40000, RemotePort: 5201},
		SentBytes: 12_000_000, SentPackets: 8000, RecvBytes: 100_000, RecvPackets: 2000,
	}}
	tests := []struct {
		name     string
		speeds   []string
		output   string
		wantCode int
		want     string
	}{
		{"saturated", []string{"10M"}, "json", 2, `"capacity_source":"user"`},
		{"named", []string{"eth0=10M"}, "text", 2, "eth0 tx  CRITICAL (saturated)"},
		{"coverage n/a", []string{"10M"}, "markdown", 2, "a capture file has no interface counters"},
		{"no speed", nil, "text", 3, "--link-speed RATE (e.g. --link-speed 100M)"},
		{"fast link", []string{"1G"}, "json", 0, `"verdict":"ok"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o, e bytes.Buffer
			name, bps, err := configs.ParseFileLinkSpeed(tc.speeds)
			if err != nil {
				t.Fatal(err)
			}
			w := verdict.FileWindow("lab.pcap", t0, t0.Add(10*time.Second), fl, verdict.Capture{Packets: 10000}, name, bps)
			code := writeCheck(&cmdEnv{stdout: &o, stderr: &e}, verdict.Evaluate(w, configs.DefaultCheck().Thresholds()), report.Format(tc.output))
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, e.String())
			}
			if !strings.Contains(o.String(), tc.want) {
				t.Errorf("output does not contain %q:\n%s", tc.want, o.String())
			}
			if tc.output == "json" {
				var r verdict.Report
				if err := json.Unmarshal(o.Bytes(), &r); err != nil || r.Interfaces[0].TX.Coverage.Ratio != nil {
					t.Errorf("json: %v, coverage %v (want n/a)", err, r.Interfaces[0].TX.Coverage.Ratio)
				}
			}
		})
	}
	// Bad speeds are refused before the file is opened (it does not
	// exist here).
	for _, bad := range [][]string{{"fast"}, {"10M", "20M"}, {"eth0="}} {
		args := []string{"replay", "--check"}
		for _, b := range bad {
			args = append(args, "--link-speed", b)
		}
		out, errOut, code := runCmd(t, append(args, filepath.Join(t.TempDir(), "missing.pcap"))...)
		if code != exitUnknown || out != "" || !strings.Contains(errOut, "--link-speed") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", bad, code, out, errOut)
		}
	}
}
