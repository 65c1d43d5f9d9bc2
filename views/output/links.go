package output

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"netriage/triage"
	"netriage/views/format"
)

// LinksRecord is one NDJSON line of links (docs/json.md, section "Links").
type LinksRecord struct {
	Seq        uint64             `json:"seq"`
	Time       string             `json:"time"`
	IntervalS  float64            `json:"interval_s"`
	Netns      string             `json:"netns"`
	NetnsGone  bool               `json:"netns_gone"`
	Interfaces []LinksIfaceRecord `json:"interfaces"`
	// Stack is the namespace's stack counters, null when not read.
	Stack    *LinksStackRecord `json:"stack"`
	Warnings []string          `json:"warnings"`
}

// LinksIfaceRecord is one interface of a LinksRecord.
type LinksIfaceRecord struct {
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

	RxBps         *float64          `json:"rx_bps"`
	TxBps         *float64          `json:"tx_bps"`
	RxPacketsPerS *float64          `json:"rx_packets_per_s"`
	TxPacketsPerS *float64          `json:"tx_packets_per_s"`
	RxErrorsPerS  *float64          `json:"rx_errors_per_s"`
	TxErrorsPerS  *float64          `json:"tx_errors_per_s"`
	RxDroppedPerS *float64          `json:"rx_dropped_per_s"`
	TxDroppedPerS *float64          `json:"tx_dropped_per_s"`
	RxCapacityBps *uint64           `json:"rx_capacity_bps"`
	RxCapSource   string            `json:"rx_capacity_source"`
	RxUtilization *float64          `json:"rx_utilization"`
	TxUtilization *float64          `json:"tx_utilization"`
	Qdisc         *LinksQdiscRecord `json:"qdisc"`
	// NIC and BQL are the driver's statistics and the byte queue limits,
	// null when the stack counters were not read.
	NIC *LinksNICRecord `json:"nic"`
	BQL *LinksBQLRecord `json:"bql"`
}

// LinksQdiscRecord is an interface's root qdisc in a LinksIfaceRecord.
type LinksQdiscRecord struct {
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
	// LeafDrops is the sum of the leaf classes' drops of an htb or hfsc
	// root (null for other roots); LeafDropsDelta its increase.
	LeafDrops      *uint64 `json:"leaf_drops"`
	LeafDropsDelta *uint64 `json:"leaf_drops_delta"`
	// Classes are the root's classes (htb, hfsc), AQM the extended
	// statistics of its fq_codel, codel and fq qdiscs; empty when none.
	Classes []LinksClassRecord `json:"classes"`
	AQM     []LinksAQMRecord   `json:"aqm"`
}

// LinksClassRecord is one class of an htb or hfsc root.
type LinksClassRecord struct {
	Kind           string  `json:"kind"`
	Handle         string  `json:"handle"`
	Parent         string  `json:"parent"`
	Leaf           bool    `json:"leaf"`
	Bytes          uint64  `json:"bytes"`
	Packets        uint64  `json:"packets"`
	Drops          uint64  `json:"drops"`
	Overlimits     uint64  `json:"overlimits"`
	BacklogBytes   uint64  `json:"backlog_bytes"`
	BacklogPackets uint64  `json:"backlog_packets"`
	RateBps        *uint64 `json:"rate_bps"`
	CeilBps        *uint64 `json:"ceil_bps"`
	EstBps         *uint64 `json:"estimated_bps"`
}

// LinksAQMRecord is the extended statistics of one fq_codel, codel or fq
// qdisc.
type LinksAQMRecord struct {
	Kind           string  `json:"kind"`
	Handle         string  `json:"handle"`
	Parent         string  `json:"parent"`
	Drops          uint64  `json:"drops"`
	DropOverlimit  uint64  `json:"drop_overlimit"`
	DropOvermemory uint64  `json:"drop_overmemory"`
	ECNMarks       uint64  `json:"ecn_marks"`
	CEMarks        uint64  `json:"ce_marks"`
	NewFlows       *uint64 `json:"new_flows"`
	Flows          *uint64 `json:"flows"`
	BacklogBytes   uint64  `json:"backlog_bytes"`
	BacklogPackets uint64  `json:"backlog_packets"`
}

