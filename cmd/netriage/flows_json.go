package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"netriage/sources/dns"
	"netriage/triage/flows"
	"netriage/views/format"
)

// flowsJSON is one NDJSON record of flows and replay (docs/json.md).
type flowsJSON struct {
	Time        time.Time   `json:"time"`
	Seq         uint64      `json:"seq"`
	Final       bool        `json:"final,omitempty"`
	Start       time.Time   `json:"start"`
	Aggregation string      `json:"aggregation"`
	Capture     captureJSON `json:"capture"`
	Totals      flowJSON    `json:"totals"`
	Other       flowJSON    `json:"other"`
	Flows       []flowJSON  `json:"flows"`
	Shown       int         `json:"flows_shown"`
	Total       int         `json:"flows_total"`
	Notes       []string    `json:"notes,omitempty"`
}

type captureJSON struct {
	Packets         uint64          `json:"packets"`
	Bytes           uint64          `json:"bytes"`
	LinkHeaderBytes uint64          `json:"link_header_bytes"`
	Drops           uint64          `json:"drops"`
	EvictedFlows    uint64          `json:"evicted_flows"`
	ExpiredFlows    uint64          `json:"expired_flows"`
	NonIP           uint64          `json:"non_ip"`
	Truncated       uint64          `json:"truncated"`
	Fragments       uint64          `json:"fragments"`
	Filter          string          `json:"filter"`
	LocalNet        string          `json:"local_net"`
	Interfaces      []captureIfJSON `json:"interfaces"`
	Warnings        []string        `json:"warnings,omitempty"`
}

type captureIfJSON struct {
	Name    string `json:"name"`
	Packets uint64 `json:"packets"`
	Drops   uint64 `json:"drops"`
	Error   string `json:"error"`
	Stopped bool   `json:"stopped"`
}

type rateJSON struct {
	SentBps float64 `json:"sent_bps"`
	RecvBps float64 `json:"recv_bps"`
}

type flowJSON struct {
	Proto       *string  `json:"proto"`
	LocalAddr   *string  `json:"local_addr"`
	LocalPort   *uint16  `json:"local_port"`
	RemoteAddr  *string  `json:"remote_addr"`
	RemotePort  *uint16  `json:"remote_port"`
	LocalName   string   `json:"local_name,omitempty"`
	RemoteName  string   `json:"remote_name,omitempty"`
	SentBytes   uint64   `json:"sent_bytes"`
	RecvBytes   uint64   `json:"recv_bytes"`
	SentPackets uint64   `json:"sent_packets"`
	RecvPackets uint64   `json:"recv_packets"`
	Rate2s      rateJSON `json:"rate_2s"`
	Rate10s     rateJSON `json:"rate_10s"`
	Rate40s     rateJSON `json:"rate_40s"`
	Peak40s     rateJSON `json:"peak_40s"`
	Flows       int      `json:"aggregated_flows,omitempty"`
}

func bpsOf(r flows.Rate) rateJSON {
	return rateJSON{SentBps: r.SentBytesPerSec * 8, RecvBps: r.RecvBytesPerSec * 8}
}

