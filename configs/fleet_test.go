package configs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"netriage/triage/fleet"
)

func TestParsePrometheusURL(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"http://prom:9090", "http://prom:9090", ""},
		{"HTTPS://prom.example.net/prometheus", "https://prom.example.net/prometheus", ""},
		{"http://[fd00:198:18::1]:9090/", "http://[fd00:198:18::1]:9090/", ""},
		{"", "", "give the Prometheus server's URL"},
		{"prom:9090", "", "scheme \"prom\": only http and https"},
		{"localhost", "", "no scheme"},
		{"ftp://prom", "", "scheme \"ftp\""},
		{"file:///etc/shadow", "", "scheme \"file\""},
		{"unix:///run/prom.sock", "", "scheme \"unix\""},
		{"http://user:secret@prom:9090", "", "credentials do not go in the URL"},
		{"http://user@prom:9090", "", "credentials do not go in the URL"},
		{"http://", "", "no host"},
		{"http://:9090", "", "no host"},
		{"http://prom:9090/?x=1", "", "without a query"},
		{"http://prom:9090/#top", "", "without a query"},
		{"http://prom\x7f:9090", "", "not a URL"},
	}
	for _, tc := range tests {
		u, err := ParsePrometheusURL(tc.in)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.err == "" && u.String() != tc.want:
			t.Errorf("%q: got %s, want %s", tc.in, u, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrUsage)):
			t.Errorf("%q: error %v, want a usage error with %q", tc.in, err, tc.err)
		case tc.err != "" && strings.Contains(err.Error(), "secret"):
			t.Errorf("%q: the error quotes the password: %v", tc.in, err)
		}
	}
}

func TestParseFleet(t *testing.T) {
	for _, tc := range []struct {
		window  time.Duration
		top     int
		refresh time.Duration
		err     string
	}{
		{time.Hour, 3, fleet.DefaultRefresh, ""}, {time.Second, fleet.MaxTopK, fleet.MinRefresh, ""},
		{500 * time.Millisecond, 3, fleet.DefaultRefresh, "--window"}, {-time.Hour, 3, fleet.DefaultRefresh, "--window"},
		{time.Hour, 0, fleet.DefaultRefresh, "--top"}, {time.Hour, fleet.MaxTopK + 1, fleet.DefaultRefresh, "--top"},
		{time.Hour, 3, fleet.MinRefresh - time.Millisecond, "--refresh: at least 5s"}, {time.Hour, 3, 0, "--refresh"},
		{time.Hour, 3, -time.Minute, "--refresh"},
	} {
		_, err := ParseFleet("http://prom:9090", tc.window, tc.top, tc.refresh)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrUsage)) {
			t.Errorf("%v %d %v: %v, want %q", tc.window, tc.top, tc.refresh, err, tc.err)
		}
	}
	if _, err := ParseFleet("ftp://x", time.Hour, 3, fleet.DefaultRefresh); err == nil {
		t.Error("the URL is not checked")
	}
}
