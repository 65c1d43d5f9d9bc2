package output

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"text/tabwriter"
	"time"

	"netriage/triage"
	"netriage/triage/flows"
	"netriage/views/format"
)

// FlowsRecord is one NDJSON record of flows and replay (docs/json.md,
// section "Flows and replay").
type FlowsRecord struct {
	Time        time.Time `json:"time"`
	Seq         uint64    `json:"seq"`
	Final       bool      `json:"final,omitempty"`
	Start       time.Time `json:"start"`
	Aggregation string    `json:"aggregation"`
	// RateSeconds are the seconds the 2 s, 10 s and 40 s rates average
	// over: shorter while the run (or the file) is younger than a window.
	RateSeconds RateSecondsRecord `json:"rate_seconds"`
	Capture     CaptureRecord     `json:"capture"`
	Self        *SelfRecord       `json:"self,omitempty"`
	Totals      FlowRecord        `json:"totals"`
	Other       FlowRecord        `json:"other"`
	Flows       []FlowRecord      `json:"flows"`
	Shown       int               `json:"flows_shown"`
	Total       int               `json:"flows_total"`
	Notes       []string          `json:"notes,omitempty"`
}

// SelfRecord is what netriage itself costs at a record of a live run:
// the CPUs' worth of time it used since the step before (1 is one whole
// CPU, more is more than one; null when that step could not read it) and
// its resident memory, now and at its peak.
type SelfRecord struct {
	CPUCores *float64 `json:"cpu_cores"`
	RSS      uint64   `json:"rss_bytes"`
	PeakRSS  uint64   `json:"peak_rss_bytes"`
}

// selfRecordOf is the record of a step's own cost (nil for none).
func selfRecordOf(c *triage.SelfStep) *SelfRecord {
	if c == nil {
		return nil
	}
	r := &SelfRecord{RSS: c.RSS, PeakRSS: c.PeakRSS}
	if c.HasCPU {
		v := math.Round(c.CPU*1e4) / 1e4
		r.CPUCores = &v
	}
	return r
}

// RateSecondsRecord says over how many seconds each rate is a mean.
type RateSecondsRecord struct {
	W2s  int `json:"2s"`
	W10s int `json:"10s"`
	W40s int `json:"40s"`
}

// rateSecondsOf fills the full windows where the snapshot says nothing.
func rateSecondsOf(rs [3]int) RateSecondsRecord {
	for i, w := range [3]int{2, 10, 40} {
		if rs[i] == 0 {
			rs[i] = w
		}
	}
	return RateSecondsRecord{rs[0], rs[1], rs[2]}
}

// CaptureRecord is the capture's health in a FlowsRecord.
type CaptureRecord struct {
	Packets         uint64            `json:"packets"`
	Bytes           uint64            `json:"bytes"`
	LinkHeaderBytes uint64            `json:"link_header_bytes"`
	Drops           uint64            `json:"drops"`
	EvictedFlows    uint64            `json:"evicted_flows"`
	ExpiredFlows    uint64            `json:"expired_flows"`
	NonIP           uint64            `json:"non_ip"`
	Truncated       uint64            `json:"truncated"`
	Fragments       uint64            `json:"fragments"`
	Filter          string            `json:"filter"`
	LocalNet        string            `json:"local_net"`
	Interfaces      []CaptureIfRecord `json:"interfaces"`
	Warnings        []string          `json:"warnings,omitempty"`
}

// CaptureIfRecord is one capture interface in a CaptureRecord.
type CaptureIfRecord struct {
	Name    string `json:"name"`
	Packets uint64 `json:"packets"`
	Drops   uint64 `json:"drops"`
	Error   string `json:"error"`
	Stopped bool   `json:"stopped"`
	// RingBytes is the size of the interface's capture rings now (absent
	// for a file); RingGrownAt, present once a ring that started small
	// grew, is the capture time of the load that made it grow last.
	RingBytes   uint64     `json:"ring_bytes,omitempty"`
	RingGrownAt *time.Time `json:"ring_grown_at,omitempty"`
}

