package fleet

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Sample is one series of an instant query's answer: its labels (without
// the metric name) and its value. T is the evaluation time the server
// stamped on it.
type Sample struct {
	Labels map[string]string
	Value  float64
	T      time.Time
}

// Options shape the queries and the report.
type Options struct {
	// Window is "the last hour": saturated and congested seconds and the
	// peak utilisation are taken over it (default DefaultWindow).
	Window time.Duration
	// TopK is the number of processes and of remotes per link (default
	// DefaultTopK).
	TopK int
}

// Defaults of Options.
const (
	DefaultWindow = time.Hour
	DefaultTopK   = 3
	// MaxTopK bounds TopK: each talker is a series the server returns.
	MaxTopK = 20
	// TalkerRange is the range of the talkers' rates: the mixin records
	// them over 5m (and 1m), the dashboard shows 5m.
	TalkerRange = "5m"
)

// The period of fleet's terminal UI, which asks the queries again every
// Refresh (its --refresh): DefaultRefresh unless given, never less than
// MinRefresh, so a screen left open does not load the server.
const (
	DefaultRefresh = 30 * time.Second
	MinRefresh     = 5 * time.Second
)

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.TopK <= 0 {
		o.TopK = DefaultTopK
	}
	o.TopK = min(o.TopK, MaxTopK)
	return o
}

// Names of the queries (the keys of Build's answers).
const (
	QState     = "state"       // the verdict now, per link
	QUtil      = "utilization" // the verdict's utilisation now
	QPeak      = "peak"        // the highest verdict utilisation in the window
	QSaturated = "saturated"   // saturated seconds in the window
	QCongested = "congested"   // congested seconds in the window
	QFlows     = "flows"       // the captures' flow rate, per scope and direction
	QProcesses = "processes"   // the top processes per scope and direction
	QRemotes   = "remotes"     // the top remotes per scope and direction
	QNames     = "names"       // names of remotes with a series
	QHosts     = "hosts"       // instances reporting now
	QSilent    = "silent"      // instances seen in the window, silent now
)

// Query is one PromQL instant query and the name Build knows its answer by.
type Query struct {
	Name   string
	PromQL string
}

// promDuration writes d as a PromQL duration: whole seconds, at least 1s.
func promDuration(d time.Duration) string {
	return fmt.Sprintf("%ds", max(int64(math.Round(d.Seconds())), 1))
}

// Queries are the instant queries of one report, in the order to ask them.
// The first one answers whether the server is there and speaks PromQL.
func Queries(o Options) []Query {
	o = o.withDefaults()
	w := promDuration(o.Window)
	by := "instance, interface, direction"
	top := func(recorded, raw, bucket string) string {
		return fmt.Sprintf("topk by (%s) (%d, (%s or rate(%s{%s!=\"other\"}[%s])) > 0)", by, o.TopK, recorded, raw, bucket, TalkerRange)
	}
	return []Query{
		{QHosts, "max by (instance) (netriage_build_info)"},
		{QSilent, fmt.Sprintf("max by (instance) (max_over_time(netriage_build_info[%s])) unless on (instance) max by (instance) (netriage_build_info)", w)},
		{QState, "netriage_verdict_state == 1"},
		{QUtil, "netriage_verdict_utilization_ratio"},
		{QPeak, fmt.Sprintf("max_over_time(netriage_verdict_utilization_ratio[%s])", w)},
		{QSaturated, fmt.Sprintf("increase(netriage_link_saturated_seconds_total[%s]) > 0", w)},
		{QCongested, fmt.Sprintf("increase(netriage_link_congested_seconds_total[%s]) > 0", w)},
		{QFlows, fmt.Sprintf("rate(netriage_flow_bytes_total[%s])", TalkerRange)},
		{QProcesses, top("instance_interface_direction_process:netriage_process_bytes:rate"+TalkerRange, "netriage_process_bytes_total", "process")},
		{QRemotes, top("instance_interface_direction_remote:netriage_remote_bytes:rate"+TalkerRange, "netriage_remote_bytes_total", "remote")},
		{QNames, "netriage_remote_info"},
	}
}

