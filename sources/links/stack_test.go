package links

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netriage/triage"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "stack", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSoftnetKernelLayouts(t *testing.T) {
	tests := []struct {
		file string
		want []triage.SoftnetCPU
	}{
		{"softnet-2.6.32", []triage.SoftnetCPU{{CPU: 0, Processed: 10, Dropped: 1, TimeSqueeze: 2}}},
		{"softnet-3.10", []triage.SoftnetCPU{
			{CPU: 0, Processed: 10, Dropped: 1, TimeSqueeze: 2, ReceivedRPS: 3},
			{CPU: 1, Processed: 20, ReceivedRPS: 4}}},
		{"softnet-4.19", []triage.SoftnetCPU{
			{CPU: 0, Processed: 0xdeadbeef, Dropped: 5, TimeSqueeze: 9, FlowLimitCount: 1},
			{CPU: 1, Processed: 0xffffffff}}},
		{"softnet-5.10-offline-cpu", []triage.SoftnetCPU{
			{CPU: 0, Processed: 0x100},
			{CPU: 2, Processed: 0x102, Dropped: 4, TimeSqueeze: 2, FlowLimitCount: 2},
			{CPU: 3, Processed: 0x103, Dropped: 6, TimeSqueeze: 3, FlowLimitCount: 3}}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := parseSoftnet(readFixture(t, tc.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("-want +got:\n%s", d)
			}
		})
	}
	got, err := parseSoftnet(readFixture(t, "softnet-6.18-8cpu"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 8 {
		t.Fatalf("%d rows, want 8", len(got))
	}
	c := got[2]
	if c.CPU != 2 || c.Dropped != 1234 || c.FlowLimitCount != 34 || c.BacklogLen != 3 || got[6].Dropped != 7 {
		t.Errorf("6.18 rows: %+v", got)
	}
}

func TestParseSoftnetRefusesAndNeverQuotes(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "no rows"},
		{"short", "00000001 00000002\n", "row 1 has 2 columns, want at least 9"},
		{"not hex", "0000000g 0 0 0 0 0 0 0 0\n", "row 1, column 1 is not a hexadecimal number"},
		{"too long", "00000000000000000 0 0 0 0 0 0 0 0\n", "row 1, column 1"},
		{"bad cpu", "0 0 0 0 0 0 0 0 0 0 0 0 ffffffff\n", "column 13 is not a CPU number"},
		{"hostile", "\x1b[31mSECRET 0 0 0 0 0 0 0 0\n", "column 1 is not"},
	}
	for _, tc := range tests {
		_, err := parseSoftnet([]byte(tc.in), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "\x1b")) {
			t.Errorf("%s: the error quotes the file: %q", tc.name, err)
		}
	}
}

func TestParseProto(t *testing.T) {
	var p triage.ProtoCounters
	if err := parseProto(readFixture(t, "snmp-6.18"), readFixture(t, "netstat-6.18"), readFixture(t, "snmp6-6.18"), &p); err != nil {
		t.Fatal(err)
	}
	want := triage.ProtoCounters{TCPRetransSegs: 4242, TCPTimeouts: 99, ListenOverflows: 11, ListenDrops: 12, TCPBacklogDrop: 8,
		UDPRcvbufErrors: 17, UDPSndbufErrors: 3, UDPInErrors: 20, UDP6RcvbufErrors: 6, UDP6InErrors: 6, IPInDiscards: 5, IP6InDiscards: 2}
	if d := cmp.Diff(want, p); d != "" {
		t.Errorf("6.18: -want +got:\n%s", d)
	}
	if got := p.EndpointDrops(); got != 12+8+17+3+6 {
		t.Errorf("EndpointDrops = %d", got)
	}

	if err := parseProto(readFixture(t, "snmp-3.10"), readFixture(t, "netstat-3.10"), nil, &p); err != nil {
		t.Fatal(err)
	}
	want = triage.ProtoCounters{TCPRetransSegs: 2, TCPTimeouts: 10, ListenOverflows: 4, ListenDrops: 4, UDPRcvbufErrors: 1, UDPInErrors: 1, IPInDiscards: 1,
		Missing: []string{"TcpExt TCPBacklogDrop", "snmp6"}}
	if d := cmp.Diff(want, p); d != "" {
		t.Errorf("3.10: -want +got:\n%s", d)
	}
}

