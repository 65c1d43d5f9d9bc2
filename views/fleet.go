package views

import (
	"time"

	"netriage/triage/fleet"
	"netriage/views/format"
)

// The fleet screen (netriage fleet --output tui): the report of
// triage/fleet, asked of Prometheus again every refresh period, as a list
// of problem links with the selected link's talkers beside or below it.
// The host builds a FleetModel per answer or failure (Answered, Failed,
// Asking); BuildFleetFrame renders it for a size, a FleetState and the
// time now, which the host passes in.

// Caps of the label values the fleet screen shows: they come from a
// Prometheus server, so they are untrusted whatever serve exported (the
// same caps as fleet's table and JSON).
const (
	fleetHostCap      = 128
	fleetIfaceCap     = 64
	fleetDirCap       = 8
	fleetStateCap     = 16
	fleetProcessCap   = 64
	fleetContainerCap = 96
	fleetRemoteCap    = 64
	fleetNameCap      = 128
	fleetScopeCap     = 128
	// fleetErrorCap bounds the error shown (prom's are at most 200 runes
	// of the API's error string, plus the server and the query).
	fleetErrorCap = 400
)

// FleetModel is what the fleet screen shows: the newest report the
// server answered and how the last query went. Its methods return a new
// model; a model is never changed once published.
type FleetModel struct {
	// Server is the Prometheus server's URL, without credentials
	// (sanitised).
	Server string
	// Every is the refresh period.
	Every time.Duration
	// Report is the newest answer with every string made terminal-safe
	// (AdaptFleet), nil before the first.
	Report *fleet.Report
	// AnsweredAt is when the host received Report (its clock).
	AnsweredAt time.Time
	// Asking is true while a query set is in flight.
	Asking bool
	// Err is the last query set's one-line error (sanitised), "" when it
	// was answered; ErrAt is when it failed and Failures counts the
	// failed query sets since the last answer. With Report set, a
	// failure makes the report stale.
	Err      string
	ErrAt    time.Time
	Failures int
	// NextAt is when the next query set is due.
	NextAt time.Time
}

// NewFleetModel is the model before the first answer.
func NewFleetModel(server string, every time.Duration) *FleetModel {
	return &FleetModel{Server: format.Sanitize(server, 0), Every: every}
}

// Stale reports whether the report shown is older than the last query: the
// query after it failed.
func (m *FleetModel) Stale() bool { return m != nil && m.Report != nil && m.Err != "" }

// Ask is m while a query set is in flight.
func (m *FleetModel) Ask() *FleetModel {
	c := *m
	c.Asking = true
	return &c
}

// Answered is m with rep, received at now, the next query due at next.
func (m *FleetModel) Answered(rep fleet.Report, now, next time.Time) *FleetModel {
	c := *m
	r := AdaptFleet(rep)
	c.Report, c.AnsweredAt, c.NextAt = &r, now, next
	c.Asking, c.Err, c.ErrAt, c.Failures = false, "", time.Time{}, 0
	return &c
}

// Failed is m after a query set failed at now with err (one line, such as
// sources/prom's): the report stays, marked stale; the next query is due
// at next.
func (m *FleetModel) Failed(err string, now, next time.Time) *FleetModel {
	c := *m
	c.Asking, c.NextAt = false, next
	c.Err, c.ErrAt = format.Sanitize(err, fleetErrorCap), now
	if c.Err == "" {
		c.Err = "the query failed"
	}
	c.Failures++
	return &c
}

// AdaptFleet returns rep with every string from the server sanitised and
// capped, and no slice shared with rep.
func AdaptFleet(rep fleet.Report) fleet.Report {
	out := rep
	out.Hosts = cleanAll(rep.Hosts, fleetHostCap)
	out.Silent = cleanAll(rep.Silent, fleetHostCap)
	out.Problems = make([]fleet.Link, len(rep.Problems))
	for i, l := range rep.Problems {
		l.Instance = format.Cell(format.Sanitize(l.Instance, fleetHostCap))
		l.Interface = format.Cell(format.Sanitize(l.Interface, fleetIfaceCap))
		l.Direction = format.Cell(format.Sanitize(l.Direction, fleetDirCap))
		l.Now = fleet.State(format.Cell(format.Sanitize(string(l.Now), fleetStateCap)))
		l.Processes = cleanTalkers(l.Processes, fleetProcessCap)
		l.Remotes = cleanTalkers(l.Remotes, fleetRemoteCap)
		out.Problems[i] = l
	}
	return out
}

func cleanAll(ss []string, n int) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = format.Cell(format.Sanitize(s, n))
	}
	return out
}

func cleanTalkers(ts []fleet.Talker, nameCap int) []fleet.Talker {
	out := make([]fleet.Talker, len(ts))
	for i, t := range ts {
		t.Name = format.Cell(format.Sanitize(t.Name, nameCap))
		t.Container = format.Cell(format.Sanitize(t.Container, fleetContainerCap))
		t.Host = format.Cell(format.Sanitize(t.Host, fleetNameCap))
		t.Scope = format.Cell(format.Sanitize(t.Scope, fleetScopeCap))
		out[i] = t
	}
	return out
}

