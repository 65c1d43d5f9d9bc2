package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
		{[]string{"--prometheus", closed}, exitFailure, "cannot reach Prometheus at " + closed + ": dial tcp"},
		{[]string{"--prometheus", srv.URL}, exitFailure, "answered an error to query hosts: execution: query timed out in ?[2Jexpression evaluation"},
	} {
		_, errOut, code := runBin(t, bin, append([]string{"fleet"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "BODY-TEXT") || strings.Contains(errOut, "pw@") || strings.Contains(errOut, "\x1b") {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}
