package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"netriage/configs"
	"netriage/internal/lab"
	"netriage/sources/clock"
	"netriage/views"
)

// topEngine runs the live TUI engine on --netns ns watching ifaces, with a
// fake clock the test advances; tick advances one interval and returns the
// model published for it.
func topEngine(t *testing.T, ns *lab.NS, ifaces ...string) (tick func() *views.Model, stop func()) {
	t.Helper()
	cfg := configs.Default()
	cfg.Interval = configs.Duration(time.Second)
	tf := &topFlags{common: commonFlags{noDNS: true}}
	tf.common.netns = ns.Name
	tf.common.ifaces = ifaces
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	rec := &topRecorder{got: make(chan struct{}, 64)}
	e, err := topLiveSetup(context.Background(), tf, cfg, clk, rec)
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	next := func() *views.Model {
		t.Helper()
		select {
		case <-rec.got:
		case <-time.After(5 * time.Second):
			t.Fatal("no model published")
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.models[len(rec.models)-1]
	}
	next() // the first model, at once
	tick = func() *views.Model {
		t.Helper()
		clk.Advance(time.Second)
		return next()
	}
	return tick, func() { cancel(); <-done; e.Close() }
}

// topScreen renders m as the terminal shows it.
func topScreen(m *views.Model) string {
	return strings.Join(views.BuildFrame(m, views.NewUIState(views.ViewLinks), 160, 30).Screen(), "\n")
}

// TestIntegrationTopInterfaceRemovedRepeated deletes a watched interface
// while the TUI engine runs, 20 times: from the next model on, the header
// says gone and the banner REMOVED (never OK, no coverage figure), for as
// long as it runs.
func TestIntegrationTopInterfaceRemovedRepeated(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns(), l.Netns()
	keep, _ := l.Veth(a, b)
	start := time.Now()
	const runs = 20
	for i := range runs {
		la, _ := l.Veth(a, b)
		tick, stop := topEngine(t, a, la.Name, keep.Name)
		if m := tick(); m.Verdict.Level == views.VerdictRemoved || m.Header[0].Gone {
			t.Fatalf("run %d: removed before the deletion: %+v", i, m.Verdict)
		}
		la.Delete()
		for j := range 3 {
			m := tick()
			screen := topScreen(m)
			if m.Verdict.Level != views.VerdictRemoved || !m.Header[0].Gone || m.Header[1].Gone || m.CoverageKnown ||
				!strings.Contains(screen, " REMOVED ") || !strings.Contains(screen, la.Name+" removed") {
				t.Errorf("run %d tick %d: banner %v %q, header %+v:\n%s", i, j, m.Verdict.Level, m.Verdict.Summary, m.Header, screen)
			}
		}
		stop()
	}
	t.Logf("%d runs in %v", runs, time.Since(start).Round(time.Millisecond))
}

// TestIntegrationTopNetnsRemovedRepeated deletes the --netns namespace
// while the TUI engine runs, 20 times: every watched interface turns gone,
// the banner says REMOVED, a header line names the namespace, and the
// engine lets go of the namespace (its veth peer elsewhere disappears).
func TestIntegrationTopNetnsRemovedRepeated(t *testing.T) {
	l := lab.New(t)
	b := l.Netns()
	hb, err := b.Handle()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	const runs = 20
	for i := range runs {
		a := l.Netns()
		la, lb := l.Veth(a, b)
		tick, stop := topEngine(t, a, la.Name)
		tick()
		l.DeleteNetns(a)
		m := tick()
		screen := topScreen(m)
		if m.Verdict.Level != views.VerdictRemoved || !m.Header[0].Gone || m.CoverageKnown ||
			!strings.Contains(screen, a.Name+`" was deleted`) || !strings.Contains(screen, " REMOVED ") {
			t.Errorf("run %d: banner %v %q, header %+v, degraded %q:\n%s", i, m.Verdict.Level, m.Verdict.Summary, m.Header, m.Degraded, screen)
		}
		released := false
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if _, err := hb.LinkByName(lb.Name); err != nil {
				released = true
				break
			}
		}
		if !released {
			t.Errorf("run %d: the engine kept the deleted namespace alive (veth peer %s still there)", i, lb.Name)
		}
		if m := tick(); m.Verdict.Level != views.VerdictRemoved {
			t.Errorf("run %d: a tick later the banner says %v", i, m.Verdict.Level)
		}
		stop()
	}
	t.Logf("%d runs in %v", runs, time.Since(start).Round(time.Millisecond))
}
