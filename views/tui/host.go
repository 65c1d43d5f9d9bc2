// Package tui is the thin gocui host of the terminal UI: it places the panes
// computed by views.Layout, writes the visible rows rendered by views, and
// forwards keys to views.UIState through the views.Bindings table. It holds
// no rendering logic of its own. RunFleet hosts the fleet screen the same
// way (views.BuildFleetFrame, views.FleetBindings), with the refresher that
// asks the Prometheus server.
//
// # Threading
//
// The engine calls Publish from its own goroutine with each new model. The
// host keeps only the newest (an atomic pointer) and asks gocui for one
// redraw; the redraw, on the UI goroutine, reads the newest model. Since
// gocui's Update spawns a goroutine per call and does not keep order, at
// most one redraw request is outstanding at a time.
//
// # Restoring the terminal
//
// Run restores the terminal (leaves the alternate screen, shows the cursor,
// restores the tty mode) whenever it returns: a quit key, the context's end
// (the command cancels it on SIGINT, SIGTERM, SIGHUP, SIGQUIT and the other
// stop signals), or a panic on the UI goroutine or in a function started
// with Go, which Run then returns as a *PanicError for the caller to print
// on the restored terminal.
package tui

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/jroimartin/gocui"

	"netriage/views"
	"netriage/views/format"
)

// Host runs the terminal UI.
type Host struct {
	core
	st     *views.UIState
	latest atomic.Pointer[views.Model]

	// UI goroutine only.
	shown *views.Model
	frame *views.Frame
	quit  bool
}

// ErrTerminal is wrapped by Run's error when the terminal library cannot
// start: no terminal, or a TERM it does not know. The terminal is left
// untouched then.
var ErrTerminal = errors.New("cannot start the terminal UI")

// PanicError is a panic caught by the host, with the stack where it
// happened; the terminal was restored before it was returned.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("internal error: %v", e.Value) }

// Report is the text to print once the terminal is restored: the value
// (cleaned for the terminal), what to do, and the trace.
func (e *PanicError) Report() string {
	return fmt.Sprintf("internal error: %s\nThe terminal was restored. Please report this with the trace below.\n\n%s", format.Sanitize(fmt.Sprint(e.Value), 500), e.Stack)
}

// RunEngine runs the UI with engine on a goroutine of its own (see Go):
// when the UI ends, engine's context is cancelled and RunEngine waits for
// it to return, so nothing publishes after it. The error is Run's, or a
// panic of the engine while it stopped.
func (h *Host) RunEngine(ctx context.Context, engine func(context.Context)) error {
	return h.runWith(ctx, h.Run, engine)
}

// core is what the terminal UIs share: the gocui instance while it runs,
// the first panic caught, at most one redraw request outstanding.
type core struct {
	pending atomic.Bool
	g       atomic.Pointer[gocui.Gui]
	crash   atomic.Pointer[PanicError]
}

// runWith runs the UI (run) with engine on a goroutine of its own (see
// Go): when the UI ends, engine's context is cancelled and runWith waits
// for it to return. The error is run's, or a panic of the engine while it
// stopped.
func (c *core) runWith(ctx context.Context, run func(context.Context) error, engine func(context.Context)) error {
	engineCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	c.Go(func() { defer close(done); engine(engineCtx) })
	err := run(ctx)
	stop()
	<-done
	if err == nil {
		err = c.Err()
	}
	return err
}

// Go runs f on a new goroutine. A panic in f ends the UI as a quit would,
// restoring the terminal, and Run returns it as a *PanicError (Err reports
// one that comes after Run returned).
func (c *core) Go(f func()) {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				c.fail(&PanicError{Value: r, Stack: debug.Stack()})
			}
		}()
		f()
	}()
}

// Err returns the first panic caught by the host, or nil.
func (c *core) Err() error {
	if pe := c.crash.Load(); pe != nil {
		return pe
	}
	return nil
}

// fail records the first panic and asks the UI loop to stop.
func (c *core) fail(pe *PanicError) {
	if !c.crash.CompareAndSwap(nil, pe) {
		return
	}
	if g := c.g.Load(); g != nil {
		g.Update(func(*gocui.Gui) error { return gocui.ErrQuit })
	}
}

