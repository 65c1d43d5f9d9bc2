package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fileCapsBin copies the binary under test into a directory every user can
// reach and gives it the capabilities the README recommends. It skips
// unless run as root (CI runs it as root).
func fileCapsBin(t *testing.T) (bin, dir string) {
	t.Helper()
	bin, dir = nobodyBin(t)
	if out, err := exec.Command("setcap", "cap_net_raw,cap_net_admin,cap_dac_read_search,cap_sys_ptrace+ep", bin).CombinedOutput(); err != nil {
		t.Fatalf("setcap: %v: %s", err, out)
	}
	return bin, dir
}

// nobodyBin copies the binary under test into a directory every user can
// reach, without capabilities. It skips unless run as root.
func nobodyBin(t *testing.T) (bin, dir string) {
	t.Helper()
	src := e2eBin(t)
	if os.Getenv("NETRIAGE_INTEGRATION") == "" || os.Geteuid() != 0 {
		t.Skip("needs root and NETRIAGE_INTEGRATION=1 (make integration)")
	}
	dir = t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, "netriage")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}

// runAsNobody runs bin as user nobody (the file capabilities apply at exec)
// and returns its combined output and exit code.
func runAsNobody(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	full := append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)
	cmd := exec.Command("setpriv", full...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=dumb"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("setpriv: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not exit within 30 s: %s", args, out.String())
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// An unprivileged user runs a binary that carries the read-any-file
// capabilities and names a root-only file (or a tree of links to it) in
// every flag that takes a path: no byte of the file may come out, and each
// attempt must fail with the user's own "permission denied".
func TestIntegrationFileCapsReadNoForeignFile(t *testing.T) {
	bin, dir := fileCapsBin(t)
	// Shaped like a config and like /etc/shadow, so a parser would quote it.
	secret := "interval: S3CRET-interval\nroot:$y$j9T$S3CRETSALT$S3CRETHASH:19000:0:99999:7:::\n"
	secretPath := filepath.Join(dir, "secret.yaml")
	if err := os.WriteFile(secretPath, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	// A tree the user owns whose files are links to the secret: the hidden
	// --proc flag of old followed such links with the capabilities.
	tree := filepath.Join(dir, "proc", "4242")
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"cmdline", "status", "stat", "cgroup"} {
		if err := os.Symlink(secretPath, filepath.Join(tree, n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "proc"), 65534, 65534); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.pcap")
	if err := os.Symlink(secretPath, link); err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{"links", "--count", "1", "--config", secretPath},
		{"flows", "--count", "1", "--config", secretPath},
		{"procs", "--count", "1", "--config", secretPath},
		{"check", "--duration", "1s", "--config", secretPath},
		{"doctor", "--config", secretPath},
		{"replay", secretPath},
		{"replay", link},
		{"replay", "--check", "--config", secretPath, link},
		{"top", "--replay", secretPath},
		{"top", "--config", secretPath},
		{"procs", "--count", "1", "--proc", filepath.Join(dir, "proc")},
	}
	leaks := []string{"S3CRET", "root:", "$y$", "19000", "99999"}
	for _, args := range cases {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			out, code := runAsNobody(t, bin, args...)
			for _, l := range leaks {
				if strings.Contains(out, l) {
					t.Fatalf("%v printed the root-only file's text %q:\n%s", args, l, out)
				}
			}
			if code == 0 {
				t.Errorf("%v exited 0:\n%s", args, out)
			}
			if !strings.Contains(out, "permission denied") && !strings.Contains(out, "unknown flag: --proc") {
				t.Errorf("%v does not say why it failed:\n%s", args, out)
			}
		})
	}
}

// The same binary still reads other users' /proc entries: the capabilities
// are raised around those reads.
func TestIntegrationFileCapsProcAccess(t *testing.T) {
	bin, _ := fileCapsBin(t)
	out, code := runAsNobody(t, bin, "doctor", "-O", "json")
	var rep struct {
		EUID         int `json:"euid"`
		Capabilities []struct {
			Name string `json:"name"`
			Have bool   `json:"have"`
		} `json:"capabilities"`
		Checks []struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(lastLine(out))), &rep); err != nil {
		t.Fatalf("doctor output (exit %d): %v\n%s", code, err, out)
	}
	if rep.EUID != 65534 {
		t.Errorf("euid %d, want 65534", rep.EUID)
	}
	for _, c := range rep.Capabilities {
		if !c.Have {
			t.Errorf("doctor says %s is missing although the binary carries it", c.Name)
		}
	}
	found := false
	for _, c := range rep.Checks {
		if strings.HasPrefix(c.Name, "process attribution") {
			found = true
			if !c.OK || !strings.Contains(c.Detail, "other users' sockets visible") {
				t.Errorf("process attribution check: %+v", c)
			}
		}
	}
	if !found {
		t.Errorf("no process attribution check in %s", out)
	}
}