// BpsRecord is a sent/received rate pair in bits per second.
type BpsRecord struct {
	SentBps float64 `json:"sent_bps"`
	RecvBps float64 `json:"recv_bps"`
}

// FlowRecord is one flow (or the totals, or the evicted bucket) of a
// FlowsRecord. A field the aggregation dropped is null.
type FlowRecord struct {
	Proto       *string   `json:"proto"`
	LocalAddr   *string   `json:"local_addr"`
	LocalPort   *uint16   `json:"local_port"`
	RemoteAddr  *string   `json:"remote_addr"`
	RemotePort  *uint16   `json:"remote_port"`
	LocalName   string    `json:"local_name,omitempty"`
	RemoteName  string    `json:"remote_name,omitempty"`
	SentBytes   uint64    `json:"sent_bytes"`
	RecvBytes   uint64    `json:"recv_bytes"`
	SentPackets uint64    `json:"sent_packets"`
	RecvPackets uint64    `json:"recv_packets"`
	Rate2s      BpsRecord `json:"rate_2s"`
	Rate10s     BpsRecord `json:"rate_10s"`
	Rate40s     BpsRecord `json:"rate_40s"`
	Peak40s     BpsRecord `json:"peak_40s"`
	Flows       int       `json:"aggregated_flows,omitempty"`
}

func bpsOf(r flows.Rate) BpsRecord {
	return BpsRecord{SentBps: r.SentBytesPerSec * 8, RecvBps: r.RecvBytesPerSec * 8}
}

// portsKept reports whether an aggregation keeps the ports of its keys.
func portsKept(agg flows.Aggregation) bool {
	return agg == flows.By5Tuple || agg == flows.ByHostPort
}

// flowRecordOf converts one flow; names (may be nil) gives the names of
// addresses.
func flowRecordOf(f *flows.FlowStat, agg flows.Aggregation, names func(netip.Addr) string) FlowRecord {
	j := FlowRecord{
		SentBytes: f.SentBytes, RecvBytes: f.RecvBytes, SentPackets: f.SentPackets, RecvPackets: f.RecvPackets,
		Rate2s: bpsOf(f.Rates.R2), Rate10s: bpsOf(f.Rates.R10), Rate40s: bpsOf(f.Rates.R40), Peak40s: bpsOf(f.Rates.Peak),
		Flows: f.Flows,
	}
	k := f.Key
	if portsKept(agg) || k.Proto != 0 {
		p := k.Proto.String()
		j.Proto = &p
	}
	if k.Local.IsValid() {
		s := k.Local.String()
		j.LocalAddr = &s
		if names != nil {
			j.LocalName = format.Sanitize(names(k.Local), 255)
		}
	}
	if k.Remote.IsValid() {
		s := k.Remote.String()
		j.RemoteAddr = &s
		if names != nil {
			j.RemoteName = format.Sanitize(names(k.Remote), 255)
		}
	}
	if portsKept(agg) && k.Proto.HasPorts() {
		lp, rp := k.LocalPort, k.RemotePort
		j.LocalPort, j.RemotePort = &lp, &rp
	}
	return j
}

// FlowsRecordOf builds the NDJSON record of a snapshot, with at most limit
// flows (0: all) in the snapshot's order; names (may be nil) names
// addresses.
func FlowsRecordOf(s flows.Snapshot, names func(netip.Addr) string, limit int) FlowsRecord {
	return flowsRecordOf(s, len(s.Flows)+s.Omitted, names, limit)
}

