package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"netriage/triage"
	"netriage/triage/engine"
	"netriage/views/format"
)

func init() {
	register(&command{name: "links", summary: "interface and qdisc counters, rates, capacity and utilisation", run: runLinks})
}

const linksUsage = `Usage: netriage links [flags]

Interface and queue counters of one network namespace, like 'ip -s link' and
'tc -s qdisc' with rates: per interface the state, MTU, capacity and where it
came from (user override, tbf/htb shaper, ethtool, sysfs), rx/tx bytes,
packets, errors and drops with per-second rates, utilisation of the capacity,
and the root qdisc's drops, backlog, overlimits and requeues.

The first line comes one interval after start (rates need two samples);
a run shorter than one interval prints one sample at its end, with rates
over the time elapsed.
Without -i it shows every interface that is up at start, loopback excluded.
An interface deleted while running stays as a "gone" row in every later
sample (and is named once on stderr); a deleted --netns namespace makes
every row gone. links stops when no shown interface is left, and exits 1
when that happens or when an interface named with -i was removed.
JSON output is NDJSON, one object per sample: see docs/json.md (section "Links").`

func runLinks(ctx context.Context, env *cmdEnv, args []string) int {
	var cf commonFlags
	fs := newFlagSet("links")
	cf.addInterfaces(fs, "interfaces to show, comma separated (default: every interface that is up, except lo)")
	cf.addTiming(fs)
	cf.addOutput(fs, "table", "json", "csv")
	cf.addConfig(fs)
	cf.addNetns(fs)
	cf.addLinkSpeed(fs)
	done, err := parseFlags(env, fs, linksUsage, args)
	if done {
		return exitOK
	}
	if err != nil {
		return fail(env, "links", err)
	}
	if fs.NArg() > 0 {
		return fail(env, "links", usageErrorf("unexpected argument %q (interfaces go in -i, e.g. -i eth0,eth1)", fs.Arg(0)))
	}
	cfg, err := cf.resolve()
	if err != nil {
		return fail(env, "links", err)
	}
	if cf.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cf.duration)
		defer cancel()
	}
	interval := cfg.Interval.D()
	in, err := openInputs(ctx, inputOptions{cfg: cfg, links: true, netns: cf.netns, ifaces: cf.ifaces, requireUp: true, finalOnStop: true,
		checkFirst: func(first *triage.LinksSample) ([]string, error) { return cf.checkLinkSpeeds(cfg, first) }})
	if err != nil {
		return fail(env, "links", err)
	}
	defer in.Close()
	for _, h := range in.Absent {
		fmt.Fprintf(env.stderr, "netriage links: %s\n", h.Why)
	}
	names := in.watched
	w := newLinksWriter(env.stdout, cf.output, cf.netns)
	var prev triage.LinksSample
	last := map[string]triage.IfaceSample{}
	emitted := 0
	// A removed interface or namespace is reported in every sample (gone
	// rows, netns_gone) and once on stderr. The run stops when nothing is
	// left to show; it exits 1 when that happened or when an interface
	// named with -i was removed.
	removed := false
	netnsGone := false
	nothingLeft := false
	var writeErr error
	goneSince := map[string]time.Time{}
	// write writes the rows of cur against the previous sample; it
	// returns false when nothing is left to sample.
	write := func(cur triage.LinksSample) bool {
		rows := triage.CompareLinks(&prev, &cur, cfg.Links.SpeedsBps())
		rows = linksPick(rows, names, last)
		if cur.NetnsGone != "" && !netnsGone {
			netnsGone = true
			fmt.Fprintf(env.stderr, "netriage links: %s; its interfaces are gone with it (%s)\n", format.Sanitize(cur.NetnsGone, 300), cur.Time.Local().Format("15:04:05.000"))
		}
		left := 0
		for _, r := range rows {
			n := r.Sample.Name
			if !r.Gone {
				delete(goneSince, n) // back (re-created): a new removal is reported again
				left++
				continue
			}
			if _, seen := goneSince[n]; !seen {
				goneSince[n] = cur.Time
				removed = removed || len(cf.ifaces) > 0
				if cur.NetnsGone == "" {
					fmt.Fprintf(env.stderr, "netriage links: interface %s was removed (missing from the sample at %s)\n", format.Sanitize(n, 64), cur.Time.Local().Format("15:04:05.000"))
				}
			}
		}
		if writeErr = w.write(&cur, rows, goneSince); writeErr != nil {
			return false
		}
		for _, i := range cur.Ifaces {
			last[i.Name] = i
		}
		prev = cur
		emitted++
		nothingLeft = netnsGone || left == 0
		return !nothingLeft && (cf.count == 0 || emitted < cf.count)
	}
	var lastErr string
	engine.New(in.Inputs, in.cfg).Run(ctx, func(s *engine.Snapshot) bool {
		for _, h := range s.Degraded() {
			if h.Input == "links" && !s.LinksRead && h.Why != lastErr {
				lastErr = h.Why
				fmt.Fprintf(env.stderr, "netriage links: %s (retrying)\n", h.Why)
			}
		}
		if !s.LinksRead {
			return !s.Last
		}
		cur := *s.Links
		cur.Seq = s.Seq
		if s.Seq == 1 {
			// The first sample is the baseline: rates need two.
			prev = cur
			for _, i := range cur.Ifaces {
				last[i.Name] = i
			}
			return true
		}
		if s.Last {
			if emitted > 0 {
				return false // a sample after the run's end is not printed
			}
			// The run ended before the first interval did (e.g.
			// --duration 500ms with a 1 s interval): print the one sample
			// there is, with rates over the time elapsed.
			el := linksRound(cur.Time.Sub(s.Start))
			fmt.Fprintf(env.stderr, "netriage links: the run ended %s after start, before the first %s interval: rates are over those %s (shorten --interval for more samples)\n", el, interval, el)
		}
		return write(cur)
	})
	w.flush()
	if writeErr != nil {
		fmt.Fprintf(env.stderr, "netriage links: write: %v\n", writeErr)
		return exitFailure
	}
	if nothingLeft {
		fmt.Fprintln(env.stderr, "netriage links: no interface left to show: stopping")
	}
	if nothingLeft || removed {
		return exitFailure
	}
	return exitOK
}