// FleetState is everything the user changed with keys on the fleet
// screen: the selected link, the detail and help and their scroll
// positions, the units. It is a plain value with methods, tested without
// a terminal.
type FleetState struct {
	// Bytes shows bytes per second instead of bits per second (B).
	Bytes bool
	// Detail shows the selected link's detail instead of the list
	// (Enter, Esc); DetailOffset is its first line shown.
	Detail       bool
	DetailOffset int
	// Help shows the keys (? or h); HelpOffset is its first line shown.
	Help       bool
	HelpOffset int
	// Hint is the status line's answer to the last key when it did
	// nothing; the next bound key clears it.
	Hint string

	cur cursor
}

// NewFleetState is the state at start: the first link selected, rates in
// bits per second unless bytes.
func NewFleetState(bytes bool) *FleetState { return &FleetState{Bytes: bytes} }

// Selected is the selected link's index in the report's problems.
func (s *FleetState) Selected() int { return s.cur.index }

// Offset is the first link shown in the list.
func (s *FleetState) Offset() int { return s.cur.offset }

// fleetKey is a link's identity across answers, so the selection follows
// the link when the order changes.
func fleetKey(l *fleet.Link) string { return l.Instance + "\x00" + l.Interface + "\x00" + l.Direction }

// HandleKey applies one key press given the frame on screen and returns
// what the host must do: ActQuit, ActRefresh (ask the server now) or
// ActNone.
func (s *FleetState) HandleKey(k Key, f *FleetFrame) Action {
	a, ok := fleetBindingOf(k)
	if !ok {
		s.Hint = fleetKeyHint(k)
		return ActNone
	}
	s.Hint = ""
	return s.Apply(a, f)
}

// fleetKeyHint is the status line's answer to a key FleetBindings lacks.
func fleetKeyHint(k Key) string {
	if k.Special == KeyNone && k.Rune > 0x20 && k.Rune < 0x7f {
		return "key " + string(k.Rune) + " does nothing here: ? shows the keys"
	}
	return ""
}

// fleetBindingOf returns the action FleetBindings binds k to.
func fleetBindingOf(k Key) (Action, bool) {
	for _, b := range FleetBindings {
		for _, bk := range b.Keys {
			if bk == k {
				return b.Action, true
			}
		}
	}
	return ActNone, false
}

// Apply performs action a on the state, given the frame on screen (for
// the number of links, the page sizes and the detail's length; nil
// before the first frame). It returns ActQuit or ActRefresh for the host
// to carry out, else ActNone.
func (s *FleetState) Apply(a Action, f *FleetFrame) Action {
	switch a {
	case ActQuit, ActRefresh:
		return a
	case ActHelp:
		s.Help, s.HelpOffset = !s.Help, 0
		return ActNone
	case ActEscape:
		switch {
		case s.Help:
			s.Help = false
		case s.Detail:
			s.Detail = false
		}
		return ActNone
	case ActBytes:
		s.Bytes = !s.Bytes
		return ActNone
	}
	switch {
	case s.Help:
		s.HelpOffset = scroll(s.HelpOffset, a, f.page(PaneHelp, 2))
	case s.Detail && a != ActDetail:
		s.DetailOffset = scroll(s.DetailOffset, a, f.page(PaneDetail, 1))
	case a == ActDetail:
		if f.links() == 0 {
			s.Detail = false
			s.Hint = "no link to open: none is saturated or congested"
			break
		}
		s.Detail, s.DetailOffset = !s.Detail, 0
	default:
		s.move(a, f)
	}
	return ActNone
}

// move moves the selection in the list for a moving action.
func (s *FleetState) move(a Action, f *FleetFrame) {
	n, page := f.links(), f.listRows()
	key := func(i int) string { return fleetKey(&f.rep.Problems[i]) }
	if n == 0 {
		s.cur = cursor{}
		return
	}
	delta := 0
	switch a {
	case ActUp:
		delta = -1
	case ActDown:
		delta = 1
	case ActPgUp:
		delta = -page
	case ActPgDn:
		delta = page
	case ActTop:
		delta = -s.cur.index
	case ActBottom:
		delta = n - 1 - s.cur.index
	default:
		return
	}
	c := &s.cur
	c.index = clamp(c.index+delta, 0, n-1)
	c.key = key(c.index)
	c.offset = visibleOffset(c.index, c.offset, n, page)
}

// scroll moves a scrolled pane's first line for a moving action; the
// renderer clamps the end.
func scroll(off int, a Action, page int) int {
	switch a {
	case ActUp:
		off--
	case ActDown:
		off++
	case ActPgUp:
		off -= page
	case ActPgDn:
		off += page
	case ActTop:
		off = 0
	case ActBottom:
		off = 1 << 20
	}
	return max(off, 0)
}

// sync re-anchors the selection on the report's links: the selected link
// keeps its identity when it is still listed, else the index is clamped.
func (s *FleetState) sync(rep *fleet.Report, height int) {
	c := &s.cur
	n := len(rep.Problems)
	if n == 0 {
		*c = cursor{}
		return
	}
	if c.key != "" && (c.index >= n || fleetKey(&rep.Problems[c.index]) != c.key) {
		for i := range rep.Problems {
			if fleetKey(&rep.Problems[i]) == c.key {
				c.index = i
				break
			}
		}
	}
	c.index = clamp(c.index, 0, n-1)
	c.key = fleetKey(&rep.Problems[c.index])
	c.offset = visibleOffset(c.index, c.offset, n, height)
}