// flowsRecordOf is FlowsRecordOf of the first flows of a snapshot of total.
func flowsRecordOf(s flows.Snapshot, total int, names func(netip.Addr) string, limit int) FlowsRecord {
	c := s.Capture
	rec := FlowsRecord{
		Time: s.Time, Seq: s.Seq, Start: s.Start, Aggregation: s.Aggregation.String(),
		RateSeconds: rateSecondsOf(s.RateSeconds),
		Capture: CaptureRecord{
			Packets: c.Packets, Bytes: c.Bytes, LinkHeaderBytes: c.LinkHeaderBytes, Drops: c.KernelDrops,
			EvictedFlows: c.EvictedFlows, ExpiredFlows: c.ExpiredFlows, NonIP: c.NonIP, Truncated: c.Truncated,
			Fragments: c.Fragments, Filter: format.Sanitize(c.Filter, 1000), LocalNet: c.LocalNet,
			Interfaces: []CaptureIfRecord{},
		},
		Totals: flowRecordOf(&s.Totals, flows.ByHostPair, nil),
		Other:  flowRecordOf(&s.Other, flows.ByHostPair, nil),
		Flows:  []FlowRecord{},
		Total:  total,
	}
	for _, i := range c.Interfaces {
		ir := CaptureIfRecord{Name: format.Sanitize(i.Name, 255), Packets: i.Packets, Drops: i.KernelDrops, Error: format.Sanitize(i.Err, 500), Stopped: i.Stopped, RingBytes: i.RingBytes}
		if !i.GrewAt.IsZero() {
			at := i.GrewAt.UTC()
			ir.RingGrownAt = &at
		}
		rec.Capture.Interfaces = append(rec.Capture.Interfaces, ir)
	}
	for _, w := range c.Warnings {
		rec.Capture.Warnings = append(rec.Capture.Warnings, format.Sanitize(w, 500))
	}
	for i := range s.Flows {
		if limit > 0 && i >= limit {
			break
		}
		rec.Flows = append(rec.Flows, flowRecordOf(&s.Flows[i], s.Aggregation, names))
	}
	rec.Shown = len(rec.Flows)
	return rec
}

// FlowsOptions configures a FlowsWriter.
type FlowsOptions struct {
	// Format is "table" (the default), "json" (NDJSON) or "csv".
	Format string
	// Units of the table's rates and sizes.
	Units format.Units
	// Limit caps the flows of each record (0: all).
	Limit int
	// Names names addresses (reverse DNS); nil shows addresses.
	Names func(netip.Addr) string
	// Ports labels ports in the table (service names); nil shows numbers.
	Ports func(flows.Proto, uint16) string
}

// FlowsWriter writes flow snapshots as a table, NDJSON or CSV. The CSV
// header comes once, before the first record.
type FlowsWriter struct {
	w       io.Writer
	o       FlowsOptions
	csvHead bool
	enc     *json.Encoder // NDJSON, made on first use
	self    *triage.SelfStep
}

// SetSelf sets what netriage itself costs, which the next records carry
// (the JSON record's "self", the table's first line); nil for none.
func (fw *FlowsWriter) SetSelf(c *triage.SelfStep) { fw.self = c }

// NewFlowsWriter returns a writer of snapshots to w.
func NewFlowsWriter(w io.Writer, o FlowsOptions) *FlowsWriter {
	return &FlowsWriter{w: w, o: o}
}

// Write writes one snapshot, in its order. final marks replay's last
// record (the cumulative totals); notes are shown with it.
func (fw *FlowsWriter) Write(s flows.Snapshot, final bool, notes []string) error {
	return fw.write(s, len(s.Flows)+s.Omitted, final, notes)
}

// WriteTop writes one snapshot with its flows in Sort's order by k, as
// Write does a sorted one: it copies the first Limit flows, not all of
// them, and changes nothing of s (a shared snapshot). s may be a top-n
// snapshot already (its Omitted flows count in the total).
func (fw *FlowsWriter) WriteTop(s flows.Snapshot, k flows.SortKey, final bool, notes []string) error {
	total := len(s.Flows) + s.Omitted
	s.Flows = flows.Top(s.Flows, k, fw.o.Limit)
	return fw.write(s, total, final, notes)
}

