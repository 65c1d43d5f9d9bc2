package output

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"netriage/triage"
	"netriage/views/format"
)

// LinksCounter is one stack counter of a links record: its value and its
// rate over the interval (null on the first sample or when the interval
// had no valid pair).
type LinksCounter struct {
	Value uint64   `json:"value"`
	PerS  *float64 `json:"per_s"`
}

// LinksStackRecord is the namespace's stack counters in a links record
// (docs/json.md, section "Stack").
type LinksStackRecord struct {
	Softnet       *LinksSoftnetRecord   `json:"softnet"`
	TCP           *LinksTCPRecord       `json:"tcp"`
	UDP           *LinksUDPRecord       `json:"udp"`
	IP            *LinksIPRecord        `json:"ip"`
	EndpointDrops *LinksCounter         `json:"endpoint_drops"`
	Conntrack     *LinksConntrackRecord `json:"conntrack"`
	Absent        []string              `json:"absent"`
	Errors        []string              `json:"errors"`
}

// LinksSoftnetRecord is the softirq backlog: every CPU, and the sums.
type LinksSoftnetRecord struct {
	Dropped     LinksCounter         `json:"dropped"`
	TimeSqueeze LinksCounter         `json:"time_squeeze"`
	FlowLimit   LinksCounter         `json:"flow_limit"`
	CPUs        []LinksSoftnetCPURow `json:"cpus"`
}

// LinksSoftnetCPURow is one CPU's row of softnet_stat.
type LinksSoftnetCPURow struct {
	CPU         int          `json:"cpu"`
	Processed   LinksCounter `json:"processed"`
	Dropped     LinksCounter `json:"dropped"`
	TimeSqueeze LinksCounter `json:"time_squeeze"`
	FlowLimit   LinksCounter `json:"flow_limit"`
	BacklogLen  uint64       `json:"backlog_len"`
}

// LinksTCPRecord are the namespace's TCP counters of loss.
type LinksTCPRecord struct {
	RetransSegs     LinksCounter `json:"retrans_segs"`
	Timeouts        LinksCounter `json:"timeouts"`
	ListenOverflows LinksCounter `json:"listen_overflows"`
	ListenDrops     LinksCounter `json:"listen_drops"`
	BacklogDrops    LinksCounter `json:"backlog_drops"`
}

// LinksUDPRecord are the namespace's UDP counters of loss, IPv4 and IPv6
// together.
type LinksUDPRecord struct {
	RcvbufErrors LinksCounter `json:"rcvbuf_errors"`
	SndbufErrors LinksCounter `json:"sndbuf_errors"`
	InErrors     LinksCounter `json:"in_errors"`
}

// LinksIPRecord are the input discards, IPv4 and IPv6 together.
type LinksIPRecord struct {
	InDiscards LinksCounter `json:"in_discards"`
}

// LinksConntrackRecord is the conntrack table.
type LinksConntrackRecord struct {
	Count uint64   `json:"count"`
	Max   uint64   `json:"max"`
	Fill  *float64 `json:"fill"`
	// InsertFailed, Drop and EarlyDrop are null without the per-CPU
	// statistics.
	InsertFailed *LinksCounter `json:"insert_failed"`
	Drop         *LinksCounter `json:"drop"`
	EarlyDrop    *LinksCounter `json:"early_drop"`
}

// LinksNICRecord is an interface's driver statistics in a links record.
type LinksNICRecord struct {
	Driver string `json:"driver"`
	// Counters is how many statistics the driver has.
	Counters int `json:"counters"`
	// LostPerS is the packets its loss counters lost per second (the
	// larger of the per-queue and device-wide sums).
	LostPerS *float64 `json:"lost_per_s"`
	// Loss are the loss and pause counters by the driver's own names.
	Loss []LinksNICCounter `json:"loss"`
	Note string            `json:"note"`
}

// LinksNICCounter is one driver counter.
type LinksNICCounter struct {
	Name  string   `json:"name"`
	Class string   `json:"class"`
	Value uint64   `json:"value"`
	PerS  *float64 `json:"per_s"`
}

// LinksBQLRecord is an interface's byte queue limits.
type LinksBQLRecord struct {
	Queues []LinksBQLQueue `json:"queues"`
	Note   string          `json:"note"`
}

