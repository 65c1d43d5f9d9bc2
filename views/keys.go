package views

import (
	"fmt"
	"strings"
)

// Special names a non-printable key.
type Special int

// Special keys. KeyNone means the key is the printable Rune.
const (
	KeyNone Special = iota
	KeyEnter
	KeyEsc
	KeyTab
	KeySpace
	KeyBackspace
	KeyUp
	KeyDown
	KeyPgUp
	KeyPgDn
	KeyHome
	KeyEnd
	KeyCtrlC
	KeyCtrlU
	KeyF1
	KeyF2
	KeyF3
	KeyF4
	KeyF5
	KeyF6
)

var specialNames = map[Special]string{
	KeyEnter: "Enter", KeyEsc: "Esc", KeyTab: "Tab", KeySpace: "Space", KeyBackspace: "Backspace",
	KeyUp: "Up", KeyDown: "Down", KeyPgUp: "PgUp", KeyPgDn: "PgDn", KeyHome: "Home", KeyEnd: "End",
	KeyCtrlC: "Ctrl-C", KeyCtrlU: "Ctrl-U", KeyF1: "F1", KeyF2: "F2", KeyF3: "F3", KeyF4: "F4", KeyF5: "F5", KeyF6: "F6",
}

// Key is one key press: a printable rune or a special key.
type Key struct {
	Rune    rune
	Special Special
}

// R returns the key for a printable rune.
func R(r rune) Key { return Key{Rune: r} }

// S returns the key for a special key.
func S(s Special) Key { return Key{Special: s} }

// String returns the key as the help shows it ("q", "Enter", "Ctrl-C").
func (k Key) String() string {
	if k.Special != KeyNone {
		return specialNames[k.Special]
	}
	return string(k.Rune)
}

// Action is what a key does.
type Action int

// Actions.
const (
	ActNone Action = iota
	ActQuit
	ActHelp
	ActViewFlows
	ActViewProcs
	ActViewConns
	ActViewRemotes
	ActViewLinks
	ActViewEgress
	ActBack
	ActZoom
	ActNextView
	ActUp
	ActDown
	ActPgUp
	ActPgDn
	ActTop
	ActBottom
	ActDetail
	ActEscape
	ActFilter
	ActDNS
	ActPortNames
	ActPorts
	ActSource
	ActDest
	ActLineMode
	ActBytes
	ActIEC
	ActBarWindow
	ActSort2s
	ActSort10s
	ActSort40s
	ActSortCumulative
	ActSortSource
	ActSortDest
	ActSortCost
	ActFreeze
	ActPause
	// ActRefresh asks the server again now (the fleet screen).
	ActRefresh
)

// Scope says where a binding applies: ScopeGlobal keys work everywhere,
// even while typing a filter; ScopeMain keys work when no text is being
// typed.
type Scope string

// Scopes.
const (
	ScopeGlobal Scope = ""
	ScopeMain   Scope = PaneMain
)

// Binding ties keys to an action, with the section and text of the help
// screen and of docs/keybindings.md.
type Binding struct {
	// Keys all trigger the action.
	Keys []Key
	// Scope is the view the keys are registered on.
	Scope Scope
	// Action is what the keys do.
	Action Action
	// Section groups the help.
	Section string
	// Help is one line of help text.
	Help string
	// Note records a difference from iftop, for the docs.
	Note string
}

