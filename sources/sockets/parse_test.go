package sockets

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"netriage/triage/attrib"
)

func TestParseSocketLink(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"socket:[12345]", 12345, true},
		{"socket:[0]", 0, true},
		{"socket:[]", 0, false},
		{"pipe:[12345]", 0, false},
		{"socket:[12a]", 0, false},
		{"socket:[99999999999]", 0, false},
		{"/dev/null", 0, false},
		{"socket:[4294967295]", 4294967295, true},
	}
	for _, tc := range tests {
		got, ok := parseSocketLink([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseSocketLink(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    procStat
		wantErr bool
	}{
		{"plain", "1234 (nginx) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000000 100 18446744073709551615 0 0", procStat{"nginx", 98765}, false},
		{"spaces and parens", "42 (a) (b) c) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0", procStat{"a) (b) c", 7}, false},
		{"short", "42 (x) R 1 2", procStat{}, true},
		{"no name", "42 x R", procStat{}, true},
		{"bad start", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 zz 0", procStat{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseStatusUID(t *testing.T) {
	got, err := parseStatusUID([]byte("Name:\tx\nUid:\t1000\t1000\t1000\t1000\nGid:\t5\n"))
	if err != nil || got != 1000 {
		t.Fatalf("got %d, %v", got, err)
	}
	if _, err := parseStatusUID([]byte("Name:\tx\n")); err == nil {
		t.Fatal("want error without Uid line")
	}
}

func TestParseNsLink(t *testing.T) {
	got, err := parseNsLink("net:[4026531840]")
	if err != nil || got != 4026531840 {
		t.Fatalf("got %d, %v", got, err)
	}
	for _, bad := range []string{"net:4026531840", "net:[x]", ""} {
		if _, err := parseNsLink(bad); err == nil {
			t.Errorf("parseNsLink(%q): want error", bad)
		}
	}
}

func TestParseCmdline(t *testing.T) {
	if got := parseCmdline([]byte("curl\x00-s\x00http://x\x00")); got != "curl -s http://x" {
		t.Errorf("got %q", got)
	}
}

const cid = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseCgroup(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want cgroupInfo
	}{
		{"systemd service", "0::/system.slice/nginx.service\n",
			cgroupInfo{Path: "/system.slice/nginx.service", Unit: "nginx.service"}},
		{"user scope", "0::/user.slice/user-1000.slice/session-3.scope\n",
			cgroupInfo{Path: "/user.slice/user-1000.slice/session-3.scope", Unit: "session-3.scope"}},
		{"docker systemd driver", "0::/system.slice/docker-" + cid + ".scope\n",
			cgroupInfo{Path: "/system.slice/docker-" + cid + ".scope", Container: &attrib.Container{Runtime: "docker", ID: cid}}},
		{"docker cgroupfs v1", "12:pids:/docker/" + cid + "\n1:name=systemd:/docker/" + cid + "\n",
			cgroupInfo{Path: "/docker/" + cid, Container: &attrib.Container{Runtime: "docker", ID: cid}}},
		{"kubernetes containerd", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_1111_2222_3333_444455556666.slice/cri-containerd-" + cid + ".scope\n",
			cgroupInfo{Path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_1111_2222_3333_444455556666.slice/cri-containerd-" + cid + ".scope",
				Container: &attrib.Container{Runtime: "containerd", ID: cid, PodUID: "1a2b3c4d-1111-2222-3333-444455556666"}}},
		{"kubernetes cri-o", "0::/kubepods.slice/kubepods-pod1a2b3c4d_1111_2222_3333_444455556666.slice/crio-" + cid + ".scope\n",
			cgroupInfo{Path: "/kubepods.slice/kubepods-pod1a2b3c4d_1111_2222_3333_444455556666.slice/crio-" + cid + ".scope",
				Container: &attrib.Container{Runtime: "cri-o", ID: cid, PodUID: "1a2b3c4d-1111-2222-3333-444455556666"}}},
		{"kubernetes cgroupfs", "0::/kubepods/besteffort/pod1a2b3c4d-1111-2222-3333-444455556666/" + cid + "\n",
			cgroupInfo{Path: "/kubepods/besteffort/pod1a2b3c4d-1111-2222-3333-444455556666/" + cid,
				Container: &attrib.Container{Runtime: "kubernetes", ID: cid, PodUID: "1a2b3c4d-1111-2222-3333-444455556666"}}},
		{"podman", "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + cid + ".scope/container\n",
			cgroupInfo{Path: "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + cid + ".scope/container", Container: &attrib.Container{Runtime: "podman", ID: cid}}},
		{"root", "0::/\n", cgroupInfo{Path: "/"}},
		{"empty", "", cgroupInfo{}},
		{"garbage", "\x00\x01zz\n:::\n", cgroupInfo{Path: ":"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, parseCgroup([]byte(tc.in))); diff != "" {
				t.Errorf("parseCgroup mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseCgroup(f *testing.F) {
	f.Add([]byte("0::/system.slice/docker-" + cid + ".scope\n"))
	f.Add([]byte("0::/kubepods/besteffort/pod1a2b3c4d-1111-2222-3333-444455556666/" + cid + "\n"))
	f.Add([]byte("12:pids:/docker/" + cid + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info := parseCgroup(b)
		if info.Container != nil && info.Unit != "" {
			t.Fatalf("both container and unit: %+v", info)
		}
	})
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1234 (nginx) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000000"))
	f.Add([]byte("1 ((() R"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseStat(b)
		_, _ = parseStatusUID(b)
		_, _ = parseNsLink(string(b))
		_, _ = parseSocketLink(b)
		_ = parseCmdline(b)
	})
}