func classRecords(q *triage.QdiscStats) ([]LinksClassRecord, []LinksAQMRecord) {
	cs, as := []LinksClassRecord{}, []LinksAQMRecord{}
	for _, c := range q.Classes {
		cs = append(cs, LinksClassRecord{Kind: c.Kind, Handle: triage.FormatHandle(c.Handle), Parent: triage.FormatHandle(c.Parent), Leaf: c.Leaf,
			Bytes: c.Bytes, Packets: c.Packets, Drops: c.Drops, Overlimits: c.Overlimits, BacklogBytes: c.BacklogBytes, BacklogPackets: c.BacklogPackets,
			RateBps: nonZero(c.RateBps), CeilBps: nonZero(c.CeilBps), EstBps: nonZero(c.EstBps)})
	}
	for _, a := range q.AQM {
		as = append(as, LinksAQMRecord{Kind: a.Kind, Handle: triage.FormatHandle(a.Handle), Parent: triage.FormatHandle(a.Parent),
			Drops: a.Drops, DropOverlimit: a.DropOverlimit, DropOvermemory: a.DropOvermemory, ECNMarks: a.ECNMarks, CEMarks: a.CEMarks,
			NewFlows: a.NewFlows, Flows: a.Flows, BacklogBytes: a.BacklogBytes, BacklogPackets: a.BacklogPackets})
	}
	return cs, as
}

func ptr[T any](v T) *T { return &v }

func nonZero(v uint64) *uint64 {
	if v == 0 {
		return nil
	}
	return &v
}

func linksIfaceRecordOf(row triage.LinkRow, goneSince map[string]time.Time, sv stackView) LinksIfaceRecord {
	s, r := row.Sample, row.Rates
	c := s.Counters
	j := LinksIfaceRecord{
		Name: format.Sanitize(s.Name, 0), Index: s.Index, Kind: s.Kind, OperState: s.OperState,
		AdminUp: s.AdminUp, MTU: s.MTU, Gone: row.Gone, Note: r.Note,
		CapacitySource:  string(row.Capacity.Source),
		EthtoolSpeedBps: nonZero(s.EthtoolSpeedBps), SysfsSpeedBps: nonZero(s.SysfsSpeedBps),
		Addresses: []string{},
		RxBytes:   c.RxBytes, TxBytes: c.TxBytes, RxPackets: c.RxPackets, TxPackets: c.TxPackets,
		RxErrors: c.RxErrors, TxErrors: c.TxErrors, RxDropped: c.RxDropped, TxDropped: c.TxDropped,
		RxUtilization: row.RxUtilization, TxUtilization: row.TxUtilization,
	}
	if row.Gone {
		j.OperState = "gone"
		if t, ok := goneSince[s.Name]; ok {
			j.GoneSince = ptr(t.UTC().Format(time.RFC3339Nano))
		}
	}
	if row.Capacity.Known {
		j.CapacityBps = ptr(row.Capacity.Bps)
	}
	j.RxCapSource = string(row.RxCapacity.Source)
	if row.RxCapacity.Known {
		j.RxCapacityBps = ptr(row.RxCapacity.Bps)
	}
	for _, a := range s.Addrs {
		j.Addresses = append(j.Addresses, a.String())
	}
	if r.Valid {
		d := r.Delta
		j.RxBytesDelta, j.TxBytesDelta = ptr(d.RxBytes), ptr(d.TxBytes)
		j.RxPacketsDelta, j.TxPacketsDelta = ptr(d.RxPackets), ptr(d.TxPackets)
		j.RxBps, j.TxBps = ptr(r.RxBps), ptr(r.TxBps)
		j.RxPacketsPerS, j.TxPacketsPerS = ptr(r.RxPacketsPerSec), ptr(r.TxPacketsPerSec)
		j.RxErrorsPerS, j.TxErrorsPerS = ptr(r.RxErrorsPerSec), ptr(r.TxErrorsPerSec)
		j.RxDroppedPerS, j.TxDroppedPerS = ptr(r.RxDroppedPerSec), ptr(r.TxDroppedPerSec)
	}
	if q := s.Qdisc; q != nil && !row.Gone {
		jq := &LinksQdiscRecord{Kind: q.Kind, Children: q.Children, Bytes: q.Bytes, Packets: q.Packets,
			Drops: q.Drops, Overlimits: q.Overlimits, Requeues: q.Requeues,
			BacklogBytes: q.BacklogBytes, BacklogPackets: q.BacklogPackets, ShaperRateBps: nonZero(q.ShaperRateBps)}
		jq.Classes, jq.AQM = classRecords(q)
		if q.HasLeaves {
			jq.LeafDrops = ptr(q.LeafDrops)
		}
		if qr := r.Qdisc; r.Valid && qr != nil {
			if qr.HasLeaves {
				jq.LeafDropsDelta = ptr(qr.LeafDropsDelta)
			}
			jq.DropsDelta = ptr(qr.DropsDelta)
			jq.DropsPerS, jq.OverlimitsPerS, jq.RequeuesPerS = ptr(qr.DropsPerSec), ptr(qr.OverlimitsPerSec), ptr(qr.RequeuesPerSec)
			jq.SentBps = ptr(qr.SentBps)
		}
		j.Qdisc = jq
	}
	if !row.Gone {
		j.NIC, j.BQL = sv.iface(s.Name)
	}
	return j
}

