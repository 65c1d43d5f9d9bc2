package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// linksSampleJSON is the part of an NDJSON line the tests check.
type linksSampleJSON struct {
	Seq        uint64                   `json:"seq"`
	Time       time.Time                `json:"time"`
	IntervalS  float64                  `json:"interval_s"`
	Interfaces []map[string]interface{} `json:"interfaces"`
}

func linksParseNDJSON(t *testing.T, out string) []linksSampleJSON {
	t.Helper()
	var samples []linksSampleJSON
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var s linksSampleJSON
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		samples = append(samples, s)
	}
	return samples
}

func TestE2ELinksJSONCount2(t *testing.T) {
	bin := e2eBin(t)
	out, errOut, code := runBin(t, bin, "links", "-i", "lo", "--output", "json", "--count", "2", "--interval", "200ms")
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut)
	}
	samples := linksParseNDJSON(t, out)
	if len(samples) != 2 {
		t.Fatalf("got %d samples, want 2:\n%s", len(samples), out)
	}
	if samples[1].Seq <= samples[0].Seq || !samples[1].Time.After(samples[0].Time) {
		t.Errorf("seq/time not increasing: %+v", samples)
	}
	required := []string{"name", "oper_state", "capacity_bps", "capacity_source", "rx_bytes", "tx_bytes",
		"rx_packets", "tx_packets", "rx_errors", "tx_errors", "rx_dropped", "tx_dropped", "rx_bps", "tx_bps",
		"rx_utilization", "tx_utilization", "qdisc"}
	for _, s := range samples {
		if len(s.Interfaces) != 1 || s.Interfaces[0]["name"] != "lo" {
			t.Fatalf("interfaces: %+v", s.Interfaces)
		}
		ifc := s.Interfaces[0]
		for _, k := range required {
			if _, ok := ifc[k]; !ok {
				t.Errorf("field %q missing", k)
			}
		}
		if ifc["capacity_bps"] != nil || ifc["capacity_source"] != "unknown" || ifc["rx_utilization"] != nil {
			t.Errorf("lo capacity: %v %v %v", ifc["capacity_bps"], ifc["capacity_source"], ifc["rx_utilization"])
		}
		if bps, ok := ifc["rx_bps"].(float64); !ok || bps < 0 {
			t.Errorf("rx_bps = %v", ifc["rx_bps"])
		}
		q, ok := ifc["qdisc"].(map[string]interface{})
		if !ok {
			t.Fatalf("qdisc = %v", ifc["qdisc"])
		}
		for _, k := range []string{"drops", "backlog_bytes", "overlimits", "drops_per_s"} {
			if _, ok := q[k]; !ok {
				t.Errorf("qdisc field %q missing", k)
			}
		}
	}
}

func TestE2ELinksUserCapacityAndFormats(t *testing.T) {
	bin := e2eBin(t)
	out, errOut, code := runBin(t, bin, "links", "-i", "lo", "-O", "json", "--count", "1", "--interval", "100ms", "--link-speed", "lo=1G")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	s := linksParseNDJSON(t, out)
	if len(s) != 1 || s[0].Interfaces[0]["capacity_bps"] != 1e9 || s[0].Interfaces[0]["capacity_source"] != "user" {
		t.Fatalf("user capacity not applied: %s", out)
	}
	if u, ok := s[0].Interfaces[0]["rx_utilization"].(float64); !ok || u < 0 {
		t.Errorf("rx_utilization = %v", s[0].Interfaces[0]["rx_utilization"])
	}
	out, errOut, code = runBin(t, bin, "links", "-i", "lo", "-O", "csv", "--count", "2", "--interval", "100ms")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "time,seq,name,") {
		t.Fatalf("csv: exit %d, %q, stderr %s", code, out, errOut)
	}
	out, _, code = runBin(t, bin, "links", "-i", "lo", "--duration", "350ms", "--interval", "100ms")
	if code != 0 || strings.Count(out, "IFACE") < 2 {
		t.Fatalf("table with --duration: exit %d:\n%s", code, out)
	}
}

