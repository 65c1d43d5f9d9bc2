package metrics

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"netriage/triage/attrib"
	"netriage/triage/flows"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// hostileState is three steps of a host with hostile names: an interface
// name with an escape sequence, programs with control characters, a
// container ID with a bidirectional override, a program named like the
// other bucket, a DNS name with a newline; plus forwarded traffic and a
// local flow without a socket.
func hostileState(t testing.TB) *State {
	const iface = "eth0\x1b[2J"
	ft := newFlowTable(100)
	ft.ifaces = []string{iface}
	web, evil, other := keyTo(remoteN(1), 40001), keyTo(remoteN(2), 40002), keyTo(remoteN(3), 40003)
	fwd := flows.Key{Proto: flows.ProtoTCP, Local: netip.MustParseAddr("198.18.7.7"), Remote: remoteN(4), LocalPort: 5000, RemotePort: 80}
	orphan := flows.Key{Proto: flows.ProtoUDP, Local: local, Remote: remoteN(5), LocalPort: 5353, RemotePort: 5353}
	ps := procs{
		10: {Program: "nginx", Unit: "nginx.service"},
		11: {Program: "ev\x1bil\nname", Container: &attrib.Container{Runtime: "docker", ID: "abc\u202edef0123456789"}},
		12: {Program: "other"},
	}
	owner := map[flows.Key]int32{web: 10, evil: 11, other: 12}
	sk := &fakeSockets{table: func() *attrib.SocketTable { return tableOf(ps, owner) }}
	names := func(a netip.Addr) string {
		if a == remoteN(1) {
			return "x\u202e.example\nnext"
		}
		return ""
	}
	r := newRig(ft, &fakeLinks{name: iface, rx: 2_000_000, tx: 121_250_000, speedBps: 1_000_000_000}, sk, DefaultCaps(), names)
	var st *State
	for i := 0; i < 3; i++ {
		ft.add(web, 30_000_000, 300_000)
		ft.add(evil, 10_000_000, 100_000)
		ft.add(other, 5_000_000, 50_000)
		ft.add(fwd, 2_000_000, 20_000)
		ft.add(orphan, 1_000_000, 10_000)
		st = r.step()
	}
	checkState(t, st, nil, DefaultCaps())
	return st
}

// render is what a scrape of c returns, in the text format.
func render(t testing.TB, c prometheus.Collector) string {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatalf("encode: %v", err)
		}
	}
	return b.String()
}

var reLabelValue = regexp.MustCompile(`="((?:[^"\\]|\\.)*)"`)

func TestGolden(t *testing.T) {
	c := NewCollector()
	c.Publish(hostileState(t))
	got := render(t, c)
	path := filepath.Join("testdata", "hostile.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./views/metrics -update)", err)
	}
	if got != string(want) {
		t.Errorf("/metrics differs from %s (go test ./views/metrics -update, then read the diff):\n%s", path, got)
	}
	for _, m := range reLabelValue.FindAllStringSubmatch(got, -1) {
		for _, r := range m[1] {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Errorf("label value %q carries %U", m[1], r)
			}
		}
	}
	for _, bad := range []string{"\x1b", "\u202e", `\n`} {
		if strings.Contains(got, bad) {
			t.Errorf("the exposition carries %q", bad)
		}
	}
}

// Every family is documented in docs/metrics.md, and every family the
// document names exists.
func TestDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	reName := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	known := map[string]bool{}
	for _, d := range allDescs {
		m := reName.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("no name in %s", d)
		}
		known[m[1]] = true
		if !strings.Contains(string(doc), "### `"+m[1]+"`") {
			t.Errorf("%s is not documented (a '### `%s`' section in docs/metrics.md)", m[1], m[1])
		}
	}
	for _, m := range regexp.MustCompile("### `(netriage_[a-z_]+)`").FindAllStringSubmatch(string(doc), -1) {
		if !known[m[1]] && !strings.HasPrefix(m[1], "netriage_build_info") {
			t.Errorf("docs/metrics.md documents %s, which does not exist", m[1])
		}
	}
}