// linksRound rounds a duration for messages: milliseconds.
func linksRound(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func linksExisting(s *triage.LinksSample) string {
	names := make([]string, 0, len(s.Ifaces))
	for _, i := range s.Ifaces {
		names = append(names, format.Sanitize(i.Name, 32))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// linksPick keeps the rows of names, in that order; a name without a row is
// reported as gone with its last known sample.
func linksPick(rows []triage.LinkRow, names []string, last map[string]triage.IfaceSample) []triage.LinkRow {
	by := make(map[string]triage.LinkRow, len(rows))
	for _, r := range rows {
		if !r.Gone {
			by[r.Sample.Name] = r
		}
	}
	out := make([]triage.LinkRow, 0, len(names))
	for _, n := range names {
		if r, ok := by[n]; ok {
			out = append(out, r)
			continue
		}
		s, ok := last[n]
		if !ok {
			s = triage.IfaceSample{Name: n}
		}
		out = append(out, triage.LinkRow{Sample: s, Capacity: triage.Capacity{Source: triage.CapacityUnknown},
			Rates: triage.IfaceRates{Note: triage.NoteGone}, Gone: true})
	}
	return out
}

// linksJSON is one NDJSON line (docs/json.md (section "Links")).
type linksJSON struct {
	Seq        uint64           `json:"seq"`
	Time       string           `json:"time"`
	IntervalS  float64          `json:"interval_s"`
	Netns      string           `json:"netns"`
	NetnsGone  bool             `json:"netns_gone"`
	Interfaces []linksIfaceJSON `json:"interfaces"`
	Warnings   []string         `json:"warnings"`
}

type linksIfaceJSON struct {
	Name            string   `json:"name"`
	Index           int      `json:"index"`
	Kind            string   `json:"kind"`
	OperState       string   `json:"oper_state"`
	AdminUp         bool     `json:"admin_up"`
	MTU             int      `json:"mtu"`
	Gone            bool     `json:"gone"`
	GoneSince       *string  `json:"gone_since"`
	Note            string   `json:"note"`
	CapacityBps     *uint64  `json:"capacity_bps"`
	CapacitySource  string   `json:"capacity_source"`
	EthtoolSpeedBps *uint64  `json:"ethtool_speed_bps"`
	SysfsSpeedBps   *uint64  `json:"sysfs_speed_bps"`
	Addresses       []string `json:"addresses"`

	RxBytes   uint64 `json:"rx_bytes"`
	TxBytes   uint64 `json:"tx_bytes"`
	RxPackets uint64 `json:"rx_packets"`
	TxPackets uint64 `json:"tx_packets"`
	RxErrors  uint64 `json:"rx_errors"`
	TxErrors  uint64 `json:"tx_errors"`
	RxDropped uint64 `json:"rx_dropped"`
	TxDropped uint64 `json:"tx_dropped"`

	RxBytesDelta   *uint64 `json:"rx_bytes_delta"`
	TxBytesDelta   *uint64 `json:"tx_bytes_delta"`
	RxPacketsDelta *uint64 `json:"rx_packets_delta"`
	TxPacketsDelta *uint64 `json:"tx_packets_delta"`

	RxBps         *float64        `json:"rx_bps"`
	TxBps         *float64        `json:"tx_bps"`
	RxPacketsPerS *float64        `json:"rx_packets_per_s"`
	TxPacketsPerS *float64        `json:"tx_packets_per_s"`
	RxErrorsPerS  *float64        `json:"rx_errors_per_s"`
	TxErrorsPerS  *float64        `json:"tx_errors_per_s"`
	RxDroppedPerS *float64        `json:"rx_dropped_per_s"`
	TxDroppedPerS *float64        `json:"tx_dropped_per_s"`
	RxCapacityBps *uint64         `json:"rx_capacity_bps"`
	RxCapSource   string          `json:"rx_capacity_source"`
	RxUtilization *float64        `json:"rx_utilization"`
	TxUtilization *float64        `json:"tx_utilization"`
	Qdisc         *linksQdiscJSON `json:"qdisc"`
}

type linksQdiscJSON struct {
	Kind           string   `json:"kind"`
	Children       int      `json:"children"`
	Bytes          uint64   `json:"bytes"`
	Packets        uint64   `json:"packets"`
	Drops          uint64   `json:"drops"`
	Overlimits     uint64   `json:"overlimits"`
	Requeues       uint64   `json:"requeues"`
	BacklogBytes   uint64   `json:"backlog_bytes"`
	BacklogPackets uint64   `json:"backlog_packets"`
	ShaperRateBps  *uint64  `json:"shaper_rate_bps"`
	DropsDelta     *uint64  `json:"drops_delta"`
	DropsPerS      *float64 `json:"drops_per_s"`
	OverlimitsPerS *float64 `json:"overlimits_per_s"`
	RequeuesPerS   *float64 `json:"requeues_per_s"`
	SentBps        *float64 `json:"sent_bps"`
}

func linksPtr[T any](v T) *T { return &v }

func linksNonZero(v uint64) *uint64 {
	if v == 0 {
		return nil
	}
	return &v
}

func linksToJSON(row triage.LinkRow, goneSince map[string]time.Time) linksIfaceJSON {
	s, r := row.Sample, row.Rates
	c := s.Counters
	j := linksIfaceJSON{
		Name: format.Sanitize(s.Name, 0), Index: s.Index, Kind: s.Kind, OperState: s.OperState,
		AdminUp: s.AdminUp, MTU: s.MTU, Gone: row.Gone, Note: r.Note,
		CapacitySource:  string(row.Capacity.Source),
		EthtoolSpeedBps: linksNonZero(s.EthtoolSpeedBps), SysfsSpeedBps: linksNonZero(s.SysfsSpeedBps),
		Addresses: []string{},
		RxBytes:   c.RxBytes, TxBytes: c.TxBytes, RxPackets: c.RxPackets, TxPackets: c.TxPackets,
		RxErrors: c.RxErrors, TxErrors: c.TxErrors, RxDropped: c.RxDropped, TxDropped: c.TxDropped,
		RxUtilization: row.RxUtilization, TxUtilization: row.TxUtilization,
	}
	if row.Gone {
		j.OperState = "gone"
		if t, ok := goneSince[s.Name]; ok {
			j.GoneSince = linksPtr(t.UTC().Format(time.RFC3339Nano))
		}
	}
	if row.Capacity.Known {
		j.CapacityBps = linksPtr(row.Capacity.Bps)
	}
	j.RxCapSource = string(row.RxCapacity.Source)
	if row.RxCapacity.Known {
		j.RxCapacityBps = linksPtr(row.RxCapacity.Bps)
	}
	for _, a := range s.Addrs {
		j.Addresses = append(j.Addresses, a.String())
	}
	if r.Valid {
		d := r.Delta
		j.RxBytesDelta, j.TxBytesDelta = linksPtr(d.RxBytes), linksPtr(d.TxBytes)
		j.RxPacketsDelta, j.TxPacketsDelta = linksPtr(d.RxPackets), linksPtr(d.TxPackets)
		j.RxBps, j.TxBps = linksPtr(r.RxBps), linksPtr(r.TxBps)
		j.RxPacketsPerS, j.TxPacketsPerS = linksPtr(r.RxPacketsPerSec), linksPtr(r.TxPacketsPerSec)
		j.RxErrorsPerS, j.TxErrorsPerS = linksPtr(r.RxErrorsPerSec), linksPtr(r.TxErrorsPerSec)
		j.RxDroppedPerS, j.TxDroppedPerS = linksPtr(r.RxDroppedPerSec), linksPtr(r.TxDroppedPerSec)
	}
	if q := s.Qdisc; q != nil && !row.Gone {
		jq := &linksQdiscJSON{Kind: q.Kind, Children: q.Children, Bytes: q.Bytes, Packets: q.Packets,
			Drops: q.Drops, Overlimits: q.Overlimits, Requeues: q.Requeues,
			BacklogBytes: q.BacklogBytes, BacklogPackets: q.BacklogPackets, ShaperRateBps: linksNonZero(q.ShaperRateBps)}
		if qr := r.Qdisc; r.Valid && qr != nil {
			jq.DropsDelta = linksPtr(qr.DropsDelta)
			jq.DropsPerS, jq.OverlimitsPerS, jq.RequeuesPerS = linksPtr(qr.DropsPerSec), linksPtr(qr.OverlimitsPerSec), linksPtr(qr.RequeuesPerSec)
			jq.SentBps = linksPtr(qr.SentBps)
		}
		j.Qdisc = jq
	}
	return j
}

// linksWriter writes samples as a table, NDJSON or CSV.
type linksWriter struct {
	w       io.Writer
	format  string
	netns   string
	csv     *csv.Writer
	started bool
}

func newLinksWriter(w io.Writer, format, netns string) *linksWriter {
	lw := &linksWriter{w: w, format: format, netns: netns}
	if format == "csv" {
		lw.csv = csv.NewWriter(w)
	}
	return lw
}

func (lw *linksWriter) flush() {
	if lw.csv != nil {
		lw.csv.Flush()
	}
}

// write writes one sample; goneSince has the time each gone row was first
// missing.
func (lw *linksWriter) write(s *triage.LinksSample, rows []triage.LinkRow, goneSince map[string]time.Time) error {
	interval := 0.0
	for _, r := range rows {
		if r.Rates.Interval > 0 {
			interval = r.Rates.Interval.Seconds()
			break
		}
	}
	switch lw.format {
	case "json":
		out := linksJSON{Seq: s.Seq, Time: s.Time.UTC().Format(time.RFC3339Nano), IntervalS: interval,
			Netns: format.Sanitize(lw.netns, 0), NetnsGone: s.NetnsGone != "", Interfaces: make([]linksIfaceJSON, 0, len(rows)), Warnings: []string{}}
		for _, r := range rows {
			out.Interfaces = append(out.Interfaces, linksToJSON(r, goneSince))
		}
		for _, w := range s.Warnings {
			out.Warnings = append(out.Warnings, format.Sanitize(w, 0))
		}
		b, err := json.Marshal(out)
		if err != nil {
			return fmt.Errorf("links: encode json: %w", err)
		}
		_, err = lw.w.Write(append(b, '\n'))
		return err
	case "csv":
		return lw.writeCSV(s, rows, goneSince)
	}
	return lw.writeTable(s, rows, interval)
}

var linksCSVHeader = []string{"time", "seq", "name", "oper_state", "capacity_bps", "capacity_source",
	"rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_errors", "tx_errors", "rx_dropped", "tx_dropped",
	"rx_bps", "tx_bps", "rx_utilization", "tx_utilization",
	"qdisc_kind", "qdisc_drops", "qdisc_backlog_bytes", "qdisc_overlimits", "qdisc_drops_per_s"}

func (lw *linksWriter) writeCSV(s *triage.LinksSample, rows []triage.LinkRow, goneSince map[string]time.Time) error {
	if !lw.started {
		lw.started = true
		if err := lw.csv.Write(linksCSVHeader); err != nil {
			return err
		}
	}
	u := func(p *uint64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatUint(*p, 10)
	}
	f := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	for _, r := range rows {
		j := linksToJSON(r, goneSince)
		rec := []string{s.Time.UTC().Format(time.RFC3339Nano), strconv.FormatUint(s.Seq, 10), j.Name, j.OperState,
			u(j.CapacityBps), j.CapacitySource,
			strconv.FormatUint(j.RxBytes, 10), strconv.FormatUint(j.TxBytes, 10),
			strconv.FormatUint(j.RxPackets, 10), strconv.FormatUint(j.TxPackets, 10),
			strconv.FormatUint(j.RxErrors, 10), strconv.FormatUint(j.TxErrors, 10),
			strconv.FormatUint(j.RxDropped, 10), strconv.FormatUint(j.TxDropped, 10),
			f(j.RxBps), f(j.TxBps), f(j.RxUtilization), f(j.TxUtilization), "", "", "", "", ""}
		if q := j.Qdisc; q != nil {
			rec[18], rec[19], rec[20], rec[21], rec[22] = q.Kind, strconv.FormatUint(q.Drops, 10),
				strconv.FormatUint(q.BacklogBytes, 10), strconv.FormatUint(q.Overlimits, 10), f(q.DropsPerS)
		}
		if err := lw.csv.Write(rec); err != nil {
			return err
		}
	}
	lw.csv.Flush()
	return lw.csv.Error()
}

func (lw *linksWriter) writeTable(s *triage.LinksSample, rows []triage.LinkRow, interval float64) error {
	tw := tabwriter.NewWriter(lw.w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s  sample %d  interval %.2fs\n", s.Time.Local().Format("15:04:05"), s.Seq, interval)
	fmt.Fprintln(tw, "IFACE\tSTATE\tMTU\tCAPACITY\tSOURCE\tRX\tTX\tRX UTIL\tTX UTIL\tRX PKT/S\tTX PKT/S\tERR+DROP/S\tQDISC\tQ DROPS/S\tBACKLOG")
	na := "-"
	for _, r := range rows {
		sm, rt := r.Sample, r.Rates
		state := sm.OperState
		if r.Gone {
			state = "gone"
		}
		capS := na
		if r.Capacity.Known {
			capS = format.Rate(float64(r.Capacity.Bps)/8, format.Units{})
		}
		rx, tx, rxp, txp, errs := na, na, na, na, na
		if rt.Valid {
			rx, tx = format.Rate(rt.RxBps/8, format.Units{}), format.Rate(rt.TxBps/8, format.Units{})
			rxp, txp = strconv.FormatFloat(rt.RxPacketsPerSec, 'f', 0, 64), strconv.FormatFloat(rt.TxPacketsPerSec, 'f', 0, 64)
			errs = strconv.FormatFloat(rt.RxErrorsPerSec+rt.TxErrorsPerSec+rt.RxDroppedPerSec+rt.TxDroppedPerSec, 'f', 0, 64)
		} else if rt.Note != "" {
			rx = rt.Note
		}
		pct := func(p *float64) string {
			if p == nil {
				return na
			}
			return format.Percent(*p)
		}
		qk, qd, qb := na, na, na
		if q := sm.Qdisc; q != nil && !r.Gone {
			qk = q.Kind
			qb = format.Bytes(q.BacklogBytes, false)
			if rt.Valid && rt.Qdisc != nil {
				qd = strconv.FormatFloat(rt.Qdisc.DropsPerSec, 'f', 0, 64)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			format.Sanitize(sm.Name, 32), state, sm.MTU, capS, r.Capacity.Source, rx, tx,
			pct(r.RxUtilization), pct(r.TxUtilization), rxp, txp, errs, qk, qd, qb)
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(tw, "warning: %s\n", format.Sanitize(w, 200))
	}
	fmt.Fprintln(tw)
	return tw.Flush()
}