// write writes s, whose Flows are the first of total.
func (fw *FlowsWriter) write(s flows.Snapshot, total int, final bool, notes []string) error {
	switch fw.o.Format {
	case "json":
		rec := flowsRecordOf(s, total, fw.o.Names, fw.o.Limit)
		rec.Final, rec.Self = final, selfRecordOf(fw.self)
		for _, n := range notes {
			rec.Notes = append(rec.Notes, format.Sanitize(n, 0))
		}
		if fw.enc == nil {
			fw.enc = json.NewEncoder(fw.w)
		}
		return fw.enc.Encode(rec) // one line, newline-terminated
	case "csv":
		return fw.writeCSV(s)
	}
	return fw.writeTable(s, total, final, notes)
}

func (fw *FlowsWriter) endpoint(a netip.Addr, proto flows.Proto, port uint16, withPort bool) string {
	if !a.IsValid() {
		return "*"
	}
	host := a.String()
	if fw.o.Names != nil {
		if n := fw.o.Names(a); n != "" {
			host = format.Sanitize(n, 40)
		}
	}
	if !withPort || !proto.HasPorts() {
		return host
	}
	p := strconv.Itoa(int(port))
	if fw.o.Ports != nil {
		p = format.Sanitize(fw.o.Ports(proto, port), 40)
	}
	if a.Is6() && fw.o.Names == nil {
		return "[" + host + "]:" + p
	}
	return host + ":" + p
}