// State is a link's verdict now.
type State string

// The states of netriage_verdict_state, and StateNone when the server has
// no verdict for the link now (the host went silent, or its verdict is
// not ready).
const (
	StateSaturated State = "saturated"
	StateCongested State = "congested"
	StateOK        State = "ok"
	StateUnknown   State = "unknown"
	StateRemoved   State = "removed"
	StateNone      State = ""
)

// rank orders states worst first.
func (s State) rank() int {
	switch s {
	case StateSaturated:
		return 2
	case StateCongested:
		return 1
	case StateOK, StateUnknown, StateRemoved, StateNone:
		return 0
	}
	return 0
}

// Talker is one top process or remote of a link's direction.
type Talker struct {
	// Name is the program (or a bucket such as unattributed:forwarded)
	// for a process, the address for a remote.
	Name string
	// Container is a process's container or unit label (may be empty).
	Container string
	// Host is a remote's DNS name when known.
	Host string
	// Scope is the capture scope the series came from (the interface, a
	// comma list, or any).
	Scope string
	// BytesPerSec is the talker's IP bytes per second over TalkerRange.
	BytesPerSec float64
	// Share is BytesPerSec over the scope's flow rate in the direction
	// (nil when that rate is unknown or zero).
	Share *float64
}

// Link is one interface and direction of one host.
type Link struct {
	Instance, Interface, Direction string
	// Now is the verdict now.
	Now State
	// Utilization is the verdict's utilisation now; Peak the highest in
	// the window (nil when the capacity is unknown).
	Utilization, Peak *float64
	// SaturatedSeconds and CongestedSeconds are the seconds the verdict
	// said so in the window.
	SaturatedSeconds, CongestedSeconds float64
	// FlowBytesPerSec is the capture's IP bytes per second in the
	// direction, over TalkerRange (nil without a capture).
	FlowBytesPerSec *float64
	// Processes and Remotes are the top talkers, busiest first.
	Processes, Remotes []Talker
}

// Report is the fleet at a glance.
type Report struct {
	// Time is the evaluation time of the answers (zero when the server
	// returned no sample at all).
	Time time.Time
	// Window is Options.Window.
	Window time.Duration
	// Hosts are the instances reporting now; Silent those seen in the
	// window and not now. Both sorted.
	Hosts, Silent []string
	// Links counts the links with a verdict now; Saturated and Congested
	// those saturated or congested now.
	Links, Saturated, Congested int
	// Problems are the links saturated or congested now or in the window,
	// worst first.
	Problems []Link
}

type linkKey struct{ instance, iface, dir string }

func keyOf(s Sample) linkKey {
	return linkKey{s.Labels["instance"], s.Labels["interface"], s.Labels["direction"]}
}

