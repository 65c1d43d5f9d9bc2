package links

import (
	"encoding/json"
	"flag"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vishvananda/netlink"

	"netriage/triage"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixture is a netlink dump after decoding, as the read side hands it to
// parseLinks. Files: testdata/*.fixture.json; goldens: *.golden.json.
type fixture struct {
	Links []struct {
		Type  string                 `json:"type"`
		Attrs netlink.LinkAttrs      `json:"attrs"`
		Stats netlink.LinkStatistics `json:"stats"`
	} `json:"links"`
	Qdiscs []struct {
		Type     string                  `json:"type"`
		Attrs    netlink.QdiscAttrs      `json:"attrs"`
		Stats    netlink.QdiscStatistics `json:"stats"`
		RateBpsB uint64                  `json:"rate_bytes_per_s"` // tbf
	} `json:"qdiscs"`
	Classes []struct {
		Attrs netlink.ClassAttrs `json:"attrs"`
		Rate  uint64             `json:"rate_bytes_per_s"`
		Ceil  uint64             `json:"ceil_bytes_per_s"`
	} `json:"classes"`
	Addrs []struct {
		Link int    `json:"link"`
		CIDR string `json:"cidr"`
	} `json:"addrs"`
	// Speeds are ethtool/sysfs speeds (bits per second) by ifindex.
	Speeds map[int][2]uint64 `json:"speeds"`
}

func (f *fixture) decode(t testing.TB) ([]netlink.Link, []netlink.Qdisc, []netlink.Class, []netlink.Addr, map[int]speed) {
	t.Helper()
	var links []netlink.Link
	for _, l := range f.Links {
		a := l.Attrs
		st := l.Stats
		a.Statistics = &st
		switch l.Type {
		case "device":
			links = append(links, &netlink.Device{LinkAttrs: a})
		case "veth":
			links = append(links, &netlink.Veth{LinkAttrs: a})
		default:
			links = append(links, &netlink.GenericLink{LinkAttrs: a, LinkType: l.Type})
		}
	}
	var qdiscs []netlink.Qdisc
	for _, q := range f.Qdiscs {
		a := q.Attrs
		st := q.Stats
		a.Statistics = &st
		switch q.Type {
		case "tbf":
			qdiscs = append(qdiscs, &netlink.Tbf{QdiscAttrs: a, Rate: q.RateBpsB})
		case "htb":
			qdiscs = append(qdiscs, &netlink.Htb{QdiscAttrs: a})
		default:
			qdiscs = append(qdiscs, &netlink.GenericQdisc{QdiscAttrs: a, QdiscType: q.Type})
		}
	}
	var classes []netlink.Class
	for _, c := range f.Classes {
		classes = append(classes, &netlink.HtbClass{ClassAttrs: c.Attrs, Rate: c.Rate, Ceil: c.Ceil})
	}
	var addrs []netlink.Addr
	for _, a := range f.Addrs {
		ip, ipn, err := net.ParseCIDR(a.CIDR)
		if err != nil {
			t.Fatal(err)
		}
		ipn.IP = ip
		addrs = append(addrs, netlink.Addr{IPNet: ipn, LinkIndex: a.Link})
	}
	speeds := map[int]speed{}
	for idx, s := range f.Speeds {
		speeds[idx] = speed{ethtoolBps: s[0], sysfsBps: s[1]}
	}
	return links, qdiscs, classes, addrs, speeds
}

func TestParseFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.fixture.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".fixture.json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var f fixture
			if err := json.Unmarshal(raw, &f); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			got := parseLinks(f.decode(t))
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				b, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./sources/links -run TestParseFixtures -update)", err)
			}
			var want []triage.IfaceSample
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
				t.Errorf("parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSpeeds(t *testing.T) {
	for _, tc := range []struct {
		lo, hi uint16
		want   uint64
	}{{10000, 0, 10e9}, {0xffff, 0xffff, 0}, {0, 0, 0}, {0x86a0, 0x1, 100e9}} {
		if got := parseEthtoolSpeed(tc.lo, tc.hi); got != tc.want {
			t.Errorf("parseEthtoolSpeed(%d, %d) = %d, want %d", tc.lo, tc.hi, got, tc.want)
		}
	}
	for in, want := range map[string]uint64{"1000\n": 1e9, "-1\n": 0, "": 0, "x": 0, "25000": 25e9} {
		if got := parseSysfsSpeed(in); got != want {
			t.Errorf("parseSysfsSpeed(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestReadSysfsSpeedInjectedRoot(t *testing.T) {
	if got := readSysfsSpeedBps("testdata/sys", "eth0"); got != 1e9 {
		t.Errorf("eth0 = %d, want 1 Gbit/s", got)
	}
	if got := readSysfsSpeedBps("testdata/sys", "virtio0"); got != 0 {
		t.Errorf("virtio0 (-1) = %d, want 0 (unknown)", got)
	}
	if got := readSysfsSpeedBps("testdata/sys", "../../etc"); got != 0 {
		t.Errorf("path escape read something: %d", got)
	}
}

func TestNsPath(t *testing.T) {
	for _, bad := range []string{"../x", "a/b", ".", "-1", "0", "nr-surely-missing-ns"} {
		if _, err := nsPath(bad); err == nil {
			t.Errorf("nsPath(%q) succeeded", bad)
		}
	}
	if p, err := nsPath(""); err != nil || p != "" {
		t.Errorf("own namespace: %q %v", p, err)
	}
	if p, err := nsPath(strconv.Itoa(os.Getpid())); err != nil || !strings.HasSuffix(p, "/ns/net") {
		t.Errorf("own PID: %q %v", p, err)
	}
}
