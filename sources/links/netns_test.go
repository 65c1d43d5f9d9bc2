package links

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestGoneWhy(t *testing.T) {
	named := nsIdentity{target: "web1", path: "/run/netns/web1", dev: 4, ino: 4026532000}
	pid := nsIdentity{target: "4242", path: "/proc/4242/ns/net", dev: 4, ino: 4026532000}
	tests := []struct {
		name     string
		id       nsIdentity
		dev, ino uint64
		err      error
		want     []string // substrings; none means ""
	}{
		{"still there", named, 4, 4026532000, nil, nil},
		{"deleted", named, 0, 0, syscall.ENOENT, []string{`"web1" was deleted`, "no /run/netns/web1"}},
		{"re-created under the name", named, 4, 4026532999, nil, []string{`"web1" was deleted`, "names another namespace"}},
		{"unmounted, file left", named, 25, 12, nil, []string{"names another namespace"}},
		{"process exited", pid, 0, 0, syscall.ENOENT, []string{"PID 4242 is gone", "process exited"}},
		{"PID reused", pid, 4, 4026531840, nil, []string{"PID 4242 is gone", "another namespace"}},
		{"pid still there", pid, 4, 4026532000, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := goneWhy(tc.id, tc.dev, tc.ino, tc.err)
			if len(tc.want) == 0 && got != "" {
				t.Fatalf("got %q, want \"\"", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q does not contain %q", got, w)
				}
			}
		})
	}
}

// TestNsIdentityGone runs the stat side on plain files standing in for
// /run/netns/NAME: there, removed, then re-created (another inode).
func TestNsIdentityGone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web1")
	create := func() {
		t.Helper()
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	create()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	id := nsIdentity{target: "web1", path: path, dev: st.Dev, ino: st.Ino}
	if g := id.gone(); g != "" {
		t.Fatalf("present: %q", g)
	}
	// Hold the old inode so the new file cannot reuse its number.
	keep, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if g := id.gone(); !strings.Contains(g, "was deleted") || !strings.Contains(g, "no such file") {
		t.Errorf("removed: %q", g)
	}
	create()
	if g := id.gone(); !strings.Contains(g, "names another namespace") {
		t.Errorf("re-created: %q", g)
	}
}

// TestReadAfterNetnsGone: once the namespace is gone, Read releases the
// sockets and keeps answering NetnsGone without touching them.
func TestReadAfterNetnsGone(t *testing.T) {
	r := &Reader{ethFd: -1, netns: "web1", ns: nsIdentity{target: "web1", path: filepath.Join(t.TempDir(), "none")}}
	for range 2 {
		s, err := r.Read()
		if err != nil || !strings.Contains(s.NetnsGone, `"web1" was deleted`) || len(s.Ifaces) != 0 || len(s.Warnings) != 1 {
			t.Fatalf("Read = %+v, %v", s, err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// A reader of the caller's own namespace that was closed says so
	// rather than crashing.
	closed := &Reader{ethFd: -1}
	if _, err := closed.Read(); err == nil || !strings.Contains(err.Error(), "after Close") {
		t.Errorf("Read after Close: %v", err)
	}
}

// TestInterfaceNames: the caller's namespace always has loopback.
func TestInterfaceNames(t *testing.T) {
	names, err := InterfaceNames()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, "lo") {
		t.Errorf("InterfaceNames() = %q, want lo among them", names)
	}
}
