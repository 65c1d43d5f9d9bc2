package configs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestShippedConfigsLoad(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped configs found: %v", err)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			cfg, err := Load(f, os.Open)
			if err != nil {
				t.Fatalf("Load(%s): %v", f, err)
			}
			if f == "default.yaml" {
				def := Default()
				if cfg.Interval != def.Interval || cfg.Capture != def.Capture || cfg.Check != def.Check || cfg.Attribution != def.Attribution || cfg.UI != def.UI || cfg.Serve != def.Serve {
					t.Errorf("default.yaml differs from Default():\n file %+v\n code %+v", cfg, def)
				}
				if d := cmp.Diff(def.Egress, cfg.Egress, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("default.yaml's egress differs from Default() (-code +file):\n%s", d)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   []string // substrings of the error
		absent []string // file text the error must not quote
	}{
		{"unknown key", "interval: 1s\nbogus: 3\n", []string{"line 2", "unknown key in the top level", "keys there: attribution, capture"}, []string{"bogus"}},
		{"typo", "check:\n  wran_utilization: 0.5\n", []string{"line 2", "unknown key in section check", "did you mean warn_utilization?"}, []string{"wran"}},
		{"bad duration", "interval: soon\n", []string{"line 1", "not a duration"}, []string{"soon"}},
		{"out of range interval", "interval: 1ns\n", []string{"interval", "out of range"}, nil},
		{"bad speed", "links:\n  speeds:\n    eth0: fast\n", []string{"links.speeds.eth0", "not a rate"}, []string{"fast"}},
		{"speed key", "links:\n  speeds:\n    'a b/c': 1G\n", []string{"links.speeds", "not an interface name"}, []string{"a b/c"}},
		{"warn above crit", "check:\n  warn_utilization: 0.9\n  crit_utilization: 0.5\n", []string{"warn_utilization", "crit_utilization"}, nil},
		{"conntrack ratio", "check:\n  conntrack_full_ratio: 1.5\n", []string{"check.conntrack_full_ratio", "out of range"}, nil},
		{"negative stack rates", "check:\n  nic_drops_per_sec: -1\n  endpoint_drops_per_sec: -2\n", []string{"check.nic_drops_per_sec: -1 is negative", "check.endpoint_drops_per_sec: -2 is negative"}, nil},
		{"burst interval too short", "check:\n  burst_interval: 1ms\n", []string{"check.burst_interval: 1ms is out of range (0 to disable the burst sampler, or 10ms..500ms"}, nil},
		{"burst interval too long", "check:\n  burst_interval: 2s\n", []string{"check.burst_interval: 2s is out of range"}, nil},
		{"burst interval not under the interval", "interval: 200ms\ncheck:\n  burst_interval: 200ms\n", []string{"check.burst_interval: 200ms is not shorter than interval (200ms)"}, nil},
		{"bursty status", "check:\n  bursty_status: loud\n", []string{"check.bursty_status", "critical or warning"}, []string{"loud"}},
		{"bad view", "ui:\n  view: nope\n", []string{"ui.view", "not a known view"}, []string{"nope"}},
		{"syntax", "interval: [1s\n", []string{"test.yaml"}, []string{"[1s"}},
		{"wrong type", "capture:\n  max_flows: many\n", []string{"line 2", "wrong type", "a whole number"}, []string{"many"}},
		{"max flows", "capture:\n  max_flows: 1\n", []string{"capture.max_flows"}, nil},
		{"fanout", "capture:\n  fanout: 0\n", []string{"capture.fanout", "out of range (1..64)"}, nil},
		{"duplicate key", "interval: 1s\ninterval: 2s\n", []string{"test.yaml", "line"}, []string{"interval:"}},
		// A file that is no config at all, e.g. /etc/shadow given as --config.
		{"not a config", "root:$y$j9T$SECRETSALT$SECRETHASH:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n", []string{"lines 1 and 2: unknown key in the top level; keys there: attribution"}, []string{"root", "SECRET", "19000", "bin"}},
		{"ring too large", "capture:\n  ring_mib: 4096\n", []string{"capture.ring_mib", "out of range (1..1024)"}, nil},
		{"rings over the cap", "capture:\n  ring_mib: 64\n  fanout: 32\n", []string{"2048 MiB", "ring_mib 64 × fanout 32 × 1 interface(s)", "limit of 1024 MiB", "lower capture.ring_mib or --fanout"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.yaml", strings.NewReader(tc.in))
			if err == nil {
				t.Fatal("want error, got nil")
			}
			for _, w := range append(tc.want, "test.yaml") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(err.Error(), a) {
					t.Errorf("error %q quotes the file's text %q", err, a)
				}
			}
		})
	}
}