// redraw asks for one redraw, unless one is already asked for; it never
// blocks and may be called from any goroutine.
func (c *core) redraw() {
	g := c.g.Load()
	if g == nil {
		return
	}
	if c.pending.CompareAndSwap(false, true) {
		g.Update(func(*gocui.Gui) error {
			c.pending.Store(false)
			return nil // the flush after this event redraws
		})
	}
}

// run takes over the terminal, lets setup register the manager and the
// keys, and runs gocui's main loop until a quit or ctx's end; it always
// restores the terminal before returning, a panic included.
func (c *core) run(ctx context.Context, setup func(*gocui.Gui) error) (err error) {
	g, err := gocui.NewGui(gocui.OutputNormal)
	if err != nil {
		// termbox fails before it changes the tty mode or the screen.
		return fmt.Errorf("%w: %s", ErrTerminal, strings.TrimPrefix(err.Error(), "termbox: "))
	}
	defer func() {
		c.g.Store(nil)
		g.Close()
		if r := recover(); r != nil {
			pe := &PanicError{Value: r, Stack: debug.Stack()}
			c.crash.CompareAndSwap(nil, pe)
		}
		if pe := c.crash.Load(); pe != nil {
			err = pe
		}
	}()
	g.InputEsc = true
	if err := setup(g); err != nil {
		return err
	}
	c.g.Store(g)
	if c.crash.Load() != nil { // a panic before the UI started
		return nil
	}
	stop := context.AfterFunc(ctx, func() {
		g.Update(func(*gocui.Gui) error { return gocui.ErrQuit })
	})
	defer stop()
	if err := g.MainLoop(); err != nil && !errors.Is(err, gocui.ErrQuit) {
		return fmt.Errorf("terminal UI: %w", err)
	}
	return nil
}

// New returns a host starting in state st (which it owns from now on).
func New(st *views.UIState) *Host { return &Host{st: st} }

// Publish makes m the newest model and asks for a redraw. It never blocks
// and may be called from any goroutine; m must not be changed afterwards.
func (h *Host) Publish(m *views.Model) {
	h.latest.Store(m)
	h.redraw()
}

// Run takes over the terminal until the user quits (q, Ctrl-C) or ctx is
// cancelled, and always restores the terminal before returning. It needs
// a terminal: gocui cannot start without one.
func (h *Host) Run(ctx context.Context) error {
	return h.run(ctx, func(g *gocui.Gui) error {
		g.SetManagerFunc(h.layout)
		return h.bind(g)
	})
}

// bind registers every key of the table on every view. The handler does
// not look at which view gocui has focused: views.UIState.HandleKey decides
// from the state alone whether the key edits the filter or runs its action,
// since keys that arrive in the same read as '/' are dispatched before the
// next layout moves the focus to the filter line. Keys the table does not
// bind reach the focused view's editor (see editor), which routes them the
// same way.
func (h *Host) bind(g *gocui.Gui) error {
	return bindAll(g, views.Bindings, h.key)
}

// bindAll registers every key of bindings on every view, each calling key.
func bindAll(g *gocui.Gui, bindings []views.Binding, key func(views.Key) error) error {
	for _, b := range bindings {
		for _, k := range b.Keys {
			handler := func(*gocui.Gui, *gocui.View) error { return key(k) }
			for _, gk := range gocuiKeys(k) {
				if err := g.SetKeybinding("", gk, gocui.ModNone, handler); err != nil {
					return fmt.Errorf("bind key %s: %w", k, err)
				}
			}
		}
	}
	return nil
}

// key handles one key press on the UI goroutine.
func (h *Host) key(k views.Key) error {
	if h.quit || h.st.HandleKey(k, h.frame) {
		h.quit = true
		return gocui.ErrQuit
	}
	return nil
}

// editor receives the keys no binding matched (letters typed into the
// filter, Backspace, Ctrl-U) on whichever view is focused. An editor cannot
// return an error, so a quit it causes is returned by the next layout.
func (h *Host) editor() gocui.Editor {
	return gocui.EditorFunc(func(_ *gocui.View, key gocui.Key, ch rune, _ gocui.Modifier) {
		_ = h.key(viewsKey(key, ch))
	})
}

