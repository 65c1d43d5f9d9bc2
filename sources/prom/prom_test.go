package prom

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"netriage/triage/fleet"
)

const vector = `{"status":"success","data":{"resultType":"vector","result":[
 {"metric":{"__name__":"netriage_verdict_state","instance":"a:10099","interface":"eth0","direction":"tx","state":"saturated"},"value":[1772366400,"1"]},
 {"metric":{"instance":"b:10099"},"value":[1772366400,"0.5"]}]}}`

func serve(t *testing.T, h http.HandlerFunc) *url.URL {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u
}

func client(t *testing.T, u *url.URL, o Options) *Client {
	t.Helper()
	c, err := New(u, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestQuery(t *testing.T) {
	var gotQuery, gotAuth string
	u := serve(t, func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		gotQuery, gotAuth = r.Form.Get("query"), r.Header.Get("Authorization")
		if r.URL.Path != "/prefix/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, vector)
	})
	u.Path = "/prefix/"
	c := client(t, u, Options{Auth: Auth{BearerToken: "tok"}})
	got, err := c.Query(context.Background(), "state", "netriage_verdict_state == 1")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1772366400, 0).UTC()
	want := []fleet.Sample{
		{Labels: map[string]string{"instance": "a:10099", "interface": "eth0", "direction": "tx", "state": "saturated"}, Value: 1, T: at},
		{Labels: map[string]string{"instance": "b:10099"}, Value: 0.5, T: at},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("samples (-want +got):\n%s", d)
	}
	if gotQuery != "netriage_verdict_state == 1" || gotAuth != "Bearer tok" {
		t.Errorf("query %q, authorization %q", gotQuery, gotAuth)
	}
	ans, err := c.Ask(context.Background(), fleet.Queries(fleet.Options{}))
	if err != nil || len(ans) != len(fleet.Queries(fleet.Options{})) {
		t.Errorf("Ask: %d answers, %v", len(ans), err)
	}
	// Every query gets the same answer here: both series are problems, a's first.
	rep, err := c.Report(context.Background(), fleet.Options{})
	if err != nil || !rep.Time.Equal(at) || rep.Saturated != 1 || len(rep.Problems) != 2 || rep.Problems[0].Instance != "a:10099" {
		t.Errorf("Report: %+v, %v", rep, err)
	}
}

func TestBasicAuth(t *testing.T) {
	var user, pass string
	var ok bool
	u := serve(t, func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok = r.BasicAuth()
		fmt.Fprint(w, vector)
	})
	if _, err := client(t, u, Options{Auth: Auth{Username: "prom", Password: "s3cret"}}).Query(context.Background(), "q", "up"); err != nil {
		t.Fatal(err)
	}
	if !ok || user != "prom" || pass != "s3cret" {
		t.Errorf("basic auth %q %q %v", user, pass, ok)
	}
}

func TestErrors(t *testing.T) {
	defer func(l int64) { responseLimit = l }(responseLimit)
	responseLimit = 1 << 20
	closed := func() *url.URL {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return &url.URL{Scheme: "http", Host: addr}
	}()
	tests := []struct {
		name    string
		u       *url.URL
		h       http.HandlerFunc
		want    string
		notWant []string
		timeout time.Duration
	}{
		{name: "unreachable", u: closed, want: "cannot reach Prometheus at http://127.0.0.1:", notWant: []string{"api/v1", "netriage_build_info"}},
		{name: "api error", h: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \u001b[2J","data":"SECRET-BODY"}`)
		}, want: "answered an error to query q: bad_data: 1:5: parse error: unexpected ?[2J", notWant: []string{"SECRET-BODY", "\x1b"}},
		{name: "not prometheus", h: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(404)
			fmt.Fprint(w, "<html>SECRET-BODY</html>")
		}, want: "answered an error to query q: client_error: client error: 404", notWant: []string{"SECRET-BODY"}},
		{name: "server error", h: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(502)
			fmt.Fprint(w, "SECRET-BODY")
		}, want: "server_error: server error: 502", notWant: []string{"SECRET-BODY"}},
		{name: "bad json", h: func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "SECRET-BODY")
		}, want: "answered an error to query q: bad_response:", notWant: []string{"SECRET-BODY"}},
		{name: "long error", h: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(422)
			fmt.Fprintf(w, `{"status":"error","errorType":"execution","error":"%s"}`, strings.Repeat("x", 5000))
		}, want: "execution: " + strings.Repeat("x", MaxErrorRunes-1) + "…"},
		{name: "redirect", h: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://198.18.0.1/elsewhere", http.StatusFound)
		}, want: "bad_response: bad response code 302"},
		{name: "scalar", h: func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"scalar","result":[1772366400,"1"]}}`)
		}, want: "query q: the answer is a scalar, not an instant vector"},
		{name: "timeout", h: func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
		}, want: "no answer to query q within 200ms"},
		{name: "too large", h: func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[`)
			chunk := strings.Repeat(`{"metric":{},"value":[1,"1"]},`, 1<<14)
			for range int(responseLimit)/len(chunk) + 2 {
				if _, err := fmt.Fprint(w, chunk); err != nil {
					return
				}
			}
		}, want: "query q: the answer is too large (over 1024 KiB)", timeout: time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.u
			if u == nil {
				u = serve(t, tc.h)
			}
			to := tc.timeout
			if to == 0 {
				to = 200 * time.Millisecond
			}
			_, err := client(t, u, Options{Timeout: to}).Query(context.Background(), "q", "netriage_build_info")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			for _, n := range tc.notWant {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q contains %q", err, n)
				}
			}
		})
	}
}

func TestAuthFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Auth
		err  string
	}{
		{"none", nil, Auth{}, ""},
		{"basic", map[string]string{EnvUsername: "u", EnvPassword: "p"}, Auth{Username: "u", Password: "p"}, ""},
		{"empty password", map[string]string{EnvUsername: "u", EnvPassword: ""}, Auth{Username: "u"}, ""},
		{"bearer", map[string]string{EnvBearerToken: "t"}, Auth{BearerToken: "t"}, ""},
		{"both", map[string]string{EnvBearerToken: "t", EnvUsername: "u", EnvPassword: "p"}, Auth{}, "not both"},
		{"no password", map[string]string{EnvUsername: "u"}, Auth{}, "without NETRIAGE_PROMETHEUS_PASSWORD"},
		{"no user", map[string]string{EnvPassword: "p"}, Auth{}, "without NETRIAGE_PROMETHEUS_USERNAME"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AuthFromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain":             "plain",
		"a\x1b[31mb\x07":    "a?[31mb?",
		"bidi\u202eevil":    "bidi?evil",
		"bad\xffutf8":       "bad\ufffdutf8",
		"0123456789abcdefg": "012345678…",
	} {
		if got := Clean(in, 10); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}