func TestParseProtoRefuses(t *testing.T) {
	tests := []struct{ name, snmp, netstat, want string }{
		{"values without header", "Tcp: 1 2\n", "", "snmp: the last header line has no values line"},
		{"lengths differ", "Tcp: A RetransSegs\nTcp: 1\n", "", "snmp: line 2 has a different number of values than its header"},
		{"not a number", "Tcp: RetransSegs\nTcp: \x1b[2Jx\n", "", "snmp: Tcp RetransSegs (line 2, column 1) is not a counter"},
		{"negative", "Udp: RcvbufErrors\nUdp: -1\n", "", "is not a counter"},
		{"no section", "", "garbage\n", "netstat: line 1 has no section name"},
	}
	for _, tc := range tests {
		var p triage.ProtoCounters
		err := parseProto([]byte(tc.snmp), []byte(tc.netstat), nil, &p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\x1b") {
			t.Errorf("%s: the error quotes the file: %q", tc.name, err)
		}
	}
	// A counter that is not ours may be anything (MaxConn is -1).
	var p triage.ProtoCounters
	if err := parseProto([]byte("Tcp: MaxConn RetransSegs\nTcp: -1 7\n"), nil, nil, &p); err != nil || p.TCPRetransSegs != 7 {
		t.Errorf("got %+v, %v", p, err)
	}
}