// LinksBQLQueue is one transmit queue's byte queue limits.
type LinksBQLQueue struct {
	Queue         int    `json:"queue"`
	InflightBytes uint64 `json:"inflight_bytes"`
	LimitBytes    uint64 `json:"limit_bytes"`
}

// stackView is a sample's stack step with lookups by interface.
type stackView struct {
	st *triage.StackStep
}

func (v stackView) rate(delta uint64) *float64 {
	if v.st == nil || !v.st.Rates.Valid {
		return nil
	}
	return ptr(v.st.Rates.PerSec(delta))
}

func (v stackView) counter(value, delta uint64) LinksCounter {
	return LinksCounter{Value: value, PerS: v.rate(delta)}
}

func (v stackView) nicRates(name string) (triage.NICRates, bool) {
	for _, n := range v.st.Rates.Ifaces {
		if n.Name == name {
			return n, n.Valid
		}
	}
	return triage.NICRates{}, false
}

// record is the namespace part of a links record; nil without a stack.
func (v stackView) record() *LinksStackRecord {
	if v.st == nil {
		return nil
	}
	s, r := &v.st.Sample, &v.st.Rates
	out := &LinksStackRecord{Absent: sanitizeList(s.Absent), Errors: sanitizeList(s.Errors)}
	if len(s.Softnet) > 0 {
		deltas := map[int]triage.SoftnetDelta{}
		for _, d := range r.Softnet {
			deltas[d.CPU] = d
		}
		t := r.SoftnetTotal
		var sum triage.SoftnetCPU
		sr := &LinksSoftnetRecord{CPUs: make([]LinksSoftnetCPURow, 0, len(s.Softnet))}
		for _, c := range s.Softnet {
			d, ok := deltas[c.CPU]
			row := LinksSoftnetCPURow{CPU: c.CPU, BacklogLen: c.BacklogLen,
				Processed: LinksCounter{Value: c.Processed}, Dropped: LinksCounter{Value: c.Dropped},
				TimeSqueeze: LinksCounter{Value: c.TimeSqueeze}, FlowLimit: LinksCounter{Value: c.FlowLimitCount}}
			if ok {
				row.Processed.PerS, row.Dropped.PerS = v.rate(d.Processed), v.rate(d.Dropped)
				row.TimeSqueeze.PerS, row.FlowLimit.PerS = v.rate(d.TimeSqueeze), v.rate(d.FlowLimit)
			}
			sr.CPUs = append(sr.CPUs, row)
			sum.Dropped += c.Dropped
			sum.TimeSqueeze += c.TimeSqueeze
			sum.FlowLimitCount += c.FlowLimitCount
		}
		sr.Dropped, sr.TimeSqueeze, sr.FlowLimit = v.counter(sum.Dropped, t.Dropped), v.counter(sum.TimeSqueeze, t.TimeSqueeze), v.counter(sum.FlowLimitCount, t.FlowLimit)
		out.Softnet = sr
	}
	if p := s.Proto; p != nil {
		d := triage.ProtoCounters{}
		if r.Proto != nil {
			d = *r.Proto
		}
		c := func(val, delta uint64) LinksCounter {
			lc := LinksCounter{Value: val}
			if r.Proto != nil {
				lc.PerS = v.rate(delta)
			}
			return lc
		}
		out.TCP = &LinksTCPRecord{RetransSegs: c(p.TCPRetransSegs, d.TCPRetransSegs), Timeouts: c(p.TCPTimeouts, d.TCPTimeouts),
			ListenOverflows: c(p.ListenOverflows, d.ListenOverflows), ListenDrops: c(p.ListenDrops, d.ListenDrops), BacklogDrops: c(p.TCPBacklogDrop, d.TCPBacklogDrop)}
		out.UDP = &LinksUDPRecord{RcvbufErrors: c(p.UDPRcvbufErrors+p.UDP6RcvbufErrors, d.UDPRcvbufErrors+d.UDP6RcvbufErrors),
			SndbufErrors: c(p.UDPSndbufErrors+p.UDP6SndbufErrors, d.UDPSndbufErrors+d.UDP6SndbufErrors),
			InErrors:     c(p.UDPInErrors+p.UDP6InErrors, d.UDPInErrors+d.UDP6InErrors)}
		out.IP = &LinksIPRecord{InDiscards: c(p.IPInDiscards+p.IP6InDiscards, d.IPInDiscards+d.IP6InDiscards)}
		ed := c(p.EndpointDrops(), d.EndpointDrops())
		out.EndpointDrops = &ed
	}
	if ct := s.Conntrack; ct != nil {
		cr := &LinksConntrackRecord{Count: ct.Count, Max: ct.Max}
		if ct.Max > 0 {
			cr.Fill = ptr(ct.Fill())
		}
		if ct.NoStats == "" {
			var d triage.ConntrackSample
			ok := r.Conntrack != nil
			if ok {
				d = *r.Conntrack
			}
			c := func(val, delta uint64) *LinksCounter {
				lc := LinksCounter{Value: val}
				if ok {
					lc.PerS = v.rate(delta)
				}
				return &lc
			}
			cr.InsertFailed, cr.Drop, cr.EarlyDrop = c(ct.InsertFailed, d.InsertFailed), c(ct.Drop, d.Drop), c(ct.EarlyDrop, d.EarlyDrop)
		}
		out.Conntrack = cr
	}
	return out
}

