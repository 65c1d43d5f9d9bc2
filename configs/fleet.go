package configs

import (
	"net/url"
	"strings"
	"time"

	"netriage/triage/fleet"
)

// ParseFleet checks fleet's flags: the server's URL (ParsePrometheusURL),
// a window of at least a second, a top count of 1..fleet.MaxTopK and a
// refresh period (the terminal UI's) of at least fleet.MinRefresh.
// Errors wrap ErrUsage.
func ParseFleet(server string, window time.Duration, top int, refresh time.Duration) (*url.URL, error) {
	u, err := ParsePrometheusURL(server)
	switch {
	case err != nil:
		return nil, err
	case window < time.Second:
		return nil, Usagef("--window: at least 1s (e.g. 1h, 30m)")
	case top < 1 || top > fleet.MaxTopK:
		return nil, Usagef("--top: from 1 to %d", fleet.MaxTopK)
	case refresh < fleet.MinRefresh:
		return nil, Usagef("--refresh: at least %s (e.g. 30s, 1m): each refresh asks the server %d queries", fleet.MinRefresh, len(fleet.Queries(fleet.Options{})))
	}
	return u, nil
}

// ParsePrometheusURL checks fleet's --prometheus value: an http or https
// URL with a host, and optionally a path (a server behind a prefix, e.g.
// https://example.net/prometheus). Credentials in the URL are refused (a
// command line is visible to every user in ps): they go in the
// environment (docs/fleet.md). Errors wrap ErrUsage.
func ParsePrometheusURL(s string) (*url.URL, error) {
	const hint = "e.g. --prometheus http://prometheus.example.net:9090"
	if s == "" {
		return nil, Usagef("--prometheus: give the Prometheus server's URL (%s)", hint)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, Usagef("--prometheus: not a URL (%s)", hint)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		u.Scheme = strings.ToLower(u.Scheme)
	case "":
		return nil, Usagef("--prometheus: the URL has no scheme: start it with http:// or https:// (%s)", hint)
	default:
		return nil, Usagef("--prometheus: scheme %q: only http and https are supported", u.Scheme)
	}
	if u.User != nil {
		return nil, Usagef("--prometheus: credentials do not go in the URL (any user can read a command line); set NETRIAGE_PROMETHEUS_USERNAME and NETRIAGE_PROMETHEUS_PASSWORD, or NETRIAGE_PROMETHEUS_BEARER_TOKEN")
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, Usagef("--prometheus: the URL has no host (%s)", hint)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, Usagef("--prometheus: give the server's base URL, without a query or fragment (%s)", hint)
	}
	return u, nil
}