// gocuiKeys maps a views key to the gocui key(s) that produce it.
func gocuiKeys(k views.Key) []any {
	switch k.Special {
	case views.KeyNone:
		return []any{k.Rune}
	case views.KeyEnter:
		return []any{gocui.KeyEnter}
	case views.KeyEsc:
		return []any{gocui.KeyEsc}
	case views.KeyTab:
		return []any{gocui.KeyTab}
	case views.KeySpace:
		return []any{gocui.KeySpace}
	case views.KeyBackspace:
		return []any{gocui.KeyBackspace, gocui.KeyBackspace2}
	case views.KeyUp:
		return []any{gocui.KeyArrowUp}
	case views.KeyDown:
		return []any{gocui.KeyArrowDown}
	case views.KeyPgUp:
		return []any{gocui.KeyPgup}
	case views.KeyPgDn:
		return []any{gocui.KeyPgdn}
	case views.KeyHome:
		return []any{gocui.KeyHome}
	case views.KeyEnd:
		return []any{gocui.KeyEnd}
	case views.KeyCtrlC:
		return []any{gocui.KeyCtrlC}
	case views.KeyCtrlU:
		return []any{gocui.KeyCtrlU}
	case views.KeyF1:
		return []any{gocui.KeyF1}
	case views.KeyF2:
		return []any{gocui.KeyF2}
	case views.KeyF3:
		return []any{gocui.KeyF3}
	case views.KeyF4:
		return []any{gocui.KeyF4}
	case views.KeyF5:
		return []any{gocui.KeyF5}
	case views.KeyF6:
		return []any{gocui.KeyF6}
	}
	return nil
}

// viewsKey maps a key the filter editor received back to a views key.
func viewsKey(key gocui.Key, ch rune) views.Key {
	switch key {
	case gocui.KeyEnter:
		return views.S(views.KeyEnter)
	case gocui.KeyEsc:
		return views.S(views.KeyEsc)
	case gocui.KeyBackspace, gocui.KeyBackspace2:
		return views.S(views.KeyBackspace)
	case gocui.KeyCtrlU:
		return views.S(views.KeyCtrlU)
	case gocui.KeySpace:
		return views.S(views.KeySpace)
	}
	if ch != 0 {
		return views.R(ch)
	}
	return views.Key{Special: -1}
}

// drawPanes places and writes the panes of order that rects lays out,
// deletes the others, and puts the help on top; the focusable panes get
// editor for the keys no binding has.
func drawPanes(g *gocui.Gui, order []string, rects map[string]views.Rect, title func(string) string, pane func(string) []views.Line, focusable []string, editor gocui.Editor) error {
	for _, name := range order {
		r, ok := rects[name]
		if !ok {
			if err := g.DeleteView(name); err != nil && !errors.Is(err, gocui.ErrUnknownView) {
				return err
			}
			continue
		}
		x0, y0, x1, y1 := r.Outer()
		v, err := g.SetView(name, x0, y0, x1, y1)
		if err != nil && !errors.Is(err, gocui.ErrUnknownView) {
			return fmt.Errorf("place pane %s: %w", name, err)
		}
		v.Frame = r.Framed
		v.Wrap = false
		v.Title = title(name)
		if slices.Contains(focusable, name) {
			v.Editable = true
			v.Editor = editor
		}
		v.Clear()
		if err := views.WriteANSI(v, pane(name)); err != nil {
			return err
		}
	}
	if _, ok := rects[views.PaneHelp]; ok {
		if _, err := g.SetViewOnTop(views.PaneHelp); err != nil {
			return err
		}
	}
	return nil
}

// layout is gocui's manager: it runs on the UI goroutine before every
// flush, builds the frame from the newest model and writes the panes.
func (h *Host) layout(g *gocui.Gui) error {
	if h.quit {
		return gocui.ErrQuit
	}
	if !h.st.Paused || h.shown == nil {
		if m := h.latest.Load(); m != nil {
			h.shown = m
		}
	}
	w, ht := g.Size()
	f := views.BuildFrame(h.shown, h.st, w, ht)
	h.frame = f
	// The views that can be focused take the keys no binding has: see bind.
	focusable := []string{views.PaneStatus, views.PaneTooSmall, views.PaneFilter}
	if err := drawPanes(g, views.PaneOrder, f.Rects, f.Title, f.Pane, focusable, h.editor()); err != nil {
		return err
	}
	cur := views.PaneStatus
	switch {
	case h.st.FilterEditing:
		cur = views.PaneFilter
	case f.Rects[views.PaneTooSmall].W > 0:
		cur = views.PaneTooSmall
	}
	if _, err := g.SetCurrentView(cur); err != nil {
		return fmt.Errorf("focus %s: %w", cur, err)
	}
	return nil
}
