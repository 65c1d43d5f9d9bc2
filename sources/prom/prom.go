package prom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"netriage/triage/fleet"
)

// Limits of one answer.
const (
	// MaxResponseBytes is the most of an answer read; a longer one fails.
	MaxResponseBytes = 64 << 20
	// MaxErrorRunes is the most of an API error string quoted.
	MaxErrorRunes = 200
	// DefaultTimeout bounds one query when Options.Timeout is zero.
	DefaultTimeout = 10 * time.Second
)

// The environment variables AuthFromEnv reads.
const (
	EnvUsername    = "NETRIAGE_PROMETHEUS_USERNAME"
	EnvPassword    = "NETRIAGE_PROMETHEUS_PASSWORD"
	EnvBearerToken = "NETRIAGE_PROMETHEUS_BEARER_TOKEN"
)

// Auth are the credentials sent with every request (none when zero).
type Auth struct {
	Username, Password string
	BearerToken        string
}

// AuthFromEnv reads Auth from the environment through lookup (os.LookupEnv
// in production). Basic auth and a bearer token together, or a user name
// without a password, are refused.
func AuthFromEnv(lookup func(string) (string, bool)) (Auth, error) {
	var a Auth
	a.Username, _ = lookup(EnvUsername)
	pw, hasPW := lookup(EnvPassword)
	a.Password = pw
	a.BearerToken, _ = lookup(EnvBearerToken)
	switch {
	case a.BearerToken != "" && (a.Username != "" || hasPW):
		return Auth{}, fmt.Errorf("set %s or %s/%s, not both", EnvBearerToken, EnvUsername, EnvPassword)
	case a.Username == "" && hasPW:
		return Auth{}, fmt.Errorf("%s is set without %s", EnvPassword, EnvUsername)
	case a.Username != "" && !hasPW:
		return Auth{}, fmt.Errorf("%s is set without %s", EnvUsername, EnvPassword)
	}
	return a, nil
}

// Options configure a Client.
type Options struct {
	// Timeout bounds each query (default DefaultTimeout).
	Timeout time.Duration
	// Auth are the credentials; when Lookup is set (os.LookupEnv), New
	// reads them with AuthFromEnv instead.
	Auth   Auth
	Lookup func(string) (string, bool)
}

// Client asks one Prometheus server.
type Client struct {
	api     v1.API
	server  string // the URL for messages, without credentials
	timeout time.Duration
}

// New returns a client of the server at u (checked by
// configs.ParsePrometheusURL). It opens no connection; its error is one
// of the credentials in the environment.
func New(u *url.URL, o Options) (*Client, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Lookup != nil {
		a, err := AuthFromEnv(o.Lookup)
		if err != nil {
			return nil, fmt.Errorf("prometheus credentials: %w", err)
		}
		o.Auth = a
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
	}
	hc := &http.Client{
		Transport: authTransport{next: tr, auth: o.Auth},
		Timeout:   o.Timeout,
		// Credentials go to the server named, never to where it
		// redirects; a redirect is an error that says so.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c, err := api.NewClient(api.Config{Address: u.String(), Client: hc})
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	return &Client{api: v1.NewAPI(c), server: u.Redacted(), timeout: o.Timeout}, nil
}

// authTransport adds the credentials and bounds the answer's size.
type authTransport struct {
	next http.RoundTripper
	auth Auth
}

func (t authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.auth != (Auth{}) {
		r = r.Clone(r.Context())
		if t.auth.BearerToken != "" {
			r.Header.Set("Authorization", "Bearer "+t.auth.BearerToken)
		} else {
			r.SetBasicAuth(t.auth.Username, t.auth.Password)
		}
	}
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.Body != nil {
		resp.Body = &limitedBody{r: io.LimitReader(resp.Body, responseLimit+1), c: resp.Body, max: responseLimit}
	}
	return resp, err
}

// limitedBody fails a read past max bytes.
type limitedBody struct {
	r      io.Reader
	c      io.Closer
	n, max int64
}

// errTooLarge is the error of an answer over responseLimit.
var errTooLarge = errors.New("the answer is too large")

// responseLimit is MaxResponseBytes; tests lower it.
var responseLimit int64 = MaxResponseBytes

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return 0, errTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.c.Close() }

