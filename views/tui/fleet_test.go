package tui

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"netriage/triage/fleet"
	"netriage/views"
)

type answer struct {
	rep fleet.Report
	err error
}

// TestRefresher drives the fleet screen's loop with a scripted server and
// clock: it asks at once, publishes each start, answer and failure, keeps
// the report on a failure (stale), asks again on a kick, folds a kick
// pressed while asking into that query, redraws on each tick, and stops
// when the context ends, while waiting or while asking.
func TestRefresher(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 7, 53, 11, 0, time.UTC)
	var clock atomic.Int64
	asked := make(chan struct{})
	answers := make(chan answer)
	published := make(chan *views.FleetModel, 8)
	redraws := make(chan struct{}, 8)
	tick := make(chan time.Time)
	r := &refresher{
		fl: Fleet{Server: "http://prom:9090", Every: time.Hour,
			Now: func() time.Time { return t0.Add(time.Duration(clock.Add(1)) * time.Second) },
			Ask: func(ctx context.Context) (fleet.Report, error) {
				asked <- struct{}{}
				select {
				case a := <-answers:
					return a.rep, a.err
				case <-ctx.Done():
					return fleet.Report{}, ctx.Err()
				}
			}},
		kick: make(chan struct{}, 1), tick: tick,
		publish: func(m *views.FleetModel) { published <- m },
		redraw:  func() { redraws <- struct{}{} },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); r.run(ctx) }()
	next := func(what string, ok func(*views.FleetModel) bool) *views.FleetModel {
		t.Helper()
		select {
		case m := <-published:
			if !ok(m) {
				t.Fatalf("%s: model %+v", what, m)
			}
			return m
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: nothing published", what)
		}
		return nil
	}
	rep1 := fleet.Report{Window: time.Hour, Hosts: []string{"a\x1b[2J"}, Problems: []fleet.Link{{Instance: "a", Interface: "eth0", Direction: "tx", Now: fleet.StateSaturated}}}

	next("first ask", func(m *views.FleetModel) bool { return m.Asking && m.Report == nil })
	<-asked
	answers <- answer{rep: rep1}
	m1 := next("first answer", func(m *views.FleetModel) bool {
		return !m.Asking && m.Report != nil && m.Report.Hosts[0] == "a?[2J" && !m.Stale() && m.NextAt.Equal(m.AnsweredAt.Add(time.Hour))
	})
	tick <- t0
	tick <- t0
	<-redraws
	<-redraws

	r.kick <- struct{}{}
	next("ask on r", func(m *views.FleetModel) bool { return m.Asking && m.Report == m1.Report })
	<-asked
	answers <- answer{err: errors.New("Prometheus at http://prom:9090 answered an error to query hosts: server_error: 503")}
	m2 := next("failure", func(m *views.FleetModel) bool {
		return m.Stale() && m.Report == m1.Report && m.Failures == 1 && m.Err != "" && !m.Asking
	})
	if m1.Err != "" || m1.Stale() {
		t.Fatal("a published model was changed")
	}

	r.kick <- struct{}{}
	next("retry", func(m *views.FleetModel) bool { return m.Asking && m.Stale() })
	<-asked
	r.kick <- struct{}{} // pressed while asking: answered by this query
	answers <- answer{rep: fleet.Report{Window: time.Hour}}
	next("recovered", func(m *views.FleetModel) bool {
		return !m.Stale() && m.Err == "" && len(m.Report.Problems) == 0 && m.Report != m2.Report
	})
	select {
	case m := <-published:
		t.Fatalf("asked again after a kick pressed while asking: %+v", m)
	case <-asked:
		t.Fatal("asked again after a kick pressed while asking")
	case <-time.After(100 * time.Millisecond):
	}

	// Stopping while asking: the answer never comes.
	r.kick <- struct{}{}
	next("last ask", func(m *views.FleetModel) bool { return m.Asking })
	<-asked
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the refresher did not stop")
	}
	if len(published) != 0 {
		t.Errorf("published after the end: %+v", <-published)
	}
}

// TestRefresherStopsWhileWaiting: a refresher waiting for its next query
// returns when the context ends.
func TestRefresherStopsWhileWaiting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	published := make(chan *views.FleetModel, 4)
	r := &refresher{fl: Fleet{Every: time.Hour, Now: func() time.Time { return time.Time{} }, Ask: func(context.Context) (fleet.Report, error) { return fleet.Report{}, nil }},
		kick: make(chan struct{}, 1), publish: func(m *views.FleetModel) { published <- m }, redraw: func() {}}
	done := make(chan struct{})
	go func() { defer close(done); r.run(ctx) }()
	<-published
	<-published
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the refresher did not stop")
	}
}