// Bindings is the one keybinding table: the host registers it, the help
// screen draws it and docs/keybindings.md is generated from it.
var Bindings = []Binding{
	{Keys: []Key{R('q')}, Scope: ScopeMain, Action: ActQuit, Section: "General", Help: "quit (the terminal is restored)"},
	{Keys: []Key{S(KeyCtrlC)}, Scope: ScopeGlobal, Action: ActQuit, Section: "General", Help: "quit, from anywhere"},
	{Keys: []Key{R('h'), R('?')}, Scope: ScopeMain, Action: ActHelp, Section: "General", Help: "show or hide this help"},
	{Keys: []Key{R('P')}, Scope: ScopeMain, Action: ActPause, Section: "General", Help: "pause or resume the display", Note: "as iftop; the -P flag means ports, as in iftop"},
	{Keys: []Key{R('/')}, Scope: ScopeMain, Action: ActFilter, Section: "General", Help: "filter rows by text (Enter applies, Esc cancels)", Note: "iftop's l (screen filter)"},
	{Keys: []Key{S(KeyEsc)}, Scope: ScopeMain, Action: ActEscape, Section: "General", Help: "close help or detail, Egress: up a level, then clear the filter"},

	{Keys: []Key{R('F'), S(KeyF1)}, Scope: ScopeMain, Action: ActViewFlows, Section: "Views", Help: "Flows: host pairs or ports, 2s/10s/40s (iftop)", Note: "F A C R I focus the overview's pane, or show the view full screen when it has no pane"},
	{Keys: []Key{R('A'), S(KeyF2)}, Scope: ScopeMain, Action: ActViewProcs, Section: "Views", Help: "Processes: per-program rates (nethogs)"},
	{Keys: []Key{R('C'), S(KeyF3)}, Scope: ScopeMain, Action: ActViewConns, Section: "Views", Help: "Connections: 5-tuples with owner (bandwhich)"},
	{Keys: []Key{R('R'), S(KeyF4)}, Scope: ScopeMain, Action: ActViewRemotes, Section: "Views", Help: "Remotes: per remote host (bandwhich)"},
	{Keys: []Key{R('I'), S(KeyF5)}, Scope: ScopeMain, Action: ActViewLinks, Section: "Views", Help: "Links: interface and qdisc counters"},
	{Keys: []Key{R('E'), S(KeyF6)}, Scope: ScopeMain, Action: ActViewEgress, Section: "Views", Help: "Egress: bytes and cost by destination class", Note: "not in iftop; Enter goes down: class, names, processes, flows"},
	{Keys: []Key{S(KeyBackspace)}, Scope: ScopeMain, Action: ActBack, Section: "Views", Help: "Egress: up one level (Esc too)"},
	{Keys: []Key{R('z')}, Scope: ScopeMain, Action: ActZoom, Section: "Views", Help: "zoom the focused pane, or back to the overview", Note: "not in iftop"},
	{Keys: []Key{S(KeyTab)}, Scope: ScopeMain, Action: ActNextView, Section: "Views", Help: "next pane (overview), next view (zoomed)"},
	{Keys: []Key{S(KeyEnter)}, Scope: ScopeMain, Action: ActDetail, Section: "Views", Help: "open or close the detail of the selected row", Note: "in the Egress view: open the row's level below"},

	{Keys: []Key{R('k'), S(KeyUp)}, Scope: ScopeMain, Action: ActUp, Section: "Moving", Help: "select the row above"},
	{Keys: []Key{R('j'), S(KeyDown)}, Scope: ScopeMain, Action: ActDown, Section: "Moving", Help: "select the row below"},
	{Keys: []Key{S(KeyPgUp)}, Scope: ScopeMain, Action: ActPgUp, Section: "Moving", Help: "one page up"},
	{Keys: []Key{S(KeyPgDn), S(KeySpace)}, Scope: ScopeMain, Action: ActPgDn, Section: "Moving", Help: "one page down"},
	{Keys: []Key{R('g'), S(KeyHome)}, Scope: ScopeMain, Action: ActTop, Section: "Moving", Help: "first row"},
	{Keys: []Key{R('G'), S(KeyEnd)}, Scope: ScopeMain, Action: ActBottom, Section: "Moving", Help: "last row"},

	{Keys: []Key{R('1')}, Scope: ScopeMain, Action: ActSort2s, Section: "Sorting", Help: "sort by the 2 s rate (1st column)"},
	{Keys: []Key{R('2')}, Scope: ScopeMain, Action: ActSort10s, Section: "Sorting", Help: "sort by the 10 s rate (2nd column)"},
	{Keys: []Key{R('3')}, Scope: ScopeMain, Action: ActSort40s, Section: "Sorting", Help: "sort by the 40 s rate (3rd column)"},
	{Keys: []Key{R('4')}, Scope: ScopeMain, Action: ActSortCumulative, Section: "Sorting", Help: "sort by cumulative bytes", Note: "not in iftop"},
	{Keys: []Key{R('<')}, Scope: ScopeMain, Action: ActSortSource, Section: "Sorting", Help: "sort by source (local side, first column)"},
	{Keys: []Key{R('>')}, Scope: ScopeMain, Action: ActSortDest, Section: "Sorting", Help: "sort by destination (remote side)"},
	{Keys: []Key{R('c')}, Scope: ScopeMain, Action: ActSortCost, Section: "Sorting", Help: "Egress: sort by cost (its default)", Note: "in the Egress view 1-3 sort by the 40 s rate, 4 by bytes, < > by name"},
	{Keys: []Key{R('o')}, Scope: ScopeMain, Action: ActFreeze, Section: "Sorting", Help: "freeze or unfreeze the current order"},

	{Keys: []Key{R('n')}, Scope: ScopeMain, Action: ActDNS, Section: "Display", Help: "host names (reverse DNS) or addresses"},
	{Keys: []Key{R('N')}, Scope: ScopeMain, Action: ActPortNames, Section: "Display", Help: "service names or port numbers"},
	{Keys: []Key{R('p')}, Scope: ScopeMain, Action: ActPorts, Section: "Display", Help: "show ports: host+port rows instead of host pairs"},
	{Keys: []Key{R('s')}, Scope: ScopeMain, Action: ActSource, Section: "Display", Help: "show or aggregate away the source (local) host"},
	{Keys: []Key{R('d')}, Scope: ScopeMain, Action: ActDest, Section: "Display", Help: "show or aggregate away the destination (remote) host"},
	{Keys: []Key{R('t')}, Scope: ScopeMain, Action: ActLineMode, Section: "Display", Help: "line mode: two-line, sent, received, total"},
	{Keys: []Key{R('B')}, Scope: ScopeMain, Action: ActBytes, Section: "Display", Help: "bytes/s or bits/s", Note: "iftop's B cycles the bar average; here that is b, and B matches the -B flag"},
	{Keys: []Key{R('b')}, Scope: ScopeMain, Action: ActBarWindow, Section: "Display", Help: "bar and single-rate columns: 2s, 10s, 40s", Note: "iftop's B"},
	{Keys: []Key{R('i')}, Scope: ScopeMain, Action: ActIEC, Section: "Display", Help: "SI (k=1000) or IEC (Ki=1024) prefixes", Note: "not in iftop"},
}

