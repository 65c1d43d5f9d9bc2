package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/jroimartin/gocui"

	"netriage/triage/fleet"
	"netriage/views"
)

// Fleet is what the fleet screen shows and how it gets it.
type Fleet struct {
	// Server is the Prometheus server's URL, as messages name it.
	Server string
	// Ask asks the server for a report (sources/prom's Client.Report);
	// its error is one line.
	Ask func(context.Context) (fleet.Report, error)
	// Every is the refresh period: the next query set starts Every after
	// the last one ended, or at once on r.
	Every time.Duration
	// Now is the clock (sources/clock's): the screen shows the answer's
	// age and when the next query is due.
	Now func() time.Time
	// Bytes starts with rates in bytes per second.
	Bytes bool
}

// RunFleet runs the fleet screen until the user quits (q, Ctrl-C) or ctx
// is cancelled, asking the server on a goroutine of its own (see Go) that
// it stops and waits for before returning. It first checks, as top does,
// that stdin and stdout are a terminal the UI can drive (CheckTerminal);
// that error and one of the terminal library's wrap ErrTerminal and say
// what to do. It always restores the terminal; a panic is returned as a
// *PanicError.
func RunFleet(ctx context.Context, fl Fleet) error {
	term := os.Getenv("TERM")
	if err := CheckTerminal(term, IsTerminal(os.Stdin), IsTerminal(os.Stdout)); err != nil {
		return fmt.Errorf("%w: %v; 'netriage fleet --output table' (or json) needs none", ErrTerminal, err)
	}
	if testAsk != nil {
		fl.Ask = testAsk(fl.Ask)
	}
	h := &fleetHost{st: views.NewFleetState(fl.Bytes), now: fl.Now}
	r := &refresher{fl: fl, kick: make(chan struct{}, 1), publish: h.publish, redraw: h.redraw}
	h.kick = r.kick
	h.latest.Store(views.NewFleetModel(fl.Server, fl.Every))
	err := h.runWith(ctx, func(ctx context.Context) error {
		return h.run(ctx, func(g *gocui.Gui) error {
			g.SetManagerFunc(h.layout)
			return h.bind(g)
		})
	}, r.run)
	if errors.Is(err, ErrTerminal) {
		err = fmt.Errorf("%w\n%s", err, TermAdvice(term))
	}
	return err
}

// testAsk is nil but in the binary the end-to-end tests build with
// -tags netriage_testpanic (fleet_testpanic.go), where it wraps Ask.
var testAsk func(func(context.Context) (fleet.Report, error)) func(context.Context) (fleet.Report, error)

// fleetHost is the gocui host of the fleet screen.
type fleetHost struct {
	core
	latest atomic.Pointer[views.FleetModel]
	kick   chan<- struct{}
	now    func() time.Time

	// UI goroutine only.
	st    *views.FleetState
	frame *views.FleetFrame
	quit  bool
}

// publish makes m the newest model and asks for a redraw.
func (h *fleetHost) publish(m *views.FleetModel) {
	h.latest.Store(m)
	h.redraw()
}

// bind registers every key of views.FleetBindings on every view; keys it
// does not bind reach the status line's editor, which answers with a hint.
func (h *fleetHost) bind(g *gocui.Gui) error {
	return bindAll(g, views.FleetBindings, h.key)
}

// key handles one key press on the UI goroutine.
func (h *fleetHost) key(k views.Key) error {
	if h.quit {
		return gocui.ErrQuit
	}
	switch h.st.HandleKey(k, h.frame) {
	case views.ActQuit:
		h.quit = true
		return gocui.ErrQuit
	case views.ActRefresh:
		select {
		case h.kick <- struct{}{}:
		default: // one is already asked for
		}
	}
	return nil
}

// layout is gocui's manager: it builds the frame from the newest model at
// the time now and writes the panes.
func (h *fleetHost) layout(g *gocui.Gui) error {
	if h.quit {
		return gocui.ErrQuit
	}
	w, ht := g.Size()
	f := views.BuildFleetFrame(h.latest.Load(), h.st, w, ht, h.now())
	h.frame = f
	editor := gocui.EditorFunc(func(_ *gocui.View, key gocui.Key, ch rune, _ gocui.Modifier) {
		_ = h.key(viewsKey(key, ch))
	})
	focusable := []string{views.PaneStatus, views.PaneTooSmall}
	if err := drawPanes(g, views.FleetPaneOrder, f.Rects, f.Title, f.Pane, focusable, editor); err != nil {
		return err
	}
	cur := views.PaneStatus
	if _, small := f.Rects[views.PaneTooSmall]; small {
		cur = views.PaneTooSmall
	}
	if _, err := g.SetCurrentView(cur); err != nil {
		return fmt.Errorf("focus %s: %w", cur, err)
	}
	return nil
}

// refresher asks the server at once, then Every after each answer or
// failure and whenever kick fires, one query set at a time, and publishes
// a model for each start, answer and failure (the newest report stays
// when a query fails). Between queries it asks for a redraw once a second,
// so the ages on screen move. It is the fleet screen's only loop.
type refresher struct {
	fl      Fleet
	kick    chan struct{}
	publish func(*views.FleetModel)
	redraw  func()
	// tick, when set, replaces the once-a-second redraw ticker (tests).
	tick <-chan time.Time
}

// run runs until ctx ends.
func (r *refresher) run(ctx context.Context) {
	m := views.NewFleetModel(r.fl.Server, r.fl.Every)
	tick := r.tick
	if tick == nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		tick = t.C
	}
	for {
		r.publish(m.Ask())
		rep, err := r.fl.Ask(ctx)
		if ctx.Err() != nil {
			return
		}
		select { // an r pressed while asking is answered by this query set
		case <-r.kick:
		default:
		}
		now := r.fl.Now()
		if err != nil {
			m = m.Failed(err.Error(), now, now.Add(r.fl.Every))
		} else {
			m = m.Answered(rep, now, now.Add(r.fl.Every))
		}
		r.publish(m)
		if !r.wait(ctx, tick) {
			return
		}
	}
}

// wait waits Every, or for a kick, redrawing at each tick; false when ctx
// ended.
func (r *refresher) wait(ctx context.Context, tick <-chan time.Time) bool {
	t := time.NewTimer(r.fl.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-r.kick:
			return true
		case <-tick:
			r.redraw()
		}
	}
}
