package metrics

import (
	"strconv"
	"strings"

	"netriage/views/format"
)

// Label value limits, in runes. Kernel interface names have at most 15
// bytes; program names come from /proc (comm has 15, an executable's base
// name more); container labels are "RUNTIME:ID12" or "systemd:UNIT"; DNS
// names have at most 253 characters.
const (
	maxIfaceRunes     = 32
	maxProcessRunes   = 64
	maxContainerRunes = 96
	maxNameRunes      = 128
)

// Reserved label values of the talker families. OtherLabel is the bucket
// of every talker without a series of its own; unattributedPrefix starts
// the pseudo-talkers of traffic without a process ("unattributed:forwarded").
// A program whose name is one of them, or starts with processEscape, is
// labelled processEscape + its name, so no process can take the label of
// a bucket (the escape is injective: two names never share a label).
const (
	OtherLabel         = "other"
	unattributedPrefix = "unattributed:"
	processEscape      = "process:"
)

// processLabel is the process label of a program name: sanitised (control
// characters cut), "unknown" when empty, escaped when it would read as a
// reserved value.
func processLabel(program string) string {
	p := format.Sanitize(program, maxProcessRunes)
	switch {
	case p == "":
		return "unknown"
	case p == OtherLabel, strings.HasPrefix(p, unattributedPrefix), strings.HasPrefix(p, processEscape):
		return processEscape + p
	}
	return p
}

// unattributedLabel is the process label of traffic without a process, by
// reason: the verdict spells reasons with spaces ("other protocol"), the
// label with underscores, as attrib.Reason does.
func unattributedLabel(reason string) string {
	if reason == "" {
		reason = "unknown"
	}
	return unattributedPrefix + strings.ReplaceAll(format.Sanitize(reason, 32), " ", "_")
}

// labeller gives each interface name one label value for the whole run:
// sanitised, and made unique by a "~N" suffix when two names sanitise to
// the same text (two series with one label set would fail the scrape).
type labeller struct {
	byName map[string]string
	used   map[string]bool
}

func newLabeller() *labeller {
	return &labeller{byName: map[string]string{}, used: map[string]bool{}}
}

// label returns name's label value.
func (l *labeller) label(name string) string {
	if v, ok := l.byName[name]; ok {
		return v
	}
	base := format.Sanitize(name, maxIfaceRunes)
	if base == "" {
		base = "?"
	}
	v := base
	for n := 2; l.used[v]; n++ {
		v = base + "~" + strconv.Itoa(n)
	}
	l.byName[name], l.used[v] = v, true
	return v
}