// flowJSONOf converts one flow; names (may be nil) gives remote names.
func flowJSONOf(f *flows.FlowStat, agg flows.Aggregation, names func(netip.Addr) string) flowJSON {
	j := flowJSON{
		SentBytes: f.SentBytes, RecvBytes: f.RecvBytes, SentPackets: f.SentPackets, RecvPackets: f.RecvPackets,
		Rate2s: bpsOf(f.Rates.R2), Rate10s: bpsOf(f.Rates.R10), Rate40s: bpsOf(f.Rates.R40), Peak40s: bpsOf(f.Rates.Peak),
		Flows: f.Flows,
	}
	k := f.Key
	portsKept := agg == flows.By5Tuple || agg == flows.ByHostPort
	if portsKept || k.Proto != 0 {
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
	if portsKept && k.Proto.HasPorts() {
		lp, rp := k.LocalPort, k.RemotePort
		j.LocalPort, j.RemotePort = &lp, &rp
	}
	return j
}

// flowsRecord builds the NDJSON record of a snapshot, with at most limit
// flows (0: all) in the snapshot's order.
func flowsRecord(s flows.Snapshot, names func(netip.Addr) string, limit int) flowsJSON {
	c := s.Capture
	rec := flowsJSON{
		Time: s.Time, Seq: s.Seq, Start: s.Start, Aggregation: s.Aggregation.String(),
		Capture: captureJSON{
			Packets: c.Packets, Bytes: c.Bytes, LinkHeaderBytes: c.LinkHeaderBytes, Drops: c.KernelDrops,
			EvictedFlows: c.EvictedFlows, ExpiredFlows: c.ExpiredFlows, NonIP: c.NonIP, Truncated: c.Truncated,
			Fragments: c.Fragments, Filter: format.Sanitize(c.Filter, 1000), LocalNet: c.LocalNet,
			Interfaces: []captureIfJSON{},
		},
		Totals: flowJSONOf(&s.Totals, flows.ByHostPair, nil),
		Other:  flowJSONOf(&s.Other, flows.ByHostPair, nil),
		Flows:  []flowJSON{},
		Total:  len(s.Flows),
	}
	for _, i := range c.Interfaces {
		rec.Capture.Interfaces = append(rec.Capture.Interfaces, captureIfJSON{Name: format.Sanitize(i.Name, 255), Packets: i.Packets, Drops: i.KernelDrops, Error: format.Sanitize(i.Err, 500), Stopped: i.Stopped})
	}
	for _, w := range c.Warnings {
		rec.Capture.Warnings = append(rec.Capture.Warnings, format.Sanitize(w, 500))
	}
	for i := range s.Flows {
		if limit > 0 && i >= limit {
			break
		}
		rec.Flows = append(rec.Flows, flowJSONOf(&s.Flows[i], s.Aggregation, names))
	}
	rec.Shown = len(rec.Flows)
	return rec
}

// flowsWriter writes snapshots as a table, NDJSON or CSV.
type flowsWriter struct {
	w       io.Writer
	format  string
	units   format.Units
	limit   int
	names   func(netip.Addr) string
	ports   func(flows.Proto, uint16) string
	csvHead bool
	enc     *json.Encoder // NDJSON, made on first use
}

func (fw *flowsWriter) write(s flows.Snapshot, final bool, notes []string) error {
	switch fw.format {
	case "json":
		rec := flowsRecord(s, fw.names, fw.limit)
		rec.Final = final
		rec.Notes = notes
		if fw.enc == nil {
			fw.enc = json.NewEncoder(fw.w)
		}
		return fw.enc.Encode(rec) // one line, newline-terminated
	case "csv":
		return fw.writeCSV(s)
	}
	return fw.writeTable(s, final, notes)
}

func (fw *flowsWriter) endpoint(a netip.Addr, proto flows.Proto, port uint16, withPort bool) string {
	if !a.IsValid() {
		return "*"
	}
	host := a.String()
	if fw.names != nil {
		if n := fw.names(a); n != "" {
			host = format.Sanitize(n, 40)
		}
	}
	if !withPort || !proto.HasPorts() {
		return host
	}
	p := strconv.Itoa(int(port))
	if fw.ports != nil {
		p = fw.ports(proto, port)
	}
	if a.Is6() && fw.names == nil {
		return "[" + host + "]:" + p
	}
	return host + ":" + p
}

func (fw *flowsWriter) writeTable(s flows.Snapshot, final bool, notes []string) error {
	withPorts := s.Aggregation == flows.By5Tuple || s.Aggregation == flows.ByHostPort
	title := "flows"
	if final {
		title = "final totals"
	}
	c := s.Capture
	fmt.Fprintf(fw.w, "%s  %s (%s)  capture: %d packets, %d kernel drops, %d evicted flows, %d non-IP, %d truncated\n",
		s.Time.Format("15:04:05"), title, s.Aggregation, c.Packets, c.KernelDrops, c.EvictedFlows, c.NonIP, c.Truncated)
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
			return format.Rate(r.SentBytesPerSec, fw.units)
		}
		return format.Rate(r.RecvBytesPerSec, fw.units)
	}
	for i := range s.Flows {
		if fw.limit > 0 && i >= fw.limit {
			fmt.Fprintf(tw, "(%d more)\t\t\t\t\t\t\t\n", len(s.Flows)-fw.limit)
			break
		}
		f := &s.Flows[i]
		proto := "*"
		if withPorts || f.Key.Proto != 0 {
			proto = f.Key.Proto.String()
		}
		l := fw.endpoint(f.Key.Local, f.Key.Proto, f.Key.LocalPort, withPorts)
		r := fw.endpoint(f.Key.Remote, f.Key.Proto, f.Key.RemotePort, withPorts)
		fmt.Fprintf(tw, "%s\t%s\t=>\t%s\t%s\t%s\t%s\t%s\n", proto, l, r, rate(f.Rates.R2, true), rate(f.Rates.R10, true), rate(f.Rates.R40, true), format.Bytes(f.SentBytes, fw.units.IEC))
		fmt.Fprintf(tw, "\t\t<=\t\t%s\t%s\t%s\t%s\n", rate(f.Rates.R2, false), rate(f.Rates.R10, false), rate(f.Rates.R40, false), format.Bytes(f.RecvBytes, fw.units.IEC))
	}
	t := &s.Totals
	fmt.Fprintf(tw, "TOTAL\tsent\t\t\t%s\t%s\t%s\t%s\n", rate(t.Rates.R2, true), rate(t.Rates.R10, true), rate(t.Rates.R40, true), format.Bytes(t.SentBytes, fw.units.IEC))
	fmt.Fprintf(tw, "\treceived\t\t\t%s\t%s\t%s\t%s\n", rate(t.Rates.R2, false), rate(t.Rates.R10, false), rate(t.Rates.R40, false), format.Bytes(t.RecvBytes, fw.units.IEC))
	fmt.Fprintf(tw, "\tpeak\t\t\tsent %s\treceived %s\t\t\n", rate(t.Rates.Peak, true), rate(t.Rates.Peak, false))
	if o := &s.Other; o.Bytes() > 0 {
		fmt.Fprintf(tw, "OTHER\tevicted/expired\t\t\t%s\t%s\t%s\t%s\n", rate(o.Rates.R2, true), rate(o.Rates.R10, true), rate(o.Rates.R40, true), format.Bytes(o.Bytes(), fw.units.IEC))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(fw.w)
	return err
}

