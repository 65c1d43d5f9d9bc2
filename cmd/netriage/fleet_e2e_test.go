package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"netriage/triage/fleet"
)

// Bad flags fail with a usage error (2); a server that cannot be reached
// or answers an error fails with one line naming it (1), without the
// body of its answer.
func TestE2EFleetErrors(t *testing.T) {
	bin := e2eBin(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"status":"error","errorType":"execution","error":"query timed out in \u001b[2Jexpression evaluation","data":"BODY-TEXT"}`)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "--prometheus: give the Prometheus server's URL"},
		{[]string{"--prometheus", "ftp://prom:21"}, exitUsage, `scheme "ftp": only http and https`},
		{[]string{"--prometheus", "prom:9090"}, exitUsage, "only http and https"},
		{[]string{"--prometheus", "http://u:pw@prom:9090"}, exitUsage, "credentials do not go in the URL"},
		{[]string{"--prometheus", "http://prom:9090", "--top", "0"}, exitUsage, "--top: from 1 to 20"},
		{[]string{"--prometheus", "http://prom:9090", "--output", "csv"}, exitUsage, "csv"},
		{[]string{"--prometheus", "http://prom:9090", "--refresh", "4s"}, exitUsage, "--refresh: at least 5s"},
		{[]string{"--prometheus", srv.URL, "--output", "tui"}, exitUsage, "needs an interactive terminal on stdin and stdout"},
		{[]string{"--prometheus", closed}, exitFailure, "cannot reach Prometheus at " + closed + ": dial tcp"},
		{[]string{"--prometheus", srv.URL}, exitFailure, "answered an error to query hosts: execution: query timed out in ?[2Jexpression evaluation"},
	} {
		_, errOut, code := runBin(t, bin, append([]string{"fleet"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "BODY-TEXT") || strings.Contains(errOut, "pw@") || strings.Contains(errOut, "\x1b") {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

// fakeProm is a Prometheus HTTP API on 127.0.0.1 with canned answers:
// each query of fleet.Queries (with the default options) gets the samples
// of the current answer set under its name, or the whole set fails with
// a 503 when fail is set.
type fakeProm struct {
	srv     *httptest.Server
	mu      sync.Mutex
	set     map[string][]fakeSample
	fail    bool
	queries atomic.Int64
}

type fakeSample struct {
	labels map[string]string
	value  float64
}

func newFakeProm(t *testing.T) *fakeProm {
	t.Helper()
	names := map[string]string{}
	for _, q := range fleet.Queries(fleet.Options{}) {
		names[q.PromQL] = q.Name
	}
	p := &fakeProm{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.queries.Add(1)
		_ = r.ParseForm()
		p.mu.Lock()
		set, fail := p.set, p.fail
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if fail {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"status":"error","errorType":"unavailable","error":"TSDB \u001b[31mnot ready","data":"BODY-TEXT"}`)
			return
		}
		name, ok := names[r.Form.Get("query")]
		if r.URL.Path != "/api/v1/query" || !ok {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"unknown query"}`)
			return
		}
		type sample struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		res := []sample{}
		for _, s := range set[name] {
			res = append(res, sample{Metric: s.labels, Value: [2]any{1796197991, fmt.Sprint(s.value)}})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": res}})
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// answer makes set the answers from now on; fail makes every query fail.
func (p *fakeProm) answer(set map[string][]fakeSample, fail bool) {
	p.mu.Lock()
	p.set, p.fail = set, fail
	p.mu.Unlock()
}

// link is a sample of one host's interface and direction, with more
// labels.
func link(inst, iface, dir string, v float64, more ...string) fakeSample {
	l := map[string]string{"instance": inst, "interface": iface, "direction": dir}
	for i := 0; i+1 < len(more); i += 2 {
		l[more[i]] = more[i+1]
	}
	return fakeSample{l, v}
}

// fleetSets are the fake's answers: first host a's eth0 tx saturated by
// iperf3 (to a remote whose name has an escape sequence), then host b's
// rx congested by rsync-backup while a is fine again.
func fleetSets() (first, second map[string][]fakeSample) {
	const a, b = "198.18.1.1:10099", "198.18.2.1:10099"
	hosts := []fakeSample{link(a, "", "", 1), link(b, "", "", 1)}
	first = map[string][]fakeSample{
		fleet.QHosts:     hosts,
		fleet.QState:     {link(a, "eth0", "tx", 1, "state", "saturated"), link(b, "eth0", "rx", 1, "state", "ok")},
		fleet.QUtil:      {link(a, "eth0", "tx", 0.962), link(b, "eth0", "rx", 0.1)},
		fleet.QPeak:      {link(a, "eth0", "tx", 1.029)},
		fleet.QSaturated: {link(a, "eth0", "tx", 611)},
		fleet.QFlows:     {link(a, "eth0", "tx", 92875)},
		fleet.QProcesses: {link(a, "eth0", "tx", 92500, "process", "iperf3", "container", "")},
		fleet.QRemotes:   {link(a, "eth0", "tx", 92600, "remote", "198.18.1.2")},
		fleet.QNames:     {link(a, "", "", 1, "remote", "198.18.1.2", "name", "sink\x1b[2J.example")},
		fleet.QSilent:    nil,
		fleet.QCongested: nil,
	}
	second = map[string][]fakeSample{
		fleet.QHosts:     hosts,
		fleet.QState:     {link(a, "eth0", "tx", 1, "state", "ok"), link(b, "eth0", "rx", 1, "state", "congested")},
		fleet.QUtil:      {link(a, "eth0", "tx", 0.2), link(b, "eth0", "rx", 0.74)},
		fleet.QSaturated: {link(a, "eth0", "tx", 611)},
		fleet.QCongested: {link(b, "eth0", "rx", 42)},
		fleet.QFlows:     {link(b, "eth0", "rx", 1.25e6)},
		fleet.QProcesses: {link(b, "eth0", "rx", 1.2e6, "process", "rsync-backup", "container", "backup.service")},
		fleet.QRemotes:   {link(b, "eth0", "rx", 1.2e6, "remote", "198.18.2.9")},
	}
	return first, second
}

// TestE2EFleetTUI runs `fleet --output tui` under tmux against a fake
// Prometheus: the saturated link and its process show; r asks again and
// the screen changes to the second answer; a 503 keeps that answer
// marked STALE with the API's error in the status line, never the body; the
// refresh timer asks again by itself and the mark goes; q restores the
// terminal.
func TestE2EFleetTUI(t *testing.T) {
	p := newFakeProm(t)
	first, second := fleetSets()
	p.answer(first, false)
	s := startTUI(t, 120, 40, "fleet --prometheus "+p.srv.URL+" --output tui --refresh 5s")
	scr := s.waitFor("iperf3", false)
	for _, want := range []string{" SATURATED ", "198.18.1.1:10099", "eth0", "saturated", "96.2%", "102.9%", "10m11s", "99.6%",
		"198.18.1.2 (sink?[2J.example)", "2 hosts reporting", "Prometheus " + p.srv.URL, "row 1 of 1"} {
		if !strings.Contains(scr, want) {
			t.Errorf("first screen lacks %q:\n%s", want, scr)
		}
	}
	if st := s.termState(); !st.alternate || st.cursor {
		t.Errorf("the UI runs without the alternate screen (%v) or with the cursor shown (%v)", st.alternate, st.cursor)
	}

	s.keys("Enter")
	scr = s.waitFor("Link 1 of 1: 198.18.1.1:10099 eth0 tx", false)
	for _, want := range []string{"tx (sent by the host)", "10m11s of the last 1h", "743kb/s (the capture's IP bytes"} {
		if !strings.Contains(scr, want) {
			t.Errorf("detail lacks %q:\n%s", want, scr)
		}
	}
	s.keys("Escape")
	s.waitFor("Link 1 of 1", true)
	time.Sleep(100 * time.Millisecond) // a key right after Esc reads as Alt+key

	before := p.queries.Load()
	p.answer(second, false)
	s.keys("r")
	// The selection follows host a's link, now second; k selects b's.
	s.waitFor("row 2 of 2", false)
	s.keys("k")
	scr = s.waitFor("rsync-backup (backup.service)", false)
	for _, want := range []string{" CONGESTED ", "198.18.2.1:10099", "congested", "row 1 of 2", "198.18.1.1:10099"} {
		if !strings.Contains(scr, want) {
			t.Errorf("second screen lacks %q:\n%s", want, scr)
		}
	}
	if n := p.queries.Load() - before; n < int64(len(fleet.Queries(fleet.Options{}))) {
		t.Errorf("r asked %d queries", n)
	}

	p.answer(nil, true)
	s.keys("r")
	scr = s.waitFor("STALE: ", false)
	// client_golang reads no body from a 503: the error is its status.
	for _, want := range []string{"answered an error to query hosts: server_error: server error: 503", "rsync-backup", "1 refresh failed"} {
		if !strings.Contains(scr, want) {
			t.Errorf("stale screen lacks %q:\n%s", want, scr)
		}
	}
	if strings.Contains(scr, "BODY-TEXT") {
		t.Errorf("the body of the answer is shown:\n%s", scr)
	}

	// No key: the refresh timer (5 s) asks again.
	p.answer(first, false)
	s.waitUntil("the answer of the next refresh", 15*time.Second, func(scr string) bool {
		return !strings.Contains(scr, "STALE") && strings.Contains(scr, "iperf3")
	})

	s.keys("q")
	scr = s.waitFor("EXIT=0", false)
	if strings.Contains(scr, "Problem links") {
		t.Errorf("the screen still shows the UI after q:\n%s", scr)
	}
	s.checkRestored("q")
}

// TestE2EFleetTUIStops: Ctrl-C and a stop signal end the fleet screen
// with the terminal restored, a signal with exit status 128+n, also while
// a query is waiting on a server that never answers.
func TestE2EFleetTUIStops(t *testing.T) {
	p := newFakeProm(t)
	first, _ := fleetSets()
	p.answer(first, false)
	// It reads the query (a POST form) first: the request's context ends
	// with the connection only once the body is read.
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { _ = r.ParseForm(); <-r.Context().Done() }))
	defer hang.Close()
	for _, tc := range []struct {
		name, url, want string
		stop            func(s *tmuxSession)
		exit            string
	}{
		{"ctrl-c", p.srv.URL, "iperf3", func(s *tmuxSession) { s.keys("C-c") }, "EXIT=0"},
		{"sigterm", p.srv.URL, "iperf3", func(s *tmuxSession) { _ = syscall.Kill(s.binPID(), syscall.SIGTERM) }, "EXIT=143"},
		{"sighup while asking", hang.URL, "asking Prometheus", func(s *tmuxSession) { _ = syscall.Kill(s.binPID(), syscall.SIGHUP) }, "EXIT=129"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startTUI(t, 100, 30, "fleet --prometheus "+tc.url+" --output tui")
			s.waitFor(tc.want, false)
			tc.stop(s)
			scr := s.waitFor("EXIT=", false)
			if !strings.Contains(scr, tc.exit) || strings.Contains(scr, "Problem links") || strings.Contains(scr, "goroutine ") {
				t.Errorf("want %s and the shell back:\n%s", tc.exit, scr)
			}
			s.checkRestored(tc.name)
		})
	}
}

// TestE2EFleetTUIPanicRestoresTerminal builds the binary with the
// test-only tag that makes the fleet screen's second query panic (r asks
// it), and checks that the terminal is restored before the panic and its
// stack are printed.
func TestE2EFleetTUIPanicRestoresTerminal(t *testing.T) {
	topBin(t)
	p := newFakeProm(t)
	first, _ := fleetSets()
	p.answer(first, false)
	bin := filepath.Join(t.TempDir(), "netriage-testpanic")
	out, err := exec.Command("go", "build", "-tags", "netriage_testpanic", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build the test binary: %v: %s", err, out)
	}
	s := startTUICmd(t, 200, 50, "env NETRIAGE_TEST_PANIC=fleet "+bin+" fleet --output tui --prometheus "+p.srv.URL)
	s.waitFor("iperf3", false)
	s.keys("r")
	s.waitFor("EXIT=", false)
	scr := s.joined()
	for _, want := range []string{"netriage fleet: internal error: test panic in the fleet screen's query", "The terminal was restored", "tui.(*refresher).run", "EXIT=1"} {
		if !strings.Contains(scr, want) {
			t.Errorf("screen lacks %q:\n%s", want, scr)
		}
	}
	s.checkRestored("panic")
}
