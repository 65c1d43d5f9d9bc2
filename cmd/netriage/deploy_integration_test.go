package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"netriage/internal/lab"
)

// TestIntegrationServeUnitCapabilities runs serve as systemd would run
// configs/deploy/netriage-serve.service: as an unprivileged user (65534)
// with exactly the unit's AmbientCapabilities as ambient and bounding
// set, and no_new_privs (setpriv does what the unit's DynamicUser,
// AmbientCapabilities, CapabilityBoundingSet and NoNewPrivileges do). A
// root process (this test) sends TCP through the watched veth: the
// capture must be ok and the bytes attributed to this test's program,
// which takes reading another user's /proc/PID/fd.
func TestIntegrationServeUnitCapabilities(t *testing.T) {
	l := lab.New(t)
	bin := e2eBin(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("setpriv not found (Debian package util-linux): %v", err)
	}
	unitText, err := os.ReadFile("../../configs/deploy/netriage-serve.service")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^AmbientCapabilities=(.+)$`).FindSubmatch(unitText)
	if m == nil {
		t.Fatal("no AmbientCapabilities in the unit")
	}
	var caps []string
	for _, c := range strings.Fields(string(m[1])) {
		caps = append(caps, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	capList := "-all," + strings.Join(caps, ",")

	// The binary where user 65534 can run it.
	dir, err := os.MkdirTemp("", "netriage-unit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "netriage")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}

	a, peer := l.Netns(), l.Netns()
	ka, kp := l.Veth(a, peer)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	listen := net.JoinHostPort(ka.IPv4.Addr().String(), "10099")
	c := a.Command(ctx, setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps="+capList, "--ambient-caps="+capList, "--bounding-set="+capList, "--no-new-privs",
		exe, "serve", "-i", ka.Name, "-n", "--web.listen-address", listen, "--interval", "500ms")
	out := &lab.LimitedBuffer{Max: 64 << 10}
	c.Stdout, c.Stderr = out, out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	stopByPID(t, c, 10*time.Second)
	defer func() {
		if t.Failed() {
			t.Logf("serve (%s) output:\n%s", capList, out.Bytes())
		}
	}()

	sink := peer.TCPSink(kp.IPv4.Addr())
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		err := peer.Do(func() error {
			var err error
			conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}}}
	defer hc.CloseIdleConnections()
	scrape := func() string {
		resp, err := hc.Get("http://" + listen + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	for scrape() == "" {
		if ctx.Err() != nil {
			t.Fatal("serve never answered")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A long connection: its socket is in the table while serve looks.
	sent := make(chan error, 1)
	go func() {
		_, err := a.SendTCP(ctx, sink.Addr(), lab.Send{Bytes: 4 << 20, RateBps: 8 << 20, Timeout: 10 * time.Second})
		sent <- err
	}()
	prog := filepath.Base(os.Args[0])
	if len(prog) > 15 {
		prog = prog[:15] // the kernel's comm
	}
	want := fmt.Sprintf(`netriage_process_bytes_total{container="",direction="tx",interface=%q,process=%q}`, ka.Name, prog)
	var body string
	for deadline := time.Now().Add(15 * time.Second); ; {
		body = scrape()
		if strings.Contains(body, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err := <-sent; err != nil {
		t.Errorf("send: %v", err)
	}
	for _, w := range []string{`netriage_input_state{input="capture",state="ok"} 1`, `netriage_input_state{input="links",state="ok"} 1`, want} {
		if !strings.Contains(body, w) {
			t.Errorf("with %s as user 65534 and no_new_privs: no %s in /metrics", capList, w)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "netriage_input_state") && strings.HasSuffix(line, " 1") || strings.HasPrefix(line, want) {
			t.Logf("%s", line)
		}
	}
}
