package privs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestProbeProcFds(t *testing.T) {
	uid := os.Geteuid()
	other := 65534
	if other == uid {
		other = 65533
	}
	tests := []struct {
		name   string
		setup  func(t *testing.T, root string) // nil: root does not exist
		other  bool                            // needs a directory owned by another user
		ok     bool
		pid    int
		detail string
	}{
		{name: "no proc", detail: "cannot read "},
		{name: "only own processes, own fds readable", setup: func(t *testing.T, root string) {
			mkdirs(t, root, "42/fd", "self/fd", "net")
		}, ok: true, detail: "no other user's process found; own processes visible"},
		{name: "only own processes, own fds unreadable", setup: func(t *testing.T, root string) {
			mkdirs(t, root, "42/fd")
		}, detail: "/self/fd"},
		{name: "another user's fds readable", other: true, setup: func(t *testing.T, root string) {
			mkdirs(t, root, "7/fd", "self/fd")
			chown(t, filepath.Join(root, "7"), other)
		}, ok: true, pid: 7, detail: "other users' sockets visible (checked "},
		{name: "another user's fds unreadable", other: true, setup: func(t *testing.T, root string) {
			mkdirs(t, root, "9", "self/fd")
			chown(t, filepath.Join(root, "9"), other)
		}, pid: 9, detail: "/9/fd (uid "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.other && uid != 0 {
				t.Skip("needs root to give a directory to another user")
			}
			root := filepath.Join(t.TempDir(), "proc")
			if tc.setup != nil {
				tc.setup(t, root)
			}
			got := probeProcFds(root, uid)
			if got.OK != tc.ok || got.PID != tc.pid || !strings.Contains(got.Detail, tc.detail) {
				t.Errorf("probeProcFds = %+v, want ok %v, pid %d, detail with %q", got, tc.ok, tc.pid, tc.detail)
			}
		})
	}
}

// TestProbeProcFdsHost runs the probe on this host's /proc: it must say
// something either way.
func TestProbeProcFdsHost(t *testing.T) {
	var p ProcFdProbe
	WithProcAccess(func() { p = ProbeProcFds() })
	if p.Detail == "" || p.PID != 0 && !strings.Contains(p.Detail, "/proc/"+strconv.Itoa(p.PID)+"/fd") {
		t.Errorf("ProbeProcFds = %+v", p)
	}
}

func mkdirs(t *testing.T, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func chown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}