// A FIFO (or any file that is no regular file) given as a capture or config
// file is refused at once, instead of blocking forever.
func TestE2ENonRegularFilesRefused(t *testing.T) {
	bin := e2eBin(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{"replay", fifo},
		{"replay", "/dev/zero"},
		{"replay", dir},
		{"links", "--count", "1", "--config", fifo},
		{"flows", "--count", "1", "--config", "/dev/zero"},
		{"top", "--replay", fifo},
	}
	// check answers bad input with the monitoring-plugin "unknown".
	cases = append(cases, []string{"check", "--config", fifo})
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, stderr, code := runBin(t, bin, args...)
			want := exitUsage
			if args[0] == "check" {
				want = exitUnknown
			}
			if code != want {
				t.Errorf("exit %d, want %d; stderr: %s", code, want, stderr)
			}
			if !strings.Contains(stderr, "not a regular file") {
				t.Errorf("stderr does not say why: %s", stderr)
			}
		})
	}
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// With the capabilities on the binary, procs attributes captured traffic
// although the EUID is not 0: it decides by capabilities.
func TestIntegrationFileCapsProcsCaptures(t *testing.T) {
	bin, _ := fileCapsBin(t)
	out, code := runAsNobody(t, bin, "procs", "-i", "lo", "--count", "1", "--interval", "300ms", "-O", "json")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "socket-counter mode") || strings.Contains(out, "setcap") {
		t.Errorf("procs fell back to socket counters although the binary can capture:\n%s", out)
	}
	var rec struct {
		Mode string `json:"mode"`
	}
	if err := json.Unmarshal([]byte(lastLine(out)), &rec); err != nil || rec.Mode != "capture" {
		t.Errorf("record mode %q (%v), want capture:\n%s", rec.Mode, err, out)
	}
}

// Without CAP_NET_RAW, check still judges from the counters and says why
// coverage is n/a, instead of exiting 3 with no verdict.
func TestIntegrationCheckWithoutCapture(t *testing.T) {
	bin, _ := nobodyBin(t)
	out, code := runAsNobody(t, bin, "check", "-i", "lo", "--link-speed", "lo=1G", "--duration", "1s", "--interval", "250ms", "-n", "-O", "json")
	i := strings.Index(out, "{")
	if i < 0 {
		t.Fatalf("exit %d, no report:\n%s", code, out)
	}
	js := out[i:]
	var rep struct {
		Verdict    string   `json:"verdict"`
		Notes      []string `json:"notes"`
		Interfaces []struct {
			TX struct {
				Verdict  string `json:"verdict"`
				Coverage struct {
					Ratio   *float64 `json:"ratio"`
					Reasons []string `json:"reasons"`
				} `json:"coverage"`
			} `json:"tx"`
		} `json:"interfaces"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil || len(rep.Interfaces) != 1 {
		t.Fatalf("exit %d, no report: %v\n%s", code, err, out)
	}
	tx := rep.Interfaces[0].TX
	if code != 0 || rep.Verdict != "ok" || tx.Verdict != "ok" {
		t.Errorf("exit %d verdict %s/%s, want 0 ok:\n%s", code, rep.Verdict, tx.Verdict, out)
	}
	if tx.Coverage.Ratio != nil || len(tx.Coverage.Reasons) == 0 || !strings.Contains(tx.Coverage.Reasons[0], "no packet capture") {
		t.Errorf("coverage %v %q, want n/a because no capture ran", tx.Coverage.Ratio, tx.Coverage.Reasons)
	}
	if !strings.Contains(out, "CAP_NET_RAW") {
		t.Errorf("nothing says capture needs CAP_NET_RAW:\n%s", out)
	}
}