// FleetBindings is the keybinding table of the fleet screen (netriage
// fleet --output tui): the host registers it, its help screen draws it
// and docs/keybindings.md is generated from it. The keys mean what they
// mean in top.
var FleetBindings = []Binding{
	{Keys: []Key{R('q')}, Action: ActQuit, Section: "General", Help: "quit (the terminal is restored)"},
	{Keys: []Key{S(KeyCtrlC)}, Scope: ScopeGlobal, Action: ActQuit, Section: "General", Help: "quit"},
	{Keys: []Key{R('?'), R('h')}, Action: ActHelp, Section: "General", Help: "show or hide this help"},
	{Keys: []Key{R('r')}, Action: ActRefresh, Section: "General", Help: "ask Prometheus again now", Note: "else every --refresh (30s) after the last answer"},
	{Keys: []Key{S(KeyEnter)}, Action: ActDetail, Section: "General", Help: "open or close the selected link's detail"},
	{Keys: []Key{S(KeyEsc)}, Action: ActEscape, Section: "General", Help: "close the help or the detail"},
	{Keys: []Key{R('B')}, Action: ActBytes, Section: "General", Help: "bytes/s or bits/s", Note: "as the -B flag"},

	{Keys: []Key{R('k'), S(KeyUp)}, Action: ActUp, Section: "Moving", Help: "select the link above", Note: "in the detail and the help the moving keys scroll"},
	{Keys: []Key{R('j'), S(KeyDown)}, Action: ActDown, Section: "Moving", Help: "select the link below"},
	{Keys: []Key{S(KeyPgUp)}, Action: ActPgUp, Section: "Moving", Help: "one page up"},
	{Keys: []Key{S(KeyPgDn), S(KeySpace)}, Action: ActPgDn, Section: "Moving", Help: "one page down"},
	{Keys: []Key{R('g'), S(KeyHome)}, Action: ActTop, Section: "Moving", Help: "first link"},
	{Keys: []Key{R('G'), S(KeyEnd)}, Action: ActBottom, Section: "Moving", Help: "last link"},
}

// KeybindingsMarkdown returns docs/keybindings.md, generated from Bindings
// and FleetBindings.
func KeybindingsMarkdown() string {
	var b strings.Builder
	b.WriteString("<!-- Generated by `go generate ./views` from views/keys.go. Do not edit. -->\n\n")
	b.WriteString("# netriage top: keys\n\n")
	b.WriteString("Keys follow iftop where they mean the same thing. Differences from iftop are noted.\n")
	writeBindingsMarkdown(&b, Bindings)
	b.WriteString("\nWhile typing a filter (after `/`): printable keys edit it, `Backspace` deletes, `Ctrl-U` clears, `Enter` applies, `Esc` cancels.\n")
	b.WriteString("\n# netriage fleet --output tui: keys\n\nThe fleet screen ([fleet.md](fleet.md#the-fleet-screen---output-tui)) has keys of its own, with top's meanings.\n")
	writeBindingsMarkdown(&b, FleetBindings)
	return b.String()
}

// writeBindingsMarkdown writes one table of keys per section of table.
func writeBindingsMarkdown(b *strings.Builder, table []Binding) {
	section := ""
	for _, bd := range table {
		if bd.Section != section {
			section = bd.Section
			fmt.Fprintf(b, "\n## %s\n\n| keys | action | note |\n|---|---|---|\n", section)
		}
		keys := make([]string, len(bd.Keys))
		for i, k := range bd.Keys {
			keys[i] = "`" + mdKey(k.String()) + "`"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", strings.Join(keys, ", "), bd.Help, bd.Note)
	}
}

func mdKey(s string) string {
	if s == "|" {
		return `\|`
	}
	return s
}

// helpLines renders the help screen's entries: "keys  text" per binding,
// with section titles.
func helpLines() []string { return bindingLines(Bindings) }

// bindingLines are the help entries of table.
func bindingLines(table []Binding) []string {
	var out []string
	section := ""
	for _, bd := range table {
		if bd.Section != section {
			section = bd.Section
			out = append(out, section+":")
		}
		keys := make([]string, len(bd.Keys))
		for i, k := range bd.Keys {
			keys[i] = k.String()
		}
		out = append(out, fmt.Sprintf("  %-10s %s", strings.Join(keys, " "), bd.Help))
	}
	return out
}