func (fw *FlowsWriter) writeTable(s flows.Snapshot, total int, final bool, notes []string) error {
	withPorts := portsKept(s.Aggregation)
	units := fw.o.Units
	title := "flows"
	if final {
		title = "final totals"
	}
	c := s.Capture
	self := ""
	if c := fw.self; c != nil {
		cpu := ""
		if c.HasCPU {
			cpu = format.CPU(c.CPU) + " CPU, "
		}
		self = "  netriage: " + cpu + format.Bytes(c.RSS, units.IEC) + " resident"
	}
	fmt.Fprintf(fw.w, "%s  %s (%s)  capture: %d packets, %d kernel drops, %d evicted flows, %d non-IP, %d truncated%s\n",
		s.Time.Format("15:04:05"), title, s.Aggregation, c.Packets, c.KernelDrops, c.EvictedFlows, c.NonIP, c.Truncated, self)
	for _, i := range c.Interfaces {
		if i.Err != "" {
			fmt.Fprintf(fw.w, "  %s: %s\n", format.Sanitize(i.Name, 40), format.Sanitize(i.Err, 200))
		}
	}
	for _, w := range c.Warnings {
		fmt.Fprintf(fw.w, "  warning: %s\n", format.Sanitize(w, 300))
	}
	for _, n := range notes {
		fmt.Fprintf(fw.w, "  note: %s\n", format.Sanitize(n, 300))
	}
	tw := tabwriter.NewWriter(fw.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROTO\tLOCAL\t\tREMOTE\t2s\t10s\t40s\tCUMULATIVE")
	rate := func(r flows.Rate, sent bool) string {
		if sent {
			return format.Rate(r.SentBytesPerSec, units)
		}
		return format.Rate(r.RecvBytesPerSec, units)
	}
	for i := range s.Flows {
		if fw.o.Limit > 0 && i >= fw.o.Limit {
			break
		}
		f := &s.Flows[i]
		proto := "*"
		if withPorts || f.Key.Proto != 0 {
			proto = f.Key.Proto.String()
		}
		l := fw.endpoint(f.Key.Local, f.Key.Proto, f.Key.LocalPort, withPorts)
		r := fw.endpoint(f.Key.Remote, f.Key.Proto, f.Key.RemotePort, withPorts)
		fmt.Fprintf(tw, "%s\t%s\t=>\t%s\t%s\t%s\t%s\t%s\n", proto, l, r, rate(f.Rates.R2, true), rate(f.Rates.R10, true), rate(f.Rates.R40, true), format.Bytes(f.SentBytes, units.IEC))
		fmt.Fprintf(tw, "\t\t<=\t\t%s\t%s\t%s\t%s\n", rate(f.Rates.R2, false), rate(f.Rates.R10, false), rate(f.Rates.R40, false), format.Bytes(f.RecvBytes, units.IEC))
	}
	if fw.o.Limit > 0 && total > fw.o.Limit {
		fmt.Fprintf(tw, "(%d more)\t\t\t\t\t\t\t\n", total-fw.o.Limit)
	}
	t := &s.Totals
	fmt.Fprintf(tw, "TOTAL\tsent\t\t\t%s\t%s\t%s\t%s\n", rate(t.Rates.R2, true), rate(t.Rates.R10, true), rate(t.Rates.R40, true), format.Bytes(t.SentBytes, units.IEC))
	fmt.Fprintf(tw, "\treceived\t\t\t%s\t%s\t%s\t%s\n", rate(t.Rates.R2, false), rate(t.Rates.R10, false), rate(t.Rates.R40, false), format.Bytes(t.RecvBytes, units.IEC))
	fmt.Fprintf(tw, "\tpeak\t\t\tsent %s\treceived %s\t\t\n", rate(t.Rates.Peak, true), rate(t.Rates.Peak, false))
	if o := &s.Other; o.Bytes() > 0 {
		fmt.Fprintf(tw, "OTHER\tevicted/expired\t\t\t%s\t%s\t%s\t%s\n", rate(o.Rates.R2, true), rate(o.Rates.R10, true), rate(o.Rates.R40, true), format.Bytes(o.Bytes(), units.IEC))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(fw.w)
	return err
}

// FlowsCSVHeader is the header line of flows' and replay's CSV.
var FlowsCSVHeader = []string{"time", "proto", "local_addr", "local_port", "remote_addr", "remote_port", "sent_bytes", "recv_bytes", "sent_packets", "recv_packets",
	"sent_bps_2s", "recv_bps_2s", "sent_bps_10s", "recv_bps_10s", "sent_bps_40s", "recv_bps_40s"}

// csvBps formats a rate in bytes per second as whole bits per second.
func csvBps(bytesPerSec float64) string { return strconv.FormatFloat(bytesPerSec*8, 'f', 0, 64) }

func (fw *FlowsWriter) writeCSV(s flows.Snapshot) error {
	cw := csv.NewWriter(fw.w)
	if !fw.csvHead {
		fw.csvHead = true
		if err := cw.Write(FlowsCSVHeader); err != nil {
			return err
		}
	}
	u64 := func(v uint64) string { return strconv.FormatUint(v, 10) }
	addr := func(a netip.Addr) string {
		if !a.IsValid() {
			return ""
		}
		return a.String()
	}
	ts := s.Time.UTC().Format(time.RFC3339Nano)
	kept := portsKept(s.Aggregation)
	for i := range s.Flows {
		if fw.o.Limit > 0 && i >= fw.o.Limit {
			break
		}
		f := &s.Flows[i]
		k := f.Key
		proto, lport, rport := "", "", ""
		if kept || k.Proto != 0 {
			proto = k.Proto.String()
		}
		if kept && k.Proto.HasPorts() {
			lport, rport = strconv.Itoa(int(k.LocalPort)), strconv.Itoa(int(k.RemotePort))
		}
		r := &f.Rates
		rec := []string{ts, proto, addr(k.Local), lport, addr(k.Remote), rport,
			u64(f.SentBytes), u64(f.RecvBytes), u64(f.SentPackets), u64(f.RecvPackets),
			csvBps(r.R2.SentBytesPerSec), csvBps(r.R2.RecvBytesPerSec), csvBps(r.R10.SentBytesPerSec), csvBps(r.R10.RecvBytesPerSec),
			csvBps(r.R40.SentBytesPerSec), csvBps(r.R40.RecvBytesPerSec)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
