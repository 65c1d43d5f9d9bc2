// Package tui is the thin gocui host of the terminal UI: it places the panes
// computed by views.Layout, writes the visible rows rendered by views, and
// forwards keys to views.UIState through the views.Bindings table. It holds
// no rendering logic of its own.
//
// # Threading
//
// The engine calls Publish from its own goroutine with each new model. The
// host keeps only the newest (an atomic pointer) and asks gocui for one
// redraw; the redraw, on the UI goroutine, reads the newest model. Since
// gocui's Update spawns a goroutine per call and does not keep order, at
// most one redraw request is outstanding at a time.
package tui

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jroimartin/gocui"

	"netriage/views"
)

// Host runs the terminal UI.
type Host struct {
	st      *views.UIState
	latest  atomic.Pointer[views.Model]
	pending atomic.Bool
	g       atomic.Pointer[gocui.Gui]

	// UI goroutine only.
	shown *views.Model
	frame *views.Frame
}

// New returns a host starting in state st (which it owns from now on).
func New(st *views.UIState) *Host { return &Host{st: st} }

// Publish makes m the newest model and asks for a redraw. It never blocks
// and may be called from any goroutine; m must not be changed afterwards.
func (h *Host) Publish(m *views.Model) {
	h.latest.Store(m)
	g := h.g.Load()
	if g == nil {
		return
	}
	if h.pending.CompareAndSwap(false, true) {
		g.Update(func(*gocui.Gui) error {
			h.pending.Store(false)
			return nil // the flush after this event redraws
		})
	}
}

// Run takes over the terminal until the user quits (q, Ctrl-C) or ctx is
// cancelled, and always restores the terminal before returning. It needs
// a terminal: gocui cannot start without one.
func (h *Host) Run(ctx context.Context) (err error) {
	g, err := gocui.NewGui(gocui.OutputNormal)
	if err != nil {
		return fmt.Errorf("start terminal UI: %w (is this a terminal?)", err)
	}
	defer func() {
		h.g.Store(nil)
		g.Close()
		if r := recover(); r != nil {
			err = fmt.Errorf("terminal UI: internal error: %v", r)
		}
	}()
	g.InputEsc = true
	g.SetManagerFunc(h.layout)
	if err := h.bind(g); err != nil {
		return err
	}
	h.g.Store(g)
	stop := context.AfterFunc(ctx, func() {
		g.Update(func(*gocui.Gui) error { return gocui.ErrQuit })
	})
	defer stop()
	if err := g.MainLoop(); err != nil && !errors.Is(err, gocui.ErrQuit) {
		return fmt.Errorf("terminal UI: %w", err)
	}
	return nil
}

// mainScopeViews are the views that receive the main-scope keys: whichever
// of them is current (never the filter line, whose editor gets the keys).
var mainScopeViews = []string{views.PaneStatus, views.PaneTooSmall, views.PaneMain, views.PaneDetail}

func (h *Host) bind(g *gocui.Gui) error {
	for _, b := range views.Bindings {
		act := b.Action
		handler := func(*gocui.Gui, *gocui.View) error {
			if h.st.Apply(act, h.frame) {
				return gocui.ErrQuit
			}
			return nil
		}
		names := []string{""}
		if b.Scope == views.ScopeMain {
			names = mainScopeViews
		}
		for _, k := range b.Keys {
			for _, gk := range gocuiKeys(k) {
				for _, n := range names {
					if err := g.SetKeybinding(n, gk, gocui.ModNone, handler); err != nil {
						return fmt.Errorf("bind key %s: %w", k, err)
					}
				}
			}
		}
	}
	return nil
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

// layout is gocui's manager: it runs on the UI goroutine before every
// flush, builds the frame from the newest model and writes the panes.
func (h *Host) layout(g *gocui.Gui) error {
	if !h.st.Paused || h.shown == nil {
		if m := h.latest.Load(); m != nil {
			h.shown = m
		}
	}
	w, ht := g.Size()
	f := views.BuildFrame(h.shown, h.st, w, ht)
	h.frame = f
	for _, name := range views.PaneOrder {
		r, ok := f.Rects[name]
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
		v.Title = f.Title(name)
		if name == views.PaneFilter {
			v.Editable = true
			v.Editor = gocui.EditorFunc(func(_ *gocui.View, key gocui.Key, ch rune, _ gocui.Modifier) {
				h.st.FilterInput(viewsKey(key, ch))
			})
		}
		v.Clear()
		if err := views.WriteANSI(v, f.Pane(name)); err != nil {
			return err
		}
	}
	if _, ok := f.Rects[views.PaneHelp]; ok {
		if _, err := g.SetViewOnTop(views.PaneHelp); err != nil {
			return err
		}
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