// LinksWriter writes samples as a table, NDJSON or CSV.
// The CSV header comes once, before the first sample.
type LinksWriter struct {
	w       io.Writer
	format  string
	netns   string
	csv     *csv.Writer
	started bool
	enc     jsonEnc // the NDJSON line, its buffer reused
}

// NewLinksWriter returns a writer of samples to w in outFormat ("table",
// "json" or "csv"); netns is the --netns value the records name.
func NewLinksWriter(w io.Writer, outFormat, netns string) *LinksWriter {
	lw := &LinksWriter{w: w, format: outFormat, netns: netns}
	if outFormat == "csv" {
		lw.csv = csv.NewWriter(w)
	}
	return lw
}

// Flush writes out what the CSV writer holds.
func (lw *LinksWriter) Flush() {
	if lw.csv != nil {
		lw.csv.Flush()
	}
}

// Write writes the rows of one sample, in their order; goneSince has the
// time each gone row was first missing.
func (lw *LinksWriter) Write(s *triage.LinksSample, rows []triage.LinkRow, goneSince map[string]time.Time) error {
	interval := 0.0
	for _, r := range rows {
		if r.Rates.Interval > 0 {
			interval = r.Rates.Interval.Seconds()
			break
		}
	}
	sv := stackView{st: s.Stack}
	switch lw.format {
	case "json":
		out := LinksRecord{Seq: s.Seq, Time: s.Time.UTC().Format(time.RFC3339Nano), IntervalS: interval,
			Netns: format.Sanitize(lw.netns, 0), NetnsGone: s.NetnsGone != "", Interfaces: make([]LinksIfaceRecord, 0, len(rows)), Warnings: []string{},
			Stack: sv.record()}
		for _, r := range rows {
			out.Interfaces = append(out.Interfaces, linksIfaceRecordOf(r, goneSince, sv))
		}
		for _, w := range s.Warnings {
			out.Warnings = append(out.Warnings, format.Sanitize(w, 0))
		}
		lw.enc.reset()
		out.appendJSON(&lw.enc)
		if err := lw.enc.err; err != nil {
			return fmt.Errorf("links: encode json: %w", err)
		}
		lw.enc.b = append(lw.enc.b, '\n')
		_, err := lw.w.Write(lw.enc.b)
		return err
	case "csv":
		return lw.writeCSV(s, rows, sv)
	}
	return lw.writeTable(s, rows, interval, sv)
}

// LinksCSVHeader is the header line of links' CSV.
var LinksCSVHeader = append([]string{"time", "seq", "name", "oper_state", "capacity_bps", "capacity_source",
	"rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_errors", "tx_errors", "rx_dropped", "tx_dropped",
	"rx_bps", "tx_bps", "rx_utilization", "tx_utilization",
	"qdisc_kind", "qdisc_drops", "qdisc_backlog_bytes", "qdisc_overlimits", "qdisc_drops_per_s"}, linksStackCSV...)

