package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"netriage/triage/verdict"
	"netriage/views/metrics"
)

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

// A hash of "secret" at cost 4 (fast for tests).
const testHash = "$2a$04$IQxKE8xwOua.s3NLTmYCd.A6IS4i/OOmUkcOl6omUqfGoVBmaN8ry"

// state has an interface whose (already sanitised) name is markup.
func state() *metrics.State {
	u := 0.97
	return &metrics.State{Seq: 7, Time: t0, WindowSeconds: 10,
		Inputs: []metrics.InputState{{Input: "capture", State: "ok"}},
		Links:  []metrics.Link{{Interface: "<script>x</script>", Up: true, Bytes: metrics.Dir[uint64]{10, 20}}},
		Verdicts: []metrics.Verdict{{Interface: "<script>x</script>", Direction: verdict.TX, Judged: true, State: verdict.Saturated,
			Utilization: &u, SaturatedSeconds: 42}},
	}
}

func handler(o Options) http.Handler {
	if o.Metrics == nil {
		o.Metrics = metrics.NewCollector()
		o.Metrics.Publish(state())
	}
	if o.Version == "" {
		o.Version = "v1.2.3"
	}
	return NewHandler(o)
}

func get(t *testing.T, h http.Handler, path string, hdr map[string]string, user, pass string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLandingPage(t *testing.T) {
	h := handler(Options{Mode: "capture"})
	r := get(t, h, "/", nil, "", "")
	page := body(t, r)
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	for _, want := range []string{`<a href="/metrics">`, "v1.2.3", "flows from capture", "&lt;script&gt;x&lt;/script&gt;", `class="saturated"`, "42 s", "capture ok"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Errorf("an interface name reached the page as markup:\n%s", page)
	}
	if r := get(t, h, "/nope", nil, "", ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("/nope: %d", r.StatusCode)
	}
	// Before the first step the page says so.
	empty := NewHandler(Options{Metrics: metrics.NewCollector()})
	if p := body(t, get(t, empty, "/", nil, "", "")); !strings.Contains(p, "Waiting for the first step") {
		t.Errorf("page before the first step:\n%s", p)
	}
}

func TestMetricsContentNegotiation(t *testing.T) {
	h := handler(Options{})
	tests := []struct {
		accept, wantType string
		wantEOF          bool
	}{
		{"", "text/plain; version=0.0.4", false},
		{"text/plain", "text/plain; version=0.0.4", false},
		{"application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5", "application/openmetrics-text; version=1.0.0", true},
	}
	for _, tc := range tests {
		r := get(t, h, "/metrics", map[string]string{"Accept": tc.accept}, "", "")
		b := body(t, r)
		if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), tc.wantType) {
			t.Errorf("Accept %q: status %d, type %q, want %q", tc.accept, r.StatusCode, r.Header.Get("Content-Type"), tc.wantType)
		}
		if got := strings.HasSuffix(b, "# EOF\n"); got != tc.wantEOF {
			t.Errorf("Accept %q: ends with # EOF: %v", tc.accept, got)
		}
		for _, want := range []string{
			`netriage_link_saturated_seconds_total{direction="tx",interface="<script>x</script>"} 42`,
			`netriage_build_info{branch="",goarch=`, `version="v1.2.3"`,
			"go_goroutines ", "process_cpu_seconds_total ", "promhttp_metric_handler_requests_total",
		} {
			if !strings.Contains(b, want) {
				t.Errorf("Accept %q: /metrics lacks %q", tc.accept, want)
			}
		}
	}
}

func TestBasicAuthAndHeaders(t *testing.T) {
	h := handler(Options{Users: map[string]string{"prom": testHash}, Headers: map[string]string{"X-Frame-Options": "deny"}})
	tests := []struct {
		name, user, pass string
		want             int
	}{
		{"no credentials", "", "", http.StatusUnauthorized},
		{"wrong password", "prom", "nope", http.StatusUnauthorized},
		{"unknown user", "root", "secret", http.StatusUnauthorized},
		{"right", "prom", "secret", http.StatusOK},
		{"right again (cached)", "prom", "secret", http.StatusOK},
		{"wrong again (cached)", "prom", "nope", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		for _, path := range []string{"/", "/metrics"} {
			r := get(t, h, path, nil, tc.user, tc.pass)
			if r.StatusCode != tc.want {
				t.Errorf("%s %s: %d, want %d", tc.name, path, r.StatusCode, tc.want)
			}
			if r.Header.Get("X-Frame-Options") != "deny" {
				t.Errorf("%s %s: header missing", tc.name, path)
			}
			if tc.want == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("%s: no WWW-Authenticate", tc.name)
			}
		}
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "netriage test"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<33, 0), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// The server binds at Listen, serves HTTPS with the TLS configuration, and
// stops when its context ends.
func TestServeTLSAndStop(t *testing.T) {
	cert, pool := selfSigned(t)
	col := metrics.NewCollector()
	col.Publish(state())
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }}
	s, err := Listen("127.0.0.1:0", Options{Metrics: col, TLS: cfg, HTTP2: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") {
		t.Errorf("URL %s", s.URL())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	r, err := client.Get(s.URL() + "metrics")
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, r)
	r.Body.Close()
	if r.StatusCode != 200 || !strings.Contains(b, "netriage_link_bytes_total") {
		t.Errorf("status %d:\n%.300s", r.StatusCode, b)
	}
	plain := &http.Client{Timeout: 10 * time.Second}
	if r, err := plain.Get(strings.Replace(s.URL(), "https", "http", 1)); err == nil {
		if r.StatusCode == 200 {
			t.Error("plain HTTP answered on the TLS port")
		}
		r.Body.Close()
	}
	client.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after stop: %v", err)
	}
	if _, err := Listen(strings.TrimPrefix(strings.TrimSuffix(s.URL(), "/"), "https://"), Options{Metrics: col}); err != nil {
		t.Errorf("the port is still held after Serve returned: %v", err)
	}
}

func TestListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Listen(ln.Addr().String(), Options{Metrics: metrics.NewCollector()})
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "--web.listen-address") {
		t.Errorf("listen on a used port: %v", err)
	}
}

// BenchmarkScrape is one whole scrape of /metrics at the default caps
// (every talker group full, 8 interfaces) with the Go and process
// collectors, in the text format.
func BenchmarkScrape(b *testing.B) {
	col := metrics.NewCollector()
	col.Publish(fullState(8))
	h := NewHandler(Options{Metrics: col, Version: "bench"})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// fullState is metrics' FullState (a State at the default caps), rebuilt
// here from exported types.
func fullState(ifaces int) *metrics.State {
	caps := metrics.DefaultCaps()
	st := &metrics.State{Seq: 1000, Time: t0, WindowSeconds: 10}
	util := 0.5
	for i := 0; i < ifaces; i++ {
		name := fmt.Sprintf("eth%d", i)
		st.Links = append(st.Links, metrics.Link{Interface: name, Up: true, Bytes: metrics.Dir[uint64]{1e12, 2e12},
			CapacityBytesPerSec: metrics.Dir[float64]{1.25e9, 1.25e9}, CapacitySource: metrics.Dir[string]{"ethtool", "ethtool"},
			Utilization: metrics.Dir[*float64]{&util, &util}, Qdisc: &metrics.Qdisc{Kind: "mq"}})
		for _, d := range []verdict.Direction{verdict.RX, verdict.TX} {
			st.Verdicts = append(st.Verdicts, metrics.Verdict{Interface: name, Direction: d, Judged: true, Coverage: &util, Utilization: &util})
		}
	}
	c := &metrics.Capture{Interface: "any", Handles: []metrics.Handle{{Interface: "eth0"}}}
	for _, r := range []string{"closed", "forwarded", "other_protocol", "unknown"} {
		c.Unattributed = append(c.Unattributed, metrics.Unattributed{Reason: r})
	}
	for d := range 2 {
		for i := 0; i < caps.KeepRank; i++ {
			c.Processes[d].Series = append(c.Processes[d].Series, metrics.Talker{Process: fmt.Sprintf("worker-%02d", i), Container: "docker:0123456789ab", Bytes: uint64(i) * 1e9})
			c.Remotes[d].Series = append(c.Remotes[d].Series, metrics.Talker{Remote: fmt.Sprintf("198.19.%d.%d", d, i), Bytes: uint64(i) * 1e9})
		}
	}
	for i := 0; i < 2*caps.KeepRank; i++ {
		c.RemoteNames = append(c.RemoteNames, metrics.RemoteName{Remote: fmt.Sprintf("198.19.0.%d", i), Name: fmt.Sprintf("host-%d.example.net", i)})
	}
	st.Capture = c
	return st
}

// Run serves while the engine function runs, and stops when it returns;
// the engine's context ends with the caller's.
func TestRun(t *testing.T) {
	s, err := Listen("127.0.0.1:0", Options{Metrics: metrics.NewCollector()})
	if err != nil {
		t.Fatal(err)
	}
	answered := false
	err = s.Run(context.Background(), func(ctx context.Context) {
		r, err := (&http.Client{Timeout: 10 * time.Second}).Get(s.URL())
		if err == nil {
			answered = r.StatusCode == 200
			r.Body.Close()
		}
	})
	if err != nil || !answered {
		t.Errorf("Run: %v, answered %v", err, answered)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s2, err := Listen("127.0.0.1:0", Options{Metrics: metrics.NewCollector()})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := s2.Run(ctx, func(ctx context.Context) { <-ctx.Done() }); err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}