// TestParseErrorsSaidOnce: the same problem on many lines is one message
// naming the first lines and counting the rest; different problems stay
// apart, in the file's order.
func TestParseErrorsSaidOnce(t *testing.T) {
	var b strings.Builder
	for i := range 27 {
		fmt.Fprintf(&b, "user%d:*:19000:%d:99999:7:::\n", i, i)
	}
	b.WriteString("intervl: 1s\n")
	_, err := Parse("test.yaml", strings.NewReader(b.String()))
	if err == nil {
		t.Fatal("want error, got nil")
	}
	want := "config test.yaml: lines 1, 2, 3, 4, 5 and 22 more: unknown key in the top level; keys there: " +
		"attribution, capture, check, egress, interval, links, serve, ui; " +
		"line 28: unknown key in the top level (did you mean interval?); keys there: "
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error\n%q\nwant prefix\n%q", err, want)
	}
	if n := strings.Count(err.Error(), "unknown key"); n != 2 {
		t.Errorf("%d messages, want 2: %q", n, err)
	}
	if strings.Contains(err.Error(), "user") || strings.Contains(err.Error(), "19000") {
		t.Errorf("error %q quotes the file", err)
	}
}

func TestValidIfaceName(t *testing.T) {
	for _, ok := range []string{"eth0", "veth-a.10", "wlp0s20f3", "br_x@y", "ifname15charsxx"} {
		if !ValidIfaceName(ok) {
			t.Errorf("ValidIfaceName(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "a b", "a:1", "ifname16charsxxx", "x\x1b[2J", "tab\t"} {
		if ValidIfaceName(bad) {
			t.Errorf("ValidIfaceName(%q) = true", bad)
		}
	}
}

func TestValidateRingMemory(t *testing.T) {
	tests := []struct {
		name            string
		ringMiB, fanout int
		interfaces      int
		total           int
		want            []string // substrings of the error; nil: accepted
	}{
		{"default, any", 32, 1, 0, 32, nil},
		{"default, one interface", 32, 1, 1, 32, nil},
		{"default, 32 interfaces: at the limit", 32, 1, 32, 1024, nil},
		{"default, 33 interfaces", 32, 1, 33, 1056, []string{"1056 MiB", "ring_mib 32 × fanout 1 × 33 interface(s)", "limit of 1024 MiB", "capture on fewer interfaces"}},
		{"fanout 16 of 64 MiB", 64, 16, 1, 1024, nil},
		{"fanout 64 of 32 MiB", 32, 64, 1, 2048, []string{"2048 MiB", "fanout 64", "lower capture.ring_mib or --fanout"}},
		{"fanout 4 on 3 interfaces", 128, 4, 3, 1536, []string{"1536 MiB", "ring_mib 128 × fanout 4 × 3 interface(s)"}},
		{"the old maximum", 4096, 64, 1, 262144, []string{"262144 MiB", "limit of 1024 MiB"}},
		{"fanout 0 counts as one ring", 32, 0, 2, 64, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultCapture()
			c.RingMiB, c.Fanout = tc.ringMiB, tc.fanout
			if got := c.RingMemoryMiB(tc.interfaces); got != tc.total {
				t.Errorf("RingMemoryMiB(%d) = %d, want %d", tc.interfaces, got, tc.total)
			}
			err := c.ValidateRingMemory(tc.interfaces)
			if tc.want == nil {
				if err != nil {
					t.Errorf("rejected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %d MiB", tc.total)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestDefaultRingsWellUnderTheCap(t *testing.T) {
	c := DefaultCapture()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if m := c.RingMemoryMiB(1); m*8 > MaxRingTotalMiB {
		t.Errorf("default rings pin %d MiB per interface: not well under the %d MiB cap", m, MaxRingTotalMiB)
	}
}

func TestParseOverlay(t *testing.T) {
	cfg, err := Parse("x", strings.NewReader("interval: 2s\nlinks:\n  speeds:\n    eth0: 10G\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Interval.D() != 2*time.Second {
		t.Errorf("interval = %s", cfg.Interval.D())
	}
	if got := cfg.Links.SpeedsBps()["eth0"]; got != 10_000_000_000 {
		t.Errorf("eth0 speed = %d", got)
	}
	if cfg.Capture.MaxFlows != DefaultCapture().MaxFlows {
		t.Errorf("unset section lost its default: %+v", cfg.Capture)
	}
}

func TestEmptyAndMissing(t *testing.T) {
	if _, err := Parse("empty", strings.NewReader("")); err != nil {
		t.Errorf("empty file: %v", err)
	}
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), os.Open)
	if err == nil || !strings.Contains(err.Error(), "--config") {
		t.Errorf("missing file error = %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big.yaml"), make([]byte, 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "big.yaml"), os.Open); err == nil {
		t.Error("oversized file accepted")
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"10G", 10e9, false},
		{"100M", 100e6, false},
		{"2.5Gbit", 2.5e9, false},
		{"1Gbps", 1e9, false},
		{"100Mbit/s", 100e6, false},
		{"20mbit", 20e6, false},
		{"1Gi", 1 << 30, false},
		{"800000", 800000, false},
		{"1MB", 8e6, false},
		{"10k", 10e3, false},
		{"", 0, true},
		{"fast", 0, true},
		{"10X", 0, true},
		{"0", 0, true},
		{"-5M", 0, true},
		{"1.2.3G", 0, true},
		{"9999999P", 0, true},
		{".1", 0, true},
		{"0.4", 0, true},
		{"1", 1, false},
	}
	for _, tc := range tests {
		got, err := ParseRate(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d, err=%v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseLinkSpeed(t *testing.T) {
	name, bps, err := ParseLinkSpeed("eth0=10G")
	if err != nil || name != "eth0" || bps != 10e9 {
		t.Errorf("got %q %d %v", name, bps, err)
	}
	for _, bad := range []string{"eth0", "=10G", "eth0=", "eth0=fast"} {
		if _, _, err := ParseLinkSpeed(bad); err == nil {
			t.Errorf("ParseLinkSpeed(%q): want error", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	data, _ := os.ReadFile("default.yaml")
	f.Add(string(data))
	f.Add("interval: 1s\n")
	f.Add("links: {speeds: {eth0: 10G}}")
	f.Add(egressFull)
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := Parse("fuzz", strings.NewReader(s))
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("Parse accepted an invalid config: %v", verr)
			}
		}
	})
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"10G", "2.5Gbit", "1Gi", "100Mbit/s", "1MB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseRate(s)
		if err == nil && v == 0 {
			t.Fatalf("ParseRate(%q) = 0 without error", s)
		}
	})
}

func TestParseFileLinkSpeed(t *testing.T) {
	tests := []struct {
		in      []string
		name    string
		bps     uint64
		wantErr string
	}{
		{in: nil},
		{in: []string{"100M"}, bps: 100e6},
		{in: []string{"wan=1G"}, name: "wan", bps: 1e9},
		{in: []string{"fast"}, wantErr: `--link-speed "fast": `},
		{in: []string{"=1G"}, wantErr: `--link-speed "=1G": want IFACE=RATE`},
		{in: []string{"1G", "2G"}, wantErr: "--link-speed given 2 times: a capture file is one link, give one RATE"},
	}
	for _, tc := range tests {
		name, bps, err := ParseFileLinkSpeed(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("ParseFileLinkSpeed(%q): err %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || name != tc.name || bps != tc.bps {
			t.Errorf("ParseFileLinkSpeed(%q) = %q, %d, %v; want %q, %d", tc.in, name, bps, err, tc.name, tc.bps)
		}
	}
}

// TestCheckOverride: check's flags over the config's check section, with
// the window's bounds.
func TestCheckOverride(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	d := func(v time.Duration) *time.Duration { return &v }
	tests := []struct {
		name    string
		o       CheckOverrides
		wantErr string
		check   func(CheckConfig) bool
	}{
		{"none", CheckOverrides{}, "", func(c CheckConfig) bool { return c == DefaultCheck() }},
		{"warn and crit", CheckOverrides{Warn: f(0.5), Crit: f(0.7)}, "", func(c CheckConfig) bool { return c.WarnUtilization == 0.5 && c.CritUtilization == 0.7 }},
		{"warn above crit", CheckOverrides{Warn: f(0.99)}, "warn_utilization (0.99) is above", nil},
		{"duration", CheckOverrides{Duration: d(30 * time.Second)}, "", func(c CheckConfig) bool { return c.Window.D() == 30*time.Second }},
		{"duration too short", CheckOverrides{Duration: d(100 * time.Millisecond)}, "too short for a verdict", nil},
		{"duration too long", CheckOverrides{Duration: d(25 * time.Hour)}, "too long (at most 24h)", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultCheck()
			err := c.Override(tc.o)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrUsage)):
				t.Fatalf("error %v, want a usage error with %q", err, tc.wantErr)
			case tc.check != nil && !tc.check(c):
				t.Errorf("result %+v", c)
			}
		})
	}
}

// TestForeignFlagHint: iftop's, nethogs' and bandwhich's flags get a hint
// to the equivalent, from the flag parser's own messages.
func TestForeignFlagHint(t *testing.T) {
	for msg, want := range map[string]string{
		"unknown shorthand flag: 't' in -t":   "netriage flows --interval 5s --count 1",
		"unknown shorthand flag: 's' in -s":   "--count 1",
		"unknown shorthand flag: 'd' in -d=5": "--interval",
		"unknown flag: --raw":                 "--output json",
		"unknown flag: --processes":           "netriage procs",
		"unknown shorthand flag: 'q' in -q":   "",
		"flag needs an argument: -i":          "",
	} {
		if got := ForeignFlagHint(msg); (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%q: hint %q, want one with %q", msg, got, want)
		}
	}
}

// TestFlagError: a parse error is a usage error that names the foreign
// flag's equivalent, or where the subcommand's flags are listed.
func TestFlagError(t *testing.T) {
	for _, tc := range []struct{ parseErr, want string }{
		{"unknown flag: --raw", "unknown flag: --raw: --raw is bandwhich's: use --output json (or csv)"},
		{"unknown shorthand flag: 'q' in -q", "unknown shorthand flag: 'q' in -q (see 'netriage flows --help')"},
		{"invalid argument \"x\" for \"--count\" flag", "invalid argument \"x\" for \"--count\" flag (see 'netriage flows --help')"},
	} {
		err := FlagError("flows", errors.New(tc.parseErr))
		if !errors.Is(err, ErrUsage) || UsageMessage(err) != tc.want {
			t.Errorf("%q: %v, want the usage error %q", tc.parseErr, err, tc.want)
		}
	}
}

// The stack rules' thresholds reach the verdict from the file, and a file
// without them keeps the defaults.
func TestCheckStackThresholds(t *testing.T) {
	cfg, err := Parse("test.yaml", strings.NewReader("check:\n  nic_drops_per_sec: 5\n  conntrack_full_ratio: 0.75\n  conntrack_drops_per_sec: 0.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	th := cfg.Check.Thresholds()
	if th.NICDropsPerSec != 5 || th.ConntrackFullRatio != 0.75 || th.ConntrackDropsPerSec != 0.5 || th.SoftirqDropsPerSec != 1 || th.EndpointDropsPerSec != 1 {
		t.Errorf("thresholds %+v", th)
	}
	def, err := Parse("test.yaml", strings.NewReader("interval: 1s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if th := def.Check.Thresholds(); th.NICDropsPerSec != 1 || th.ConntrackFullRatio != 0.9 || th.ConntrackDropsPerSec != 0 {
		t.Errorf("defaults %+v", th)
	}
}