// iface returns the NIC and BQL records of interface name (nil without a
// stack, or for an interface the stack was not read for).
func (v stackView) iface(name string) (*LinksNICRecord, *LinksBQLRecord) {
	if v.st == nil {
		return nil, nil
	}
	si, ok := v.st.Sample.Iface(name)
	if !ok {
		return nil, nil
	}
	nic := &LinksNICRecord{Loss: []LinksNICCounter{}, Note: format.Sanitize(si.NICNote, 0)}
	if n := si.NIC; n != nil {
		nic.Driver, nic.Counters = format.Sanitize(n.Driver, 0), len(n.Names)
		nr, valid := v.nicRates(name)
		if valid {
			nic.LostPerS = v.rate(nr.Loss())
			for _, c := range nr.Counters {
				nic.Loss = append(nic.Loss, LinksNICCounter{Name: format.Sanitize(c.Name, 0), Class: c.Class.String(), Value: c.Value, PerS: v.rate(c.Delta)})
			}
		} else {
			for i, cl := range n.Classes {
				if cl != triage.NICOther {
					nic.Loss = append(nic.Loss, LinksNICCounter{Name: format.Sanitize(n.Names[i], 0), Class: cl.String(), Value: n.Values[i]})
				}
			}
		}
	}
	bql := &LinksBQLRecord{Queues: []LinksBQLQueue{}, Note: format.Sanitize(si.BQLNote, 0)}
	for _, q := range si.BQL {
		bql.Queues = append(bql.Queues, LinksBQLQueue{Queue: q.Queue, InflightBytes: q.Inflight, LimitBytes: q.Limit})
	}
	return nic, bql
}

func sanitizeList(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = format.Sanitize(s, 0)
	}
	return out
}

// rateText words a per-second rate for the table, "-" when unknown.
func rateText(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', 1, 64) + "/s"
}

