package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"netriage/internal/lab"
	"netriage/views/output"
)

// The test copy of the mixin's alerts scales NetriageLinkSaturated from
// minutes to seconds (the real rule needs 4 saturated minutes of 5, for
// 5 minutes): each replacement must match exactly once, so a change to
// the rule fails here instead of silently testing something else.
var fleetAlertScaling = []struct{ from, to string }{
	{"increase(netriage_link_saturated_seconds_total[5m]) > 240\n        for: 5m", "increase(netriage_link_saturated_seconds_total[15s]) > 8\n        for: 5s"},
}

// TestIntegrationFleetPrometheus runs a real Prometheus server (Debian's
// prometheus) in a namespace r that routes to two others, a and b, which
// stand for two hosts, each with `netriage serve` watching its veth to r.
// An iperf3 flood from a to r through a tbf on a's veth saturates a's tx.
// Through the Prometheus HTTP API: the saturated seconds rise on a's tx
// only; a's top process and remote are iperf3 and r's address; each
// talker family sums to the flow bytes within 1% per host and direction;
// the (time-scaled) saturation alert is active for a only; and `netriage
// fleet` prints a's link first with iperf3, in its table and on its
// screen (--output tui, under tmux).
func TestIntegrationFleetPrometheus(t *testing.T) {
	l := lab.New(t)
	bin := e2eBin(t)
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not found (the Debian package prometheus; sudo make deps): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rt := l.Router()
	a, r, b := rt.A, rt.R, rt.B
	aLink, bLink := rt.AtoR, rt.BtoR
	aLink.OffloadsOff()
	aLink.TBF(20_000_000, 32_000, 100_000)
	dir := t.TempDir()

	// serve on each host: a 3 s verdict window so the test is short.
	cfgPath := filepath.Join(dir, "netriage.yml")
	writeFile(t, cfgPath, "check:\n  window: 3s\n")
	hosts := map[string]string{} // instance → interface
	var serveOut []*lab.LimitedBuffer
	for _, h := range []struct {
		ns   *lab.NS
		link *lab.Link
	}{{a, aLink}, {b, bLink}} {
		inst := net.JoinHostPort(h.link.IPv4.Addr().String(), "10099")
		hosts[inst] = h.link.Name
		c := h.ns.Command(ctx, bin, "serve", "-i", h.link.Name, "-n", "--config", cfgPath, "--web.listen-address", inst)
		out := &lab.LimitedBuffer{Max: 64 << 10}
		c.Stdout, c.Stderr = out, out
		serveOut = append(serveOut, out)
		if err := c.Start(); err != nil {
			t.Fatalf("serve in %s: %v", h.ns.Name, err)
		}
		stopByPID(t, c, 10*time.Second)
	}
	instA := net.JoinHostPort(aLink.IPv4.Addr().String(), "10099")
	instB := net.JoinHostPort(bLink.IPv4.Addr().String(), "10099")
	defer func() {
		if t.Failed() {
			for i, o := range serveOut {
				t.Logf("serve %d output:\n%s", i, o.Bytes())
			}
		}
	}()

	// Prometheus in r: 1 s scrapes and rule evaluations, the mixin's
	// recording rules as they are and a time-scaled copy of its alerts.
	alerts, err := os.ReadFile("../../configs/mixin/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	scaled := string(alerts)
	for _, s := range fleetAlertScaling {
		if n := strings.Count(scaled, s.from); n != 1 {
			t.Fatalf("alerts.yml: %q found %d times, want 1: update fleetAlertScaling", s.from, n)
		}
		scaled = strings.Replace(scaled, s.from, s.to, 1)
	}
	rules, err := filepath.Abs("../../configs/mixin/rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "alerts.yml"), scaled)
	writeFile(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q, %q]
scrape_configs:
  - job_name: netriage
    static_configs:
      - targets: [%q, %q]
`, rules, filepath.Join(dir, "alerts.yml"), instA, instB))
	pc := r.Command(ctx, promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address=127.0.0.1:9090", "--log.level=warn")
	promOut := &lab.LimitedBuffer{Max: 64 << 10}
	pc.Stdout, pc.Stderr = promOut, promOut
	if err := pc.Start(); err != nil {
		t.Fatalf("prometheus: %v", err)
	}
	stopByPID(t, pc, 10*time.Second)
	defer func() {
		if t.Failed() {
			t.Logf("prometheus output:\n%s", promOut.Bytes())
		}
	}()
	pq := &promAPI{t: t, ns: r, base: "http://127.0.0.1:9090"}
	pq.waitReady(ctx)

	// The flood: iperf3 from a to r, for longer than the test.
	r.Iperf3Server(rt.RtoA.IPv4.Addr(), 5201)
	flood := a.Command(ctx, "iperf3", "-c", rt.RtoA.IPv4.Addr().String(), "-p", "5201", "-t", "50")
	if err := flood.Start(); err != nil {
		t.Fatalf("iperf3: %v", err)
	}
	stopByPID(t, flood, 5*time.Second)
	start := time.Now()

	// Wait until the alert is active for a: by then the verdict has said
	// saturated for 8 s of the last 15, so everything else is there too.
	alertQ := `ALERTS{alertname="NetriageLinkSaturated"}`
	for {
		if vs := pq.query(ctx, alertQ); len(vs) > 0 && vs[0].labels["instance"] == instA {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the saturation alert never became active for %s (flood for %s)", instA, time.Since(start).Round(time.Second))
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a scrape or two of the recorded talkers
	t.Logf("alert active %s after the flood started", time.Since(start).Round(100*time.Millisecond))

	// The alert: pending or firing, for a's tx only.
	for _, v := range pq.query(ctx, alertQ) {
		want := map[string]string{"instance": instA, "interface": aLink.Name, "direction": "tx", "severity": "critical"}
		for k, w := range want {
			if v.labels[k] != w {
				t.Errorf("alert %v: %s is %q, want %q (only a's tx is saturated)", v.labels, k, v.labels[k], w)
			}
		}
		if st := v.labels["alertstate"]; st != "pending" && st != "firing" {
			t.Errorf("alert state %q", st)
		}
	}

	// Saturated seconds rise on a's tx only.
	sat := pq.query(ctx, `netriage_link_saturated_seconds_total`)
	inc := pq.query(ctx, `increase(netriage_link_saturated_seconds_total[30s])`)
	if len(sat) != 4 {
		t.Errorf("%d saturated-seconds series, want 4 (2 hosts × rx, tx): %v", len(sat), sat)
	}
	for _, v := range inc {
		isA := v.labels["instance"] == instA && v.labels["direction"] == "tx"
		t.Logf("saturated seconds %s %s %s: increase over 30s %.1f", v.labels["instance"], v.labels["interface"], v.labels["direction"], v.value)
		if isA && v.value < 5 || !isA && v.value != 0 {
			t.Errorf("saturated seconds of %v rose by %v: want ≥ 5 on a's tx and 0 elsewhere", v.labels, v.value)
		}
	}
	for _, v := range sat {
		t.Logf("netriage_link_saturated_seconds_total%v = %v", v.labels, v.value)
	}

	// The top process and remote of a's tx.
	for _, tc := range []struct{ q, label, want string }{
		{`topk(1, rate(netriage_process_bytes_total{instance="` + instA + `",direction="tx",process!="other"}[10s]))`, "process", "iperf3"},
		{`topk(1, rate(netriage_remote_bytes_total{instance="` + instA + `",direction="tx",remote!="other"}[10s]))`, "remote", rt.RtoA.IPv4.Addr().String()},
		{`topk(1, instance_interface_direction_process:netriage_process_bytes:rate1m{instance="` + instA + `",direction="tx"})`, "process", "iperf3"},
	} {
		vs := pq.query(ctx, tc.q)
		if len(vs) != 1 || vs[0].labels[tc.label] != tc.want {
			t.Errorf("%s: %v, want %s=%s", tc.q, vs, tc.label, tc.want)
		} else {
			t.Logf("top %s of a's tx: %s at %.0f B/s", tc.label, tc.want, vs[0].value)
		}
	}

	// Each talker family sums to the flow bytes within 1%, per host and
	// direction, at one evaluation time.
	at := time.Now().Add(-time.Second)
	flowB := pq.byLink(pq.queryAt(ctx, `netriage_flow_bytes_total`, at))
	if len(flowB) != 4 {
		t.Errorf("flow bytes of %d host-directions, want 4: %v", len(flowB), flowB)
	}
	for _, fam := range []string{"netriage_process_bytes_total", "netriage_remote_bytes_total"} {
		sums := pq.byLink(pq.queryAt(ctx, `sum by (instance, interface, direction) (`+fam+`)`, at))
		for k, fb := range flowB {
			s, ok := sums[k]
			t.Logf("%s %s: Σ %s = %.0f, flow bytes %.0f (%+.4f%%)", k, fam, fam, s, fb, 100*(s-fb)/math.Max(fb, 1))
			if !ok || math.Abs(s-fb) > 0.01*fb {
				t.Errorf("%s: %s sums to %v (%v), flow bytes %v: not within 1%%", k, fam, s, ok, fb)
			}
		}
	}
	for _, v := range pq.queryAt(ctx, `netriage_verdict_coverage_ratio`, at) {
		t.Logf("coverage %s %s: %.4f", v.labels["instance"], v.labels["direction"], v.value)
	}

	// netriage fleet, run in r against the same server.
	var jsonOut, tableOut bytes.Buffer
	for _, run := range []struct {
		out  *bytes.Buffer
		args []string
	}{{&jsonOut, []string{"--output", "json"}}, {&tableOut, nil}} {
		c := r.Command(ctx, bin, append([]string{"fleet", "--prometheus", pq.base, "--window", "5m"}, run.args...)...)
		var errOut bytes.Buffer
		c.Stdout, c.Stderr = run.out, &errOut
		if err := c.Run(); err != nil {
			t.Fatalf("fleet %v: %v: %s", run.args, err, errOut.String())
		}
	}
	t.Logf("netriage fleet:\n%s", tableOut.String())
	var rec output.FleetRecord
	if err := json.Unmarshal(jsonOut.Bytes(), &rec); err != nil {
		t.Fatalf("fleet json: %v\n%s", err, jsonOut.String())
	}
	if len(rec.Hosts) != 2 || rec.SaturatedNow != 1 {
		t.Errorf("fleet: hosts %v, saturated now %d; want 2 hosts and 1 saturated", rec.Hosts, rec.SaturatedNow)
	}
	if len(rec.Problems) == 0 {
		t.Fatalf("fleet found no saturated link:\n%s", jsonOut.String())
	}
	p := rec.Problems[0]
	if p.Host != instA || p.Interface != hosts[instA] || p.Direction != "tx" || p.Now != "saturated" ||
		len(p.Processes) == 0 || p.Processes[0].Process != "iperf3" || len(p.Remotes) == 0 || p.Remotes[0].Remote != rt.RtoA.IPv4.Addr().String() {
		t.Errorf("fleet's worst link %+v: want %s %s tx saturated, iperf3 to %s", p, instA, aLink.Name, rt.RtoA.IPv4.Addr())
	}
	for _, q := range rec.Problems {
		if q.Host == instB {
			t.Errorf("fleet lists b: %+v", q)
		}
	}
	if line := firstLineWith(tableOut.String(), instA); !strings.Contains(line, "saturated") || !strings.Contains(tableOut.String(), "iperf3") {
		t.Errorf("fleet's table does not show %s saturated with iperf3:\n%s", instA, tableOut.String())
	}

	// The fleet screen, in r under tmux: a's link saturated, with iperf3.
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Logf("fleet --output tui not run: tmux not installed (make deps installs it)")
	} else {
		s := startTUIWith(t, 120, 40, "ip netns exec "+r.Name, "fleet --prometheus "+pq.base+" --window 5m --output tui")
		scr := s.waitUntil("a's link saturated with iperf3", 15*time.Second, func(scr string) bool {
			return strings.Contains(firstLineWith(scr, instA), "saturated") && strings.Contains(scr, "iperf3")
		})
		t.Logf("netriage fleet --output tui:\n%s", scr)
		s.keys("q")
		s.waitFor("EXIT=0", false)
		s.checkRestored("fleet --output tui")
	}
	t.Logf("whole scenario: %s", time.Since(start).Round(100*time.Millisecond))
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func firstLineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// stopByPID ends c at cleanup: SIGTERM to its PID, then SIGKILL after
// grace (the lab kills it too, by PID, if it is still there).
func stopByPID(t *testing.T, c *exec.Cmd, grace time.Duration) {
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = c.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(grace):
			_ = c.Process.Kill()
			<-done
		}
	})
}

// promAPI queries the Prometheus HTTP API from inside namespace ns.
type promAPI struct {
	t    *testing.T
	ns   *lab.NS
	base string
	hc   *http.Client
}

type promSample struct {
	labels map[string]string
	value  float64
}

func (p *promAPI) client() *http.Client {
	if p.hc == nil {
		p.hc = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				var c net.Conn
				err := p.ns.Do(func() error {
					var err error
					c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
					return err
				})
				return c, err
			}}}
		p.t.Cleanup(p.hc.CloseIdleConnections)
	}
	return p.hc
}

func (p *promAPI) waitReady(ctx context.Context) {
	p.t.Helper()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/-/ready", nil)
		if resp, err := p.client().Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if ctx.Err() != nil {
			p.t.Fatal("prometheus did not become ready")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (p *promAPI) query(ctx context.Context, q string) []promSample {
	return p.queryAt(ctx, q, time.Time{})
}

// queryAt runs an instant query (at the server's time when at is zero)
// and returns its vector.
func (p *promAPI) queryAt(ctx context.Context, q string, at time.Time) []promSample {
	p.t.Helper()
	v := url.Values{"query": {q}}
	if !at.IsZero() {
		v.Set("time", fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000))
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/api/v1/query?"+v.Encode(), nil)
	resp, err := p.client().Do(req)
	if err != nil {
		p.t.Fatalf("query %s: %v", q, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		p.t.Fatalf("query %s: %v %s: %.500s", q, err, r.Error, body)
	}
	var out []promSample
	for _, s := range r.Data.Result {
		var f float64
		if str, ok := s.Value[1].(string); ok {
			_, _ = fmt.Sscan(str, &f)
		}
		out = append(out, promSample{labels: s.Metric, value: f})
	}
	return out
}

// byLink maps "instance interface direction" to each sample's value.
func (p *promAPI) byLink(ss []promSample) map[string]float64 {
	m := map[string]float64{}
	for _, s := range ss {
		m[s.labels["instance"]+" "+s.labels["interface"]+" "+s.labels["direction"]] = s.value
	}
	return m
}
