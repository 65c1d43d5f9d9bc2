package links

import (
	"strings"
	"testing"

	"netriage/triage"
)

// The stack parsers are fed arbitrary bytes: they must never panic, never
// quote the input in an error, and what they accept must be consistent.

func FuzzParseSoftnet(f *testing.F) {
	for _, n := range []string{"softnet-2.6.32", "softnet-3.10", "softnet-4.19", "softnet-5.10-offline-cpu", "softnet-6.18-8cpu"} {
		f.Add(readFixture(f, n))
	}
	f.Add([]byte("0 0 0 0 0 0 0 0 0 0 0 0 ffffffff\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := parseSoftnet(b, nil)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\x00\x1b\n") {
				t.Fatalf("error quotes the input: %q", err)
			}
			return
		}
		if len(rows) == 0 {
			t.Fatal("no rows and no error")
		}
		for _, r := range rows {
			if r.CPU < 0 {
				t.Fatalf("negative CPU %d", r.CPU)
			}
		}
	})
}

func FuzzParseProto(f *testing.F) {
	f.Add(readFixture(f, "snmp-6.18"), readFixture(f, "netstat-6.18"), readFixture(f, "snmp6-6.18"))
	f.Add(readFixture(f, "snmp-3.10"), readFixture(f, "netstat-3.10"), []byte(nil))
	f.Add([]byte("Tcp: RetransSegs\nTcp: 18446744073709551616\n"), []byte(""), []byte("Udp6RcvbufErrors x\n"))
	f.Fuzz(func(t *testing.T, snmp, netstat, snmp6 []byte) {
		var p triage.ProtoCounters
		err := parseProto(snmp, netstat, snmp6, &p)
		if err != nil && strings.ContainsAny(err.Error(), "\x00\x1b\n") {
			t.Fatalf("error quotes the input: %q", err)
		}
	})
}

func FuzzParseConntrackStat(f *testing.F) {
	f.Add(readFixture(f, "nf_conntrack-6.18"))
	f.Add(readFixture(f, "nf_conntrack-4.19"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c triage.ConntrackSample
		err := parseConntrackStat(b, &c)
		if err != nil && strings.ContainsAny(err.Error(), "\x00\x1b\n") {
			t.Fatalf("error quotes the input: %q", err)
		}
		if _, err := parseSysctlUint("x", b); err != nil && strings.ContainsAny(err.Error(), "\x00\x1b\n") {
			t.Fatalf("error quotes the input: %q", err)
		}
	})
}

func FuzzParseNICStrings(f *testing.F) {
	f.Add(gstrings("rx_drops", "rx0_drops", "bw_in_allowance_exceeded"), 3)
	f.Add([]byte("rx_queue_0_drops"), 1)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		names, classes, err := parseNICStrings(data, n)
		if err != nil {
			return
		}
		if len(names) != n || len(classes) != n {
			t.Fatalf("%d names, %d classes for %d", len(names), len(classes), n)
		}
		for i, name := range names {
			if len(name) > ethGStringLen || strings.IndexByte(name, 0) >= 0 {
				t.Fatalf("name %d: %q", i, name)
			}
			if classes[i] != triage.ClassifyNICCounter(name) {
				t.Fatalf("class of %q", name)
			}
		}
	})
}
