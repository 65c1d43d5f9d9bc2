package links

import (
	"encoding/json"
	"os"
	"testing"

	"netriage/triage"
)

// BenchmarkRead measures one full sample of the caller's namespace: link
// dump, qdisc dump, address dump, ethtool ioctl and sysfs read per interface
// (the link speeds from the cache but every speedRefresh reads), as on a
// busy host. Reads made back to back would mostly find the namespace still
// (see stillState), so it calls the full read itself; BenchmarkReadStill
// measures the still one.
func BenchmarkRead(b *testing.B) {
	r, err := Open(Options{})
	if err != nil {
		b.Skip(err)
	}
	defer r.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.readFull(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadNoSysfs is BenchmarkRead without the sysfs reads (what a
// --netns reader does).
func BenchmarkReadNoSysfs(b *testing.B) {
	r, err := Open(Options{})
	if err != nil {
		b.Skip(err)
	}
	r.sysfsRoot = ""
	defer r.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.readFull(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse measures the pure part on the shapers fixture.
func BenchmarkParse(b *testing.B) {
	raw, err := os.ReadFile("testdata/shapers.fixture.json")
	if err != nil {
		b.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		b.Fatal(err)
	}
	l, q, c, a, s := f.decode(b)
	b.ReportAllocs()
	for b.Loop() {
		parseLinks(l, q, c, a, s)
	}
}

// BenchmarkReadStack measures one stack sample of the caller's namespace
// as the engine takes it each step: softnet, snmp, netstat, snmp6,
// conntrack, and the driver statistics and BQL of every interface that
// is up (the default watched set).
func BenchmarkReadStack(b *testing.B) {
	r, err := Open(Options{})
	if err != nil {
		b.Skip(err)
	}
	defer r.Close()
	s, err := r.Read()
	if err != nil {
		b.Fatal(err)
	}
	var names []string
	for _, i := range s.Ifaces {
		if i.IsUp() {
			names = append(names, i.Name)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadStack(names); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadStackFixture8CPU is the namespace-wide part of a stack
// sample read from files (8 CPUs of softnet rows, the 6.18 snmp, netstat
// and snmp6, a 2-CPU conntrack table): the host-independent cost of the
// reads and parses, whatever this machine's CPU count.
func BenchmarkReadStackFixture8CPU(b *testing.B) {
	s := fixtureStack(b, "softnet-6.18-8cpu", "snmp-6.18", "netstat-6.18", "snmp6-6.18", "nf_conntrack-4.19")
	b.ReportAllocs()
	for b.Loop() {
		var out triage.StackSample
		s.readNamespace(&out)
		if len(out.Errors) > 0 {
			b.Fatal(out.Errors)
		}
	}
}

// BenchmarkReadBQLFixture reads the byte queue limits of a two-queue
// interface from a sysfs tree.
func BenchmarkReadBQLFixture(b *testing.B) {
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var si triage.StackIface
		readBQL("testdata/sys", "eth0", &buf, &si)
	}
}

// BenchmarkParseSoftnet8CPU is the parse alone.
func BenchmarkParseSoftnet8CPU(b *testing.B) {
	raw := readFixture(b, "softnet-6.18-8cpu")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseSoftnet(raw, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseProto is the snmp, netstat and snmp6 parse alone.
func BenchmarkParseProto(b *testing.B) {
	snmp, netstat, snmp6 := readFixture(b, "snmp-6.18"), readFixture(b, "netstat-6.18"), readFixture(b, "snmp6-6.18")
	b.ReportAllocs()
	for b.Loop() {
		var p triage.ProtoCounters
		if err := parseProto(snmp, netstat, snmp6, &p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadStackParts is BenchmarkReadStack part by part on this host:
// each reader's cost per tick (softnet_stat; snmp, netstat and snmp6;
// conntrack's count, max and per-CPU table; the driver statistics and the
// BQL of the first interface that is up and not loopback).
func BenchmarkReadStackParts(b *testing.B) {
	r, err := Open(Options{})
	if err != nil {
		b.Skip(err)
	}
	defer r.Close()
	s, err := r.Read()
	if err != nil {
		b.Fatal(err)
	}
	nic := ""
	for _, i := range s.Ifaces {
		if i.IsUp() && !i.Loopback {
			nic = i.Name
			break
		}
	}
	st := r.stack
	parts := []struct {
		name string
		fn   func(*triage.StackSample)
	}{
		{"softnet", func(out *triage.StackSample) {
			b, err := st.softnet.read(&st.buf)
			if err == nil {
				out.Softnet, _ = parseSoftnet(b, nil)
			}
		}},
		{"snmp+netstat+snmp6", st.readProto},
		{"conntrack", st.readConntrack},
		{"nic " + nic, func(out *triage.StackSample) {
			var si triage.StackIface
			st.readNIC(r.ethFd, nic, r.index[nic], &si)
		}},
		{"bql " + nic, func(out *triage.StackSample) {
			var si triage.StackIface
			readBQL(r.sysfsRoot, nic, &st.buf, &si)
		}},
	}
	for _, p := range parts {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var out triage.StackSample
				p.fn(&out)
			}
		})
	}
}