var flowsCSVHeader = []string{"time", "proto", "local_addr", "local_port", "remote_addr", "remote_port", "sent_bytes", "recv_bytes", "sent_packets", "recv_packets",
	"sent_bps_2s", "recv_bps_2s", "sent_bps_10s", "recv_bps_10s", "sent_bps_40s", "recv_bps_40s"}

func (fw *flowsWriter) writeCSV(s flows.Snapshot) error {
	cw := csv.NewWriter(fw.w)
	if !fw.csvHead {
		fw.csvHead = true
		if err := cw.Write(flowsCSVHeader); err != nil {
			return err
		}
	}
	f64 := func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
	u64 := func(v uint64) string { return strconv.FormatUint(v, 10) }
	for i := range s.Flows {
		if fw.limit > 0 && i >= fw.limit {
			break
		}
		j := flowJSONOf(&s.Flows[i], s.Aggregation, nil)
		str := func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		}
		port := func(p *uint16) string {
			if p == nil {
				return ""
			}
			return strconv.Itoa(int(*p))
		}
		rec := []string{s.Time.UTC().Format(time.RFC3339Nano), str(j.Proto), str(j.LocalAddr), port(j.LocalPort), str(j.RemoteAddr), port(j.RemotePort),
			u64(j.SentBytes), u64(j.RecvBytes), u64(j.SentPackets), u64(j.RecvPackets),
			f64(j.Rate2s.SentBps), f64(j.Rate2s.RecvBps), f64(j.Rate10s.SentBps), f64(j.Rate10s.RecvBps), f64(j.Rate40s.SentBps), f64(j.Rate40s.RecvBps)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// servicePorts is the port-name table of -N's opposite: the built-in
// table overlaid with /etc/services, loaded on first use.
var servicePorts = sync.OnceValue(func() *dns.Ports {
	p, _ := dns.LoadPorts(dns.DefaultServicesPath) // on error: the built-in table
	return p
})

// serviceName is a port's service name, "" when it has none.
func serviceName(proto flows.Proto, p uint16) string {
	return servicePorts().Name(uint8(proto), p)
}

// portName labels a port with its service name, or its number.
func portName(proto flows.Proto, p uint16) string {
	return servicePorts().Label(uint8(proto), p)
}

// parseAggregation maps --aggregate values (and -P) to an aggregation.
func parseAggregation(s string, ports bool) (flows.Aggregation, error) {
	switch strings.ToLower(s) {
	case "", "hosts", "pairs":
		if ports {
			return flows.ByHostPort, nil
		}
		return flows.ByHostPair, nil
	case "ports":
		return flows.ByHostPort, nil
	case "5tuple", "flows":
		return flows.By5Tuple, nil
	case "source", "s", "src":
		return flows.BySource, nil
	case "destination", "d", "dst":
		return flows.ByDestination, nil
	}
	return 0, usageErrorf("--aggregate %q: use hosts, ports, 5tuple, source or destination", s)
}