// writeStackTable writes the stack part of a sample under the interface
// table: per interface its NIC's loss counters and its BQL, then the
// namespace's softirq, conntrack and endpoint counters.
func (v stackView) writeTable(w io.Writer, rows []triage.LinkRow) {
	if v.st == nil {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NIC\tDRIVER\tLOST/S\tLOSS AND PAUSE COUNTERS\tBQL (INFLIGHT/LIMIT)")
	for _, r := range rows {
		if r.Gone {
			continue
		}
		nic, bql := v.iface(r.Sample.Name)
		if nic == nil {
			continue
		}
		counters := nic.Note
		if nic.Note == "" {
			var rising []string
			for _, c := range nic.Loss {
				if c.PerS != nil && *c.PerS > 0 {
					rising = append(rising, fmt.Sprintf("%s %s", format.Sanitize(c.Name, 40), rateText(c.PerS)))
				}
			}
			counters = strings.Join(rising, ", ")
			switch {
			case counters != "":
			case nic.LostPerS == nil:
				counters = fmt.Sprintf("%d loss and pause counters of %d", len(nic.Loss), nic.Counters)
			default:
				counters = fmt.Sprintf("none rising (%d loss and pause counters of %d)", len(nic.Loss), nic.Counters)
			}
		}
		b := bql.Note
		if len(bql.Queues) > 0 {
			qs := make([]string, len(bql.Queues))
			for i, q := range bql.Queues {
				qs[i] = fmt.Sprintf("tx-%d %d/%d", q.Queue, q.InflightBytes, q.LimitBytes)
			}
			b = strings.Join(qs, " ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", format.Sanitize(r.Sample.Name, 32), orDash(format.Sanitize(nic.Driver, 32)), rateText(nic.LostPerS),
			format.Sanitize(counters, 120), format.Sanitize(b, 120))
	}
	_ = tw.Flush()
	rec := v.record()
	var parts []string
	if s := rec.Softnet; s != nil {
		p := fmt.Sprintf("softirq drops %s (time squeeze %s)", rateText(s.Dropped.PerS), rateText(s.TimeSqueeze.PerS))
		for _, c := range s.CPUs {
			if c.Dropped.PerS != nil && *c.Dropped.PerS > 0 {
				p += fmt.Sprintf(", CPU %d %s", c.CPU, rateText(c.Dropped.PerS))
			}
		}
		parts = append(parts, p)
	}
	if c := rec.Conntrack; c != nil {
		p := fmt.Sprintf("conntrack %d", c.Count)
		if c.Fill != nil {
			p = fmt.Sprintf("conntrack %d of %d (%s)", c.Count, c.Max, format.Percent(*c.Fill))
		}
		if c.Drop != nil {
			p += fmt.Sprintf(", drops %s, early drops %s, insert failures %s", rateText(c.Drop.PerS), rateText(c.EarlyDrop.PerS), rateText(c.InsertFailed.PerS))
		}
		parts = append(parts, p)
	}
	if e := rec.EndpointDrops; e != nil {
		parts = append(parts, fmt.Sprintf("endpoint drops %s (listen %s, backlog %s, udp rcvbuf %s, sndbuf %s)", rateText(e.PerS),
			rateText(rec.TCP.ListenDrops.PerS), rateText(rec.TCP.BacklogDrops.PerS), rateText(rec.UDP.RcvbufErrors.PerS), rateText(rec.UDP.SndbufErrors.PerS)))
		parts = append(parts, fmt.Sprintf("tcp retransmits %s, timeouts %s", rateText(rec.TCP.RetransSegs.PerS), rateText(rec.TCP.Timeouts.PerS)))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "stack: %s\n", strings.Join(parts, "; "))
	}
	for _, a := range rec.Absent {
		fmt.Fprintf(w, "absent: %s\n", format.Sanitize(a, 200))
	}
	for _, e := range rec.Errors {
		fmt.Fprintf(w, "error: %s\n", format.Sanitize(e, 200))
	}
}

// csv returns the stack cells of one interface's CSV row (LinksCSVHeader's
// last columns); empty cells when unknown.
func (v stackView) csv(name string) []string {
	out := make([]string, len(linksStackCSV))
	if v.st == nil {
		return out
	}
	f := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	if nic, bql := v.iface(name); nic != nil {
		out[0], out[1] = nic.Driver, f(nic.LostPerS)
		if len(bql.Queues) > 0 {
			var in, lim uint64
			for _, q := range bql.Queues {
				in += q.InflightBytes
				lim += q.LimitBytes
			}
			out[2], out[3] = strconv.FormatUint(in, 10), strconv.FormatUint(lim, 10)
		}
	}
	rec := v.record()
	if rec.Softnet != nil {
		out[4] = f(rec.Softnet.Dropped.PerS)
	}
	if c := rec.Conntrack; c != nil {
		out[5], out[6] = strconv.FormatUint(c.Count, 10), strconv.FormatUint(c.Max, 10)
	}
	if rec.EndpointDrops != nil {
		out[7] = f(rec.EndpointDrops.PerS)
	}
	return out
}

// linksStackCSV are the stack columns of links' CSV.
var linksStackCSV = []string{"nic_driver", "nic_lost_per_s", "bql_inflight_bytes", "bql_limit_bytes",
	"softirq_drops_per_s", "conntrack_count", "conntrack_max", "endpoint_drops_per_s"}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