func (lw *LinksWriter) writeCSV(s *triage.LinksSample, rows []triage.LinkRow, sv stackView) error {
	if !lw.started {
		lw.started = true
		if err := lw.csv.Write(LinksCSVHeader); err != nil {
			return err
		}
	}
	u := strconv.FormatUint
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	pf := func(p *float64) string {
		if p == nil {
			return ""
		}
		return f(*p)
	}
	ts, seq := s.Time.UTC().Format(time.RFC3339Nano), u(s.Seq, 10)
	for _, r := range rows {
		sm, rt, c := r.Sample, r.Rates, r.Sample.Counters
		state, capS, rx, tx := sm.OperState, "", "", ""
		if r.Gone {
			state = "gone"
		}
		if r.Capacity.Known {
			capS = u(r.Capacity.Bps, 10)
		}
		if rt.Valid {
			rx, tx = f(rt.RxBps), f(rt.TxBps)
		}
		rec := []string{ts, seq, format.Sanitize(sm.Name, 0), state, capS, string(r.Capacity.Source),
			u(c.RxBytes, 10), u(c.TxBytes, 10), u(c.RxPackets, 10), u(c.TxPackets, 10),
			u(c.RxErrors, 10), u(c.TxErrors, 10), u(c.RxDropped, 10), u(c.TxDropped, 10),
			rx, tx, pf(r.RxUtilization), pf(r.TxUtilization), "", "", "", "", ""}
		if q := sm.Qdisc; q != nil && !r.Gone {
			rec[18], rec[19], rec[20], rec[21] = q.Kind, u(q.Drops, 10), u(q.BacklogBytes, 10), u(q.Overlimits, 10)
			if rt.Valid && rt.Qdisc != nil {
				rec[22] = f(rt.Qdisc.DropsPerSec)
			}
		}
		if r.Gone {
			rec = append(rec, make([]string, len(linksStackCSV))...)
		} else {
			rec = append(rec, sv.csv(sm.Name)...)
		}
		if err := lw.csv.Write(rec); err != nil {
			return err
		}
	}
	lw.csv.Flush()
	return lw.csv.Error()
}

func (lw *LinksWriter) writeTable(s *triage.LinksSample, rows []triage.LinkRow, interval float64, sv stackView) error {
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
	if err := tw.Flush(); err != nil {
		return err
	}
	writeClassTable(tw, rows)
	sv.writeTable(tw, rows)
	for _, w := range s.Warnings {
		fmt.Fprintf(tw, "warning: %s\n", format.Sanitize(w, 200))
	}
	fmt.Fprintln(tw)
	return tw.Flush()
}

// writeClassTable writes the classes of htb and hfsc roots and the AQM
// qdiscs' statistics, when any interface has them.
func writeClassTable(w io.Writer, rows []triage.LinkRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	classes, aqm := false, false
	for _, r := range rows {
		if q := r.Sample.Qdisc; q != nil && !r.Gone {
			classes = classes || len(q.Classes) > 0
			aqm = aqm || len(q.AQM) > 0
		}
	}
	rate := func(v uint64) string {
		if v == 0 {
			return "-"
		}
		return format.Rate(float64(v)/8, format.Units{})
	}
	if classes {
		fmt.Fprintln(tw, "CLASS\tKIND\tPARENT\tRATE\tCEIL\tSENT\tPACKETS\tDROPS\tOVERLIMITS\tBACKLOG")
		for _, r := range rows {
			q := r.Sample.Qdisc
			if q == nil || r.Gone {
				continue
			}
			for _, c := range q.Classes {
				leaf := ""
				if c.Leaf {
					leaf = " (leaf)"
				}
				fmt.Fprintf(tw, "%s %s%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s / %d pkts\n", format.Sanitize(r.Sample.Name, 32), triage.FormatHandle(c.Handle), leaf,
					c.Kind, triage.FormatHandle(c.Parent), rate(c.RateBps), rate(c.CeilBps), format.Bytes(c.Bytes, false), c.Packets, c.Drops, c.Overlimits,
					format.Bytes(c.BacklogBytes, false), c.BacklogPackets)
			}
		}
	}
	if aqm {
		fmt.Fprintln(tw, "AQM\tKIND\tPARENT\tDROPS\tOVER LIMIT\tOVER MEMORY\tECN MARKS\tCE MARKS\tFLOWS\tBACKLOG")
		for _, r := range rows {
			q := r.Sample.Qdisc
			if q == nil || r.Gone {
				continue
			}
			for _, a := range q.AQM {
				flows := "-"
				switch {
				case a.NewFlows != nil:
					flows = strconv.FormatUint(*a.NewFlows, 10) + " new"
				case a.Flows != nil:
					flows = strconv.FormatUint(*a.Flows, 10)
				}
				fmt.Fprintf(tw, "%s %s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s / %d pkts\n", format.Sanitize(r.Sample.Name, 32), triage.FormatHandle(a.Handle),
					a.Kind, triage.FormatHandle(a.Parent), a.Drops, a.DropOverlimit, a.DropOvermemory, a.ECNMarks, a.CEMarks, flows,
					format.Bytes(a.BacklogBytes, false), a.BacklogPackets)
			}
		}
	}
	_ = tw.Flush()
}