func TestParseConntrackStat(t *testing.T) {
	for _, tc := range []struct {
		file                   string
		insert, drop, earlyDrp uint64
	}{
		{"nf_conntrack-6.18", 0, 0, 0},
		{"nf_conntrack-4.19", 4, 0x20, 7},
	} {
		var c triage.ConntrackSample
		if err := parseConntrackStat(readFixture(t, tc.file), &c); err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if c.InsertFailed != tc.insert || c.Drop != tc.drop || c.EarlyDrop != tc.earlyDrp {
			t.Errorf("%s: %+v", tc.file, c)
		}
	}
	for _, in := range []string{"", "entries found\n00000001 00000002\n", "entries insert_failed\n", "entries drop\n0000 zz\n", "entries drop early_drop\n1 2\n"} {
		var c triage.ConntrackSample
		if err := parseConntrackStat([]byte(in), &c); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	if v, err := parseSysctlUint("nf_conntrack_max", []byte("262144\n")); err != nil || v != 262144 {
		t.Errorf("sysctl: %d, %v", v, err)
	}
	if _, err := parseSysctlUint("nf_conntrack_max", []byte("-1\n")); err == nil {
		t.Error("negative sysctl accepted")
	}
}

// gstrings builds an ETHTOOL_GSTRINGS payload of names.
func gstrings(names ...string) []byte {
	b := make([]byte, len(names)*ethGStringLen)
	for i, n := range names {
		copy(b[i*ethGStringLen:(i+1)*ethGStringLen-1], n)
	}
	return b
}

func TestParseNICStrings(t *testing.T) {
	// virtio_net, veth, an ENA and an mlx5-like set.
	data := gstrings("rx_drops", "rx0_drops", "rx_xdp_drops", "tx0_kicks", "peer_ifindex", "rx_queue_0_drops",
		"bw_in_allowance_exceeded", "pps_allowance_exceeded", "conntrack_allowance_available",
		"rx_missed_errors", "rx_no_buffer_count", "rx_fifo_errors", "rx_out_of_buffer",
		"rx_pause_ctrl_phy", "link_xon_rx", "rx-3.discards", "[2]: rx_discards", "queue_1_rx_drops", "tx_dropped")
	names, classes, err := parseNICStrings(data, 19)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for i, n := range names {
		got[n] = classes[i].String()
	}
	want := map[string]string{
		"rx_drops": "drop", "rx0_drops": "queue_drop", "rx_xdp_drops": "other", "tx0_kicks": "other", "peer_ifindex": "other",
		"rx_queue_0_drops": "queue_drop", "bw_in_allowance_exceeded": "allowance", "pps_allowance_exceeded": "allowance",
		"conntrack_allowance_available": "other", "rx_missed_errors": "rx_missed", "rx_no_buffer_count": "rx_missed",
		"rx_fifo_errors": "rx_missed", "rx_out_of_buffer": "rx_missed", "rx_pause_ctrl_phy": "pause", "link_xon_rx": "pause",
		"rx-3.discards": "queue_drop", "[2]: rx_discards": "queue_drop", "queue_1_rx_drops": "queue_drop", "tx_dropped": "drop",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("-want +got:\n%s", d)
	}
	if _, _, err := parseNICStrings(data, 20); err == nil {
		t.Error("more names than bytes accepted")
	}
	// A name that fills all 32 bytes has no NUL.
	full := strings.Repeat("x", ethGStringLen)
	names, _, err = parseNICStrings([]byte(full), 1)
	if err != nil || names[0] != full {
		t.Errorf("full-length name: %q, %v", names, err)
	}
}

// fixtureStack opens the fixture files of one kernel as a stack reader.
func fixtureStack(t testing.TB, softnet, snmp, netstat, snmp6, ctStat string) *stackReader {
	t.Helper()
	dir := filepath.Join("testdata", "stack")
	p := func(n string) string {
		if n == "" {
			return filepath.Join(dir, "absent")
		}
		return filepath.Join(dir, n)
	}
	count := filepath.Join(t.TempDir(), "nf_conntrack_count")
	if err := os.WriteFile(count, []byte("240000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	maxf := filepath.Join(filepath.Dir(count), "nf_conntrack_max")
	if err := os.WriteFile(maxf, []byte("262144\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStack(stackPaths{softnet: p(softnet), snmp: p(snmp), netstat: p(netstat), snmp6: p(snmp6),
		ctCount: count, ctMax: maxf, ctStat: p(ctStat)}, false)
	t.Cleanup(s.close)
	return s
}

func TestReadNamespaceFixtures(t *testing.T) {
	s := fixtureStack(t, "softnet-6.18-8cpu", "snmp-6.18", "netstat-6.18", "snmp6-6.18", "nf_conntrack-4.19")
	var out triage.StackSample
	s.readNamespace(&out)
	if len(out.Errors) > 0 || len(out.Absent) > 0 {
		t.Fatalf("errors %q, absent %q", out.Errors, out.Absent)
	}
	if len(out.Softnet) != 8 || out.Proto == nil || out.Proto.ListenDrops != 12 {
		t.Errorf("softnet %d rows, proto %+v", len(out.Softnet), out.Proto)
	}
	if c := out.Conntrack; c == nil || c.Count != 240000 || c.Max != 262144 || c.Drop != 0x20 {
		t.Errorf("conntrack %+v", c)
	}
	// Read again: the open files are read from their start each time.
	var again triage.StackSample
	s.readNamespace(&again)
	if d := cmp.Diff(out, again); d != "" {
		t.Errorf("second read differs:\n%s", d)
	}

	// Conntrack not loaded and no IPv6: absent, not errors.
	s = fixtureStack(t, "softnet-3.10", "snmp-3.10", "netstat-3.10", "", "")
	s.ctCount = openStackFile(filepath.Join("testdata", "stack", "absent"))
	out = triage.StackSample{}
	s.readNamespace(&out)
	if len(out.Errors) > 0 || out.Conntrack != nil || out.Proto == nil {
		t.Fatalf("errors %q, conntrack %+v, proto %+v", out.Errors, out.Conntrack, out.Proto)
	}
	wantAbsent := []string{"IPv6 counters: no testdata/stack/absent (IPv6 disabled)", "conntrack: not loaded (no testdata/stack/absent)"}
	if d := cmp.Diff(wantAbsent, out.Absent); d != "" {
		t.Errorf("absent: -want +got:\n%s", d)
	}

	// A file that does not parse is an error that names it, not its text.
	bad := filepath.Join(t.TempDir(), "softnet_stat")
	if err := os.WriteFile(bad, []byte("\x1b[2Jnot softnet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.softnet = openStackFile(bad)
	out = triage.StackSample{}
	s.readNamespace(&out)
	if len(out.Errors) != 1 || strings.Contains(out.Errors[0], "\x1b") || out.Softnet != nil {
		t.Errorf("errors %q, softnet %v", out.Errors, out.Softnet)
	}
}

func TestReadBQLFixture(t *testing.T) {
	var buf []byte
	var eth triage.StackIface
	readBQL("testdata/sys", "eth0", &buf, &eth)
	want := []triage.BQLQueue{{Queue: 0, Inflight: 3028, Limit: 6056}, {Queue: 1, Limit: 1514}}
	if d := cmp.Diff(want, eth.BQL); d != "" || eth.BQLNote != "" {
		t.Errorf("eth0 (note %q): -want +got:\n%s", eth.BQLNote, d)
	}
	for _, tc := range []struct{ name, note string }{
		{"virtio0", "the driver does not use BQL"},
		{"gone0", "no such interface in sysfs"},
		{"../../etc", "not a sysfs name"},
	} {
		var si triage.StackIface
		readBQL("testdata/sys", tc.name, &buf, &si)
		if si.BQL != nil || si.BQLNote != tc.note {
			t.Errorf("%s: %+v, want note %q", tc.name, si, tc.note)
		}
	}
}

// TestReadStackHost reads the caller's namespace: whatever the host has,
// the parts come back or say why not, and lo has no driver statistics.
func TestReadStackHost(t *testing.T) {
	r, err := Open(Options{}) // netlink in the caller's namespace needs no privilege
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	s, err := r.ReadStack([]string{"lo", "no-such-if0"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Errors) > 0 {
		t.Errorf("errors: %q", s.Errors)
	}
	if len(s.Softnet) == 0 || s.Proto == nil {
		t.Errorf("softnet %v, proto %v", s.Softnet, s.Proto)
	}
	if s.Conntrack == nil && !strings.Contains(strings.Join(s.Absent, "\n"), "conntrack") {
		t.Errorf("no conntrack and no word why: %q", s.Absent)
	}
	if lo := s.Ifaces[0]; lo.NIC != nil || lo.NICNote == "" {
		t.Errorf("lo: %+v", lo)
	}
	if n := s.Ifaces[1]; n.NICNote != "no such interface" {
		t.Errorf("missing interface: %+v", n)
	}
	r.Close()
	if _, err := r.ReadStack(nil); err == nil {
		t.Error("read after Close accepted")
	}
}
