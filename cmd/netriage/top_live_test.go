package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"netriage/configs"
	"netriage/sources/clock"
	"netriage/views"
)

// topRecorder records published models.
type topRecorder struct {
	mu     sync.Mutex
	models []*views.Model
	got    chan struct{}
}

func (r *topRecorder) Publish(m *views.Model) {
	r.mu.Lock()
	r.models = append(r.models, m)
	r.mu.Unlock()
	r.got <- struct{}{}
}

// TestTopLiveEngine drives the live engine with a fake clock on this
// host's own interfaces and sockets (no privileges needed): a first model
// at once, then one per tick with rates and a verdict.
func TestTopLiveEngine(t *testing.T) {
	cfg := configs.Default()
	cfg.Interval = configs.Duration(time.Second)
	tf := &topFlags{common: commonFlags{noDNS: true}}
	tf.common.ifaces = []string{"lo"}
	clk := clock.NewFake(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	rec := &topRecorder{got: make(chan struct{}, 16)}
	start := time.Now()
	e, err := topLiveSetup(context.Background(), tf, cfg, clk, rec)
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	defer func() { cancel(); <-done }()

	wait := func() {
		t.Helper()
		select {
		case <-rec.got:
		case <-time.After(5 * time.Second):
			t.Fatal("no model published")
		}
	}
	wait()
	t.Logf("setup and first model in %v", time.Since(start))
	for i := 0; i < 2; i++ {
		clk.Advance(time.Second)
		wait()
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	first, last := rec.models[0], rec.models[len(rec.models)-1]
	if first.Seq != 1 || last.Seq != 3 {
		t.Errorf("seq %d..%d, want 1..3", first.Seq, last.Seq)
	}
	if first.Verdict.Level != views.VerdictNone {
		t.Errorf("first verdict %v, want none (one sample)", first.Verdict.Level)
	}
	if last.Verdict.Level == views.VerdictNone {
		t.Errorf("no verdict after two intervals: %+v", last.Verdict)
	}
	if len(last.Header) != 1 || last.Header[0].Name != "lo" || len(last.Header[0].RxHistoryBytesPerSec) != 2 {
		t.Errorf("header %+v, want lo with two history points", last.Header)
	}
	if !strings.Contains(last.Source, "lo") || last.Mode == "" {
		t.Errorf("source %q mode %q", last.Source, last.Mode)
	}
	if e.in.Live == nil && (len(last.Degraded) == 0 || !strings.Contains(last.Mode, "socket counters")) {
		t.Errorf("no capture, yet degraded %q mode %q", last.Degraded, last.Mode)
	}
	found := false
	for _, l := range last.Links {
		found = found || l.Name == "lo"
	}
	if !found {
		t.Errorf("Links view lacks lo: %+v", last.Links)
	}
}

func TestTopLiveSetupUnknownInterface(t *testing.T) {
	tf := &topFlags{common: commonFlags{noDNS: true}}
	tf.common.ifaces = []string{"nosuchif0"}
	_, err := topLiveSetup(context.Background(), tf, configs.Default(), clock.Real{}, &topRecorder{got: make(chan struct{}, 1)})
	if err == nil || !strings.Contains(err.Error(), "unknown interface") {
		t.Errorf("err = %v, want unknown interface", err)
	}
}
