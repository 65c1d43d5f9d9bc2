// Package web is the thin HTTP host of `netriage serve`, as views/tui is
// the thin gocui host of top: it serves /metrics (views/metrics' Collector
// with the Go and process collectors and netriage_build_info, in the text
// format or OpenMetrics by content negotiation) and a small landing page,
// with TLS, response headers and basic auth from a web configuration the
// command loaded (configs.LoadWebConfig). It renders nothing of its own:
// the page shows the metrics' State, whose text is sanitised already, and
// html/template escapes it.
package web

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"golang.org/x/crypto/bcrypt"

	"netriage/triage/verdict"
	"netriage/views/metrics"
)

// MetricsPath is where the metrics are served.
const MetricsPath = "/metrics"

// Options configure the host.
type Options struct {
	// Metrics is the collector the engine's emit function publishes to.
	Metrics *metrics.Collector
	// Version is netriage's version, for netriage_build_info and the page.
	Version string
	// Mode says how flows are seen ("capture", "socket counters (TCP
	// only)"), for the page.
	Mode string
	// TLS, when set, serves HTTPS with it; HTTP2 allows HTTP/2 over it.
	TLS   *tls.Config
	HTTP2 bool
	// Headers are added to every response.
	Headers map[string]string
	// Users maps basic-auth user names to bcrypt hashes; empty: no auth.
	Users map[string]string
}

// NewHandler returns the host's handler: / and /metrics, behind the
// headers and basic auth of o.
func NewHandler(o Options) http.Handler {
	if o.Version != "" {
		version.Version = o.Version
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("netriage"), o.Metrics)
	mux := http.NewServeMux()
	mux.Handle(MetricsPath, promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true, MaxRequestsInFlight: 4, Timeout: 30 * time.Second,
	})))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = landing.Execute(w, pageOf(o, o.Metrics.Latest()))
	})
	var h http.Handler = mux
	if len(o.Users) > 0 {
		h = &basicAuth{users: o.Users, next: h, cache: map[[32]byte]bool{}}
	}
	headers := o.Headers
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		h.ServeHTTP(w, r)
	})
}

// dummyHash is checked for unknown users, so that a wrong name takes as
// long as a wrong password (no user enumeration by timing).
var dummyHash = []byte("$2a$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi")

// basicAuth checks HTTP basic auth against bcrypt hashes. A bcrypt check
// costs tens of milliseconds by design: checks run one at a time, and the
// answer for a name and password is remembered (by their SHA-256), so a
// scrape every few seconds does not pay it each time.
type basicAuth struct {
	users map[string]string
	next  http.Handler

	mu    sync.Mutex
	cache map[[32]byte]bool
}

func (a *basicAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if user, pass, ok := r.BasicAuth(); ok && a.check(user, pass) {
		a.next.ServeHTTP(w, r)
		return
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="netriage"`)
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}

func (a *basicAuth) check(user, pass string) bool {
	key := sha256.Sum256([]byte(fmt.Sprintf("%d:%s:%s", len(user), user, pass)))
	a.mu.Lock()
	defer a.mu.Unlock()
	if ok, seen := a.cache[key]; seen {
		return ok
	}
	hash, known := a.users[user]
	h := dummyHash
	if known {
		h = []byte(hash)
	}
	ok := bcrypt.CompareHashAndPassword(h, []byte(pass)) == nil && known
	if len(a.cache) >= 256 {
		clear(a.cache)
	}
	a.cache[key] = ok
	return ok
}

// Server is the listening host.
type Server struct {
	srv *http.Server
	ln  net.Listener
	tls bool
}

// Listen binds addr now (so that a port in use is an error before the
// capture starts) and returns the server; Serve then answers.
func Listen(addr string, o Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			err = oe.Err
		}
		return nil, fmt.Errorf("listen on %s: %w (choose another with --web.listen-address)", addr, err)
	}
	srv := &http.Server{Handler: NewHandler(o), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	if o.TLS != nil {
		srv.TLSConfig = o.TLS.Clone()
		if !o.HTTP2 {
			srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		}
	}
	return &Server{srv: srv, ln: ln, tls: o.TLS != nil}, nil
}

// URL is the landing page's address, with the port bound.
func (s *Server) URL() string {
	scheme := "http"
	if s.tls {
		scheme = "https"
	}
	return scheme + "://" + s.ln.Addr().String() + "/"
}

// Run serves while run (the engine) runs on the calling goroutine, as
// tui.Host.RunEngine runs the TUI's: run's context ends with ctx or when the
// server fails, and the server stops when run returns. The error is the
// server's.
func (s *Server) Run(ctx context.Context, run func(context.Context)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx); cancel() }()
	run(ctx)
	cancel()
	return <-served
}

// Serve answers until ctx ends, then stops accepting, lets the requests in
// flight finish (for at most 5 s) and returns; an error if it could not
// serve.
func (s *Server) Serve(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		if s.tls {
			done <- s.srv.ServeTLS(s.ln, "", "")
		} else {
			done <- s.srv.Serve(s.ln)
		}
	}()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if e := <-done; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

//go:embed landing.html
var landingHTML string

var landing = template.Must(template.New("landing").Parse(landingHTML))

// page is what the landing page shows.
type page struct {
	Version, Mode, Metrics string
	Seq                    uint64
	Time                   string
	Inputs                 []metrics.InputState
	Verdicts               []pageVerdict
}

type pageVerdict struct {
	Interface, Direction, State string
	Saturated                   float64
}

func pageOf(o Options, s *metrics.State) page {
	p := page{Version: o.Version, Mode: o.Mode, Metrics: MetricsPath}
	if s == nil {
		return p
	}
	p.Seq, p.Time, p.Inputs = s.Seq, s.Time.UTC().Format(time.RFC3339), s.Inputs
	for _, v := range s.Verdicts {
		if v.Judged {
			p.Verdicts = append(p.Verdicts, pageVerdict{Interface: v.Interface, Direction: dirName(v.Direction), State: v.State.String(), Saturated: v.SaturatedSeconds})
		}
	}
	return p
}

func dirName(d verdict.Direction) string { return d.String() }