func TestE2ELinksBadInput(t *testing.T) {
	bin := e2eBin(t)
	dir := t.TempDir()
	badYAML := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badYAML, []byte("interval: 1s\nlinks:\n  speeds:\n    eth0: fast\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unknownKey := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknownKey, []byte("intervall: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown interface", []string{"links", "-i", "nr-nope0"}, []string{`unknown interface "nr-nope0"`, "(interfaces: ", "lo"}},
		{"bad interval", []string{"links", "--interval", "fast"}, []string{"--interval"}},
		{"interval out of range", []string{"links", "--interval", "1ns"}, []string{"--interval", "out of range"}},
		{"bad count", []string{"links", "--count", "-3"}, []string{"--count"}},
		{"bad link speed", []string{"links", "--link-speed", "eth0=fast"}, []string{"--link-speed", "eth0=fast"}},
		{"link speed without =", []string{"links", "--link-speed", "10G"}, []string{"IFACE=RATE"}},
		{"bad output", []string{"links", "-O", "xml"}, []string{"--output", "table, json, csv"}},
		{"bad config value", []string{"links", "--config", badYAML}, []string{badYAML, "links.speeds.eth0"}},
		{"unknown config key", []string{"links", "--config", unknownKey}, []string{unknownKey, "did you mean interval?"}},
		{"missing config", []string{"links", "--config", filepath.Join(dir, "none.yaml")}, []string{"none.yaml", "no such file"}},
		{"unknown netns", []string{"links", "--netns", "nr-no-such-ns"}, []string{"nr-no-such-ns", "network namespace not found", "ip netns list"}},
		{"doctor bad flag", []string{"doctor", "--bogus"}, []string{"--bogus"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runBin(t, bin, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr: %s", code, errOut)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not contain %q", errOut, w)
				}
			}
		})
	}
}

func TestE2EDoctor(t *testing.T) {
	bin := e2eBin(t)
	out, errOut, code := runBin(t, bin, "doctor", "-O", "json")
	var rep struct {
		Capabilities []struct {
			Name string `json:"name"`
			Have bool   `json:"have"`
		} `json:"capabilities"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
		AllOK bool `json:"all_ok"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("doctor json: %v\n%s\n%s", err, out, errOut)
	}
	if len(rep.Capabilities) != 4 || len(rep.Checks) < 3 {
		t.Fatalf("report: %+v", rep)
	}
	if (code == 0) != rep.AllOK {
		t.Errorf("exit %d with all_ok=%v", code, rep.AllOK)
	}
	if os.Geteuid() == 0 && code != 0 {
		t.Errorf("as root doctor should pass: %s", out)
	}
	out, _, _ = runBin(t, bin, "doctor")
	for _, w := range []string{"CAP_NET_RAW", "CAP_SYS_PTRACE", "interface counters", "packet capture"} {
		if !strings.Contains(out, w) {
			t.Errorf("doctor table lacks %q:\n%s", w, out)
		}
	}
}

// TestE2ELinksDurationEndsOnTick repeats the run whose duration ends on a
// sampling tick (1 s = 10 × 100 ms), two at a time so the machine is busy
// as it is on a loaded host: links used to close its netlink handle under
// the sampler's read and exit 2 with a nil pointer panic (7 of 20 runs).
// Every run must exit 0 without a panic.
func TestE2ELinksDurationEndsOnTick(t *testing.T) {
	bin := e2eBin(t)
	const rounds = 20
	type result struct {
		out, errOut string
		code        int
	}
	for i := range rounds {
		res := make(chan result, 2)
		for range 2 {
			go func() {
				out, errOut, code := runBinQuiet(bin, "links", "-i", "lo", "--duration", "1s", "--interval", "100ms")
				res <- result{out, errOut, code}
			}()
		}
		for range 2 {
			r := <-res
			if r.code != 0 || strings.Contains(r.errOut, "panic") || strings.Contains(r.errOut, "goroutine ") {
				t.Fatalf("round %d: exit %d, stderr:\n%s", i, r.code, r.errOut)
			}
			if n := strings.Count(r.out, "IFACE"); n < 8 {
				t.Fatalf("round %d: %d samples in 1 s at 100 ms:\n%s", i, n, r.out)
			}
		}
	}
}

// TestE2ELinksShorterThanInterval: `links --duration 500ms` with the
// default 1 s interval prints the one sample there is, with rates over the
// 0.5 s elapsed, says why on stderr and exits 0.
func TestE2ELinksShorterThanInterval(t *testing.T) {
	bin := e2eBin(t)
	out, errOut, code := runBin(t, bin, "links", "-i", "lo", "--duration", "500ms", "-O", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	s := linksParseNDJSON(t, out)
	if len(s) != 1 || s[0].IntervalS < 0.4 || s[0].IntervalS > 0.9 || len(s[0].Interfaces) != 1 {
		t.Fatalf("want one sample with interval_s ~0.5:\n%s", out)
	}
	if _, ok := s[0].Interfaces[0]["rx_bps"].(float64); !ok {
		t.Errorf("rx_bps = %v, want a rate", s[0].Interfaces[0]["rx_bps"])
	}
	if !strings.Contains(errOut, "before the first 1s interval") {
		t.Errorf("stderr does not say why: %q", errOut)
	}
	out, _, code = runBin(t, bin, "links", "-i", "lo", "--duration", "500ms")
	if code != 0 || strings.Count(out, "IFACE") != 1 || !strings.Contains(out, "interval 0.5") {
		t.Errorf("table: exit %d:\n%s", code, out)
	}
}