// Server is the server's URL, as messages name it.
func (c *Client) Server() string { return c.server }

// Query asks one instant query at the server's current time and returns
// its samples. A result that is not an instant vector is an error.
func (c *Client) Query(ctx context.Context, name, promql string) ([]fleet.Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, _, _, err := c.api.Query(ctx, promql, time.Time{}, v1.WithTimeout(c.timeout))
	if err != nil {
		return nil, c.describe(name, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("Prometheus at %s: query %s: the answer is a %s, not an instant vector", c.server, name, typeOf(v))
	}
	out := make([]fleet.Sample, 0, len(vec))
	for _, s := range vec {
		l := make(map[string]string, len(s.Metric))
		for k, v := range s.Metric {
			if k != model.MetricNameLabel {
				l[string(k)] = string(v)
			}
		}
		out = append(out, fleet.Sample{Labels: l, Value: float64(s.Value), T: s.Timestamp.Time().UTC()})
	}
	return out, nil
}

// Ask asks every query in order and returns the answers by name; it stops
// at the first error.
func (c *Client) Ask(ctx context.Context, qs []fleet.Query) (map[string][]fleet.Sample, error) {
	out := make(map[string][]fleet.Sample, len(qs))
	for _, q := range qs {
		ss, err := c.Query(ctx, q.Name, q.PromQL)
		if err != nil {
			return nil, err
		}
		out[q.Name] = ss
	}
	return out, nil
}

// Report asks the queries of o (fleet.Queries) and builds their report
// (fleet.Build); the error is Ask's, with an empty report.
func (c *Client) Report(ctx context.Context, o fleet.Options) (fleet.Report, error) {
	ans, err := c.Ask(ctx, fleet.Queries(o))
	if err != nil {
		return fleet.Report{}, err
	}
	return fleet.Build(ans, o), nil
}

func typeOf(v model.Value) string {
	if v == nil {
		return "nothing"
	}
	return v.Type().String()
}

// describe turns a client error into one line naming the server and the
// query, without the response body.
func (c *Client) describe(name string, err error) error {
	var apiErr *v1.Error
	var urlErr *url.Error
	switch {
	case errors.Is(err, errTooLarge):
		return fmt.Errorf("Prometheus at %s: query %s: %w (over %d KiB)", c.server, name, errTooLarge, responseLimit>>10)
	case errors.As(err, &apiErr):
		// Msg is the API's error string (or the HTTP status for a
		// server that is not Prometheus's API); Detail, the body, is
		// left out.
		return fmt.Errorf("Prometheus at %s answered an error to query %s: %s: %s", c.server, name, apiErr.Type, Clean(apiErr.Msg, MaxErrorRunes))
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Errorf("Prometheus at %s: no answer to query %s within %s", c.server, name, c.timeout)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("Prometheus at %s: query %s: %w", c.server, name, context.Canceled)
	case errors.As(err, &urlErr):
		// url.Error repeats the method and the whole request URL (the
		// query): keep the cause only.
		return fmt.Errorf("cannot reach Prometheus at %s: %s", c.server, Clean(urlErr.Err.Error(), MaxErrorRunes))
	}
	return fmt.Errorf("Prometheus at %s: query %s: %s", c.server, name, Clean(err.Error(), MaxErrorRunes))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Clean makes text from the server safe to print: control and format
// characters become '?', invalid UTF-8 U+FFFD, and it is cut to maxRunes
// with a trailing '…'.
func Clean(s string, maxRunes int) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			r = '\uFFFD'
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			r = '?'
		}
		if n == maxRunes-1 && i < len(s) {
			b.WriteRune('…')
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
