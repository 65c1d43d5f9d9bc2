// Package web is the thin HTTP host of `netriage serve`, as views/tui is
// the thin gocui host of top: it serves /metrics (views/metrics' Collector
// with the Go and process collectors and netriage_build_info, in the text
// format or OpenMetrics by content negotiation) and a small landing page,
// with TLS, response headers and basic auth from a web configuration the
// command loaded (configs.LoadWebConfig). It renders nothing of its own:
// the page shows the metrics' State, whose text is sanitised already, and
// escapes it for HTML.
package web

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/crypto/bcrypt"

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
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(o.Version), o.Metrics)
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
		writePage(w, o, o.Metrics.Latest())
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

// buildInfo is netriage_build_info with the labels of the Prometheus
// exporters' build-info metric (prometheus/common/version's, written here
// because that package links text/template, whose reflection keeps the
// linker from dropping unused methods).
func buildInfo(ver string) prometheus.Collector {
	rev, tags := "unknown", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "-tags":
				tags = s.Value
			}
		}
	}
	if ver == "" {
		ver = "unknown"
	}
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "netriage_build_info",
		Help: "A metric with a constant '1' value labeled by version, revision, branch, goversion from which netriage was built, and the goos and goarch for the build.",
		ConstLabels: prometheus.Labels{"version": ver, "revision": rev, "branch": "", "goversion": runtime.Version(),
			"goos": runtime.GOOS, "goarch": runtime.GOARCH, "tags": tags}}, func() float64 { return 1 })
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

// writePage writes the landing page: every value is escaped with
// html.EscapeString (the State's text is sanitised already). It is written
// by hand rather than with html/template, whose reflection on method
// names keeps the linker from dropping any exported method of the binary
// (4.4 MB more).
func writePage(w io.Writer, o Options, s *metrics.State) {
	var b strings.Builder
	e := html.EscapeString
	b.WriteString(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>netriage</title>
<style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #ddd}.saturated{color:#b00;font-weight:bold}.congested{color:#b60}</style>
</head>
<body>
<h1>netriage</h1>
`)
	fmt.Fprintf(&b, "<p>Is this link saturated, and who is using it? Version %s", e(o.Version))
	if o.Mode != "" {
		fmt.Fprintf(&b, ", flows from %s", e(o.Mode))
	}
	fmt.Fprintf(&b, ".</p>\n<p><a href=\"%s\">Metrics</a> (Prometheus text format, or OpenMetrics when asked for).</p>\n", MetricsPath)
	if s == nil {
		b.WriteString("<p>Waiting for the first step.</p>\n")
	} else {
		fmt.Fprintf(&b, "<p>Step %d at %s.</p>\n", s.Seq, s.Time.UTC().Format(time.RFC3339))
		judged := false
		for _, v := range s.Verdicts {
			if !v.Judged {
				continue
			}
			if !judged {
				b.WriteString("<table>\n<tr><th>interface</th><th>direction</th><th>verdict</th><th>saturated since start</th></tr>\n")
				judged = true
			}
			st := v.State.String()
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td class=\"%s\">%s</td><td>%.0f s</td></tr>\n",
				e(v.Interface), v.Direction, e(st), e(st), v.SaturatedSeconds)
		}
		if judged {
			b.WriteString("</table>\n")
		}
		if len(s.Inputs) > 0 {
			b.WriteString("<p>Inputs:")
			for _, in := range s.Inputs {
				fmt.Fprintf(&b, " %s %s;", e(in.Input), e(in.State))
			}
			b.WriteString("</p>\n")
		}
	}
	b.WriteString("</body>\n</html>\n")
	_, _ = io.WriteString(w, b.String())
}