// Build makes the report from the answers of Queries (by name; a missing
// answer is an empty one).
func Build(answers map[string][]Sample, o Options) Report {
	o = o.withDefaults()
	rep := Report{Window: o.Window}
	for _, ss := range answers {
		for _, s := range ss {
			if s.T.After(rep.Time) {
				rep.Time = s.T
			}
		}
	}
	rep.Hosts = instances(answers[QHosts])
	rep.Silent = instances(answers[QSilent])

	links := map[linkKey]*Link{}
	get := func(s Sample) *Link {
		k := keyOf(s)
		l := links[k]
		if l == nil {
			l = &Link{Instance: k.instance, Interface: k.iface, Direction: k.dir}
			links[k] = l
		}
		return l
	}
	for _, s := range answers[QState] {
		st := State(s.Labels["state"])
		l := get(s)
		if st.rank() >= l.Now.rank() {
			l.Now = st
		}
	}
	rep.Links = len(links)
	for _, l := range links {
		switch l.Now {
		case StateSaturated:
			rep.Saturated++
		case StateCongested:
			rep.Congested++
		case StateOK, StateUnknown, StateRemoved, StateNone:
		}
	}
	for _, s := range answers[QSaturated] {
		if finite(s.Value) && s.Value > 0 {
			get(s).SaturatedSeconds = s.Value
		}
	}
	for _, s := range answers[QCongested] {
		if finite(s.Value) && s.Value > 0 {
			get(s).CongestedSeconds = s.Value
		}
	}

	var problems []*Link
	for _, l := range links {
		if l.Now.rank() > 0 || l.SaturatedSeconds > 0 || l.CongestedSeconds > 0 {
			problems = append(problems, l)
		}
	}
	for _, s := range answers[QUtil] {
		if l := links[keyOf(s)]; l != nil && finite(s.Value) {
			l.Utilization = ptr(s.Value)
		}
	}
	for _, s := range answers[QPeak] {
		if l := links[keyOf(s)]; l != nil && finite(s.Value) {
			l.Peak = ptr(s.Value)
		}
	}

	flows := map[linkKey]float64{}
	for _, s := range answers[QFlows] {
		if finite(s.Value) && s.Value >= 0 {
			flows[keyOf(s)] = s.Value
		}
	}
	names := map[[2]string]string{}
	for _, s := range answers[QNames] {
		names[[2]string{s.Labels["instance"], s.Labels["remote"]}] = s.Labels["name"]
	}
	for _, l := range problems {
		var fb float64
		var any bool
		for k, v := range flows {
			if k.instance == l.Instance && k.dir == l.Direction && inScope(k.iface, l.Interface) {
				fb += v
				any = true
			}
		}
		if any {
			l.FlowBytesPerSec = ptr(fb)
		}
		l.Processes = talkers(answers[QProcesses], l, "process", flows, o.TopK, func(t *Talker, s Sample) {
			t.Container = s.Labels["container"]
		})
		l.Remotes = talkers(answers[QRemotes], l, "remote", flows, o.TopK, func(t *Talker, s Sample) {
			t.Host = names[[2]string{l.Instance, t.Name}]
		})
	}
	slices.SortFunc(problems, func(a, b *Link) int { return compare(a, b) })
	for _, l := range problems {
		rep.Problems = append(rep.Problems, *l)
	}
	return rep
}

// compare orders links worst first (see the package doc).
func compare(a, b *Link) int {
	if c := b.Now.rank() - a.Now.rank(); c != 0 {
		return c
	}
	if c := cmpDesc(a.SaturatedSeconds, b.SaturatedSeconds); c != 0 {
		return c
	}
	if c := cmpDesc(a.CongestedSeconds, b.CongestedSeconds); c != 0 {
		return c
	}
	if c := cmpDesc(deref(a.Utilization), deref(b.Utilization)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Instance, b.Instance); c != 0 {
		return c
	}
	if c := strings.Compare(a.Interface, b.Interface); c != 0 {
		return c
	}
	return strings.Compare(a.Direction, b.Direction)
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// talkers are the series of one family whose host, direction and scope
// match l, busiest first, at most k.
func talkers(ss []Sample, l *Link, label string, flows map[linkKey]float64, k int, fill func(*Talker, Sample)) []Talker {
	var out []Talker
	for _, s := range ss {
		sk := keyOf(s)
		if sk.instance != l.Instance || sk.dir != l.Direction || !inScope(sk.iface, l.Interface) || !finite(s.Value) || s.Value <= 0 {
			continue
		}
		t := Talker{Name: s.Labels[label], Scope: sk.iface, BytesPerSec: s.Value}
		if fb := flows[sk]; fb > 0 {
			t.Share = ptr(s.Value / fb)
		}
		fill(&t, s)
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Talker) int {
		if c := cmpDesc(a.BytesPerSec, b.BytesPerSec); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Container, b.Container)
	})
	if len(out) > k {
		out = out[:k]
	}
	return out
}

// inScope reports whether a capture scope (an interface, several joined
// by commas, or any) covers interface iface.
func inScope(scope, iface string) bool {
	if scope == iface || scope == "any" {
		return true
	}
	return strings.Contains(scope, ",") && slices.Contains(strings.Split(scope, ","), iface)
}

// instances are the sorted, distinct instance labels of ss.
func instances(ss []Sample) []string {
	var out []string
	for _, s := range ss {
		if v, ok := s.Labels["instance"]; ok && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func ptr[T any](v T) *T { return &v }

func deref(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}
