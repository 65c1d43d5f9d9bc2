package output

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"netriage/triage/egress"
	"netriage/triage/names"
	"netriage/views/format"
)

// EgressOptions configure an EgressWriter.
type EgressOptions struct {
	// Format is "table", "json" (NDJSON) or "csv".
	Format string
	Units  format.Units
	// By are the fields grouped by (none: one group); Sort orders groups.
	By   []egress.Field
	Sort egress.SortKey
	// Limit shows at most this many groups (0: all); the total is of all.
	Limit int
	// Table classes the rows, Prices prices them.
	Table  *egress.Table
	Prices egress.Prices
}

// EgressInput is one record's data: the engine's egress rows at a time.
type EgressInput struct {
	Seq        uint64
	Time       time.Time
	Start      time.Time
	Final      bool
	RateSecond int // seconds the rates average over (40, or less early on)
	Rows       []egress.Row
	// FoldedFlows counts flows folded into their class's row.
	FoldedFlows uint64
	// Names are the passive names' counts (nil when they do not run).
	Names *EgressNames
}

// EgressNames are the passive names' counts in an egress record: what the
// capture fed them and the cache.
type EgressNames struct {
	Tap   names.TapStats
	Cache names.Stats
}

// EgressNamesRecord is the passive names' health in an EgressRecord.
type EgressNamesRecord struct {
	DNSResponses uint64 `json:"dns_responses"`
	DNSMalformed uint64 `json:"dns_malformed"`
	DNSAnswers   uint64 `json:"dns_answers"`
	TLSHellos    uint64 `json:"tls_hellos"`
	TLSNames     uint64 `json:"tls_names"`
	RingDrops    uint64 `json:"ring_drops"`
	CacheEntries int    `json:"cache_entries"`
	CacheEvicted uint64 `json:"cache_evicted"`
	CacheExpired uint64 `json:"cache_expired"`
	RefusedNames uint64 `json:"refused_names"`
}

func namesRecord(n *EgressNames) *EgressNamesRecord {
	if n == nil {
		return nil
	}
	return &EgressNamesRecord{DNSResponses: n.Tap.Messages, DNSMalformed: n.Tap.Malformed, DNSAnswers: n.Tap.Answers,
		TLSHellos: n.Tap.Hellos, TLSNames: n.Tap.SNIs, RingDrops: n.Tap.Drops,
		CacheEntries: n.Cache.Entries, CacheEvicted: n.Cache.Evicted, CacheExpired: n.Cache.Expired, RefusedNames: n.Cache.Refused}
}

// EgressRecord is one NDJSON record of egress (docs/json.md, section
// "Egress").
type EgressRecord struct {
	Seq         uint64              `json:"seq"`
	Time        time.Time           `json:"time"`
	Start       time.Time           `json:"start"`
	Final       bool                `json:"final,omitempty"`
	By          []string            `json:"by"`
	Sort        string              `json:"sort"`
	RateSeconds int                 `json:"rate_seconds"`
	Unit        string              `json:"unit"`
	Currency    string              `json:"currency"`
	Groups      []EgressGroupRecord `json:"groups"`
	Shown       int                 `json:"groups_shown"`
	GroupsTotal int                 `json:"groups_total"`
	Total       EgressGroupRecord   `json:"total"`
	FoldedFlows uint64              `json:"folded_flows"`
	// Names is the passive names' health, null when they do not run.
	Names *EgressNamesRecord `json:"names"`
}

// EgressGroupRecord is one group of an EgressRecord; the fields not grouped
// by are empty. Cost is null when none of the group's bytes has a price;
// cost_unpriced_bytes are the bytes whose class and direction have none
// (cost then covers the rest only).
type EgressGroupRecord struct {
	Class                string   `json:"class,omitempty"`
	Network              string   `json:"network,omitempty"`
	Name                 string   `json:"name,omitempty"`
	Process              string   `json:"process,omitempty"`
	Rows                 int      `json:"rows"`
	SentBytes            uint64   `json:"sent_bytes"`
	ReceivedBytes        uint64   `json:"received_bytes"`
	SentBytesPerS        float64  `json:"sent_bytes_per_s"`
	ReceivedBytesPerS    float64  `json:"received_bytes_per_s"`
	Cost                 *float64 `json:"cost"`
	CostUnpricedBytes    uint64   `json:"cost_unpriced_bytes"`
	CostPerHour          *float64 `json:"cost_per_hour"`
	UnpricedBytesPerHour float64  `json:"unpriced_bytes_per_hour"`
}

// EgressWriter writes egress records.
type EgressWriter struct {
	w   io.Writer
	o   EgressOptions
	csv *csv.Writer
	n   int
}

// NewEgressWriter returns a writer of o.Format to w.
func NewEgressWriter(w io.Writer, o EgressOptions) *EgressWriter {
	ew := &EgressWriter{w: w, o: o}
	if o.Format == "csv" {
		ew.csv = csv.NewWriter(w)
	}
	return ew
}

// Summary aggregates in's rows as the writer's options say.
func (ew *EgressWriter) Summary(in EgressInput) egress.Summary {
	return egress.Aggregate(in.Rows, ew.o.Table, ew.o.Prices, ew.o.By, ew.o.Sort)
}

// Write writes one record.
func (ew *EgressWriter) Write(in EgressInput) error {
	sum := ew.Summary(in)
	ew.n++
	switch ew.o.Format {
	case "json":
		return ew.json(in, sum)
	case "csv":
		return ew.writeCSV(in, sum)
	}
	return ew.table(in, sum)
}

func (ew *EgressWriter) shown(sum egress.Summary) []egress.Group {
	if ew.o.Limit > 0 && len(sum.Groups) > ew.o.Limit {
		return sum.Groups[:ew.o.Limit]
	}
	return sum.Groups
}

func fieldNames(by []egress.Field) []string {
	out := make([]string, len(by))
	for i, f := range by {
		out[i] = f.String()
	}
	return out
}

func sortName(k egress.SortKey) string {
	switch k {
	case egress.SortSent:
		return "sent"
	case egress.SortBytes:
		return "bytes"
	}
	return "cost"
}

func egressGroup(g egress.Group) EgressGroupRecord {
	r := EgressGroupRecord{
		Class: format.Sanitize(string(g.Key.Class), 40), Network: format.Sanitize(g.Key.Network, 120),
		Name: format.Sanitize(g.Key.Name, 255), Process: format.Sanitize(g.Key.Process, 120),
		Rows: g.Rows, SentBytes: g.Sent, ReceivedBytes: g.Received,
		SentBytesPerS: round3(g.SentRate), ReceivedBytesPerS: round3(g.ReceivedRate),
		CostUnpricedBytes: g.Cost.UnpricedBytes, UnpricedBytesPerHour: round3(g.PerHour.UnpricedBytesPerHr),
	}
	if g.Cost.UnpricedBytes < g.Sent+g.Received {
		v := round6(g.Cost.Amount)
		r.Cost = &v
	}
	if !format.AllUnpriced(g.PerHour.UnpricedBytesPerHr, (g.SentRate+g.ReceivedRate)*3600) {
		v := round6(g.PerHour.Amount)
		r.CostPerHour = &v
	}
	return r
}

func round6(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 6, 64), 64)
	return f
}

func (ew *EgressWriter) json(in EgressInput, sum egress.Summary) error {
	rec := EgressRecord{Seq: in.Seq, Time: in.Time.UTC(), Start: in.Start.UTC(), Final: in.Final,
		By: fieldNames(sum.By), Sort: sortName(ew.o.Sort), RateSeconds: in.RateSecond,
		Unit: ew.o.Prices.Unit.String(), Currency: format.Sanitize(ew.o.Prices.Currency, 8),
		Groups: []EgressGroupRecord{}, GroupsTotal: len(sum.Groups), Total: egressGroup(sum.Total), FoldedFlows: in.FoldedFlows, Names: namesRecord(in.Names)}
	for _, g := range ew.shown(sum) {
		rec.Groups = append(rec.Groups, egressGroup(g))
	}
	rec.Shown = len(rec.Groups)
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = ew.w.Write(append(b, '\n'))
	return err
}

var egressCSVHeader = []string{"seq", "time", "class", "network", "name", "process", "sent_bytes", "received_bytes",
	"sent_bytes_per_s", "received_bytes_per_s", "cost", "cost_unpriced_bytes", "cost_per_hour", "unpriced_bytes_per_hour", "currency"}

func (ew *EgressWriter) writeCSV(in EgressInput, sum egress.Summary) error {
	if ew.n == 1 {
		if err := ew.csv.Write(egressCSVHeader); err != nil {
			return err
		}
	}
	opt := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	t := in.Time.UTC().Format(time.RFC3339Nano)
	for _, g := range ew.shown(sum) {
		r := egressGroup(g)
		if err := ew.csv.Write([]string{strconv.FormatUint(in.Seq, 10), t, format.Cell(r.Class), format.Cell(r.Network),
			format.Cell(r.Name), format.Cell(r.Process), strconv.FormatUint(r.SentBytes, 10), strconv.FormatUint(r.ReceivedBytes, 10),
			num(r.SentBytesPerS), num(r.ReceivedBytesPerS), opt(r.Cost), strconv.FormatUint(r.CostUnpricedBytes, 10),
			opt(r.CostPerHour), num(r.UnpricedBytesPerHour), format.Cell(ew.o.Prices.Currency)}); err != nil {
			return err
		}
	}
	ew.csv.Flush()
	return ew.csv.Error()
}

func (ew *EgressWriter) table(in EgressInput, sum egress.Summary) error {
	if ew.n > 1 {
		fmt.Fprintln(ew.w)
	}
	by := "everything together"
	if len(sum.By) > 0 {
		by = strings.Join(fieldNames(sum.By), ",")
	}
	prices := "no prices configured: bytes only (egress.prices, docs/egress.md)"
	if len(ew.o.Prices.Classes) > 0 {
		prices = "prices per " + ew.o.Prices.Unit.String()
		if c := format.Sanitize(ew.o.Prices.Currency, 8); c != "" {
			prices += " in " + c
		}
	}
	mark := ""
	if in.RateSecond > 0 && in.RateSecond < 40 {
		mark = "*"
	}
	fmt.Fprintf(ew.w, "egress at %s, %s since start, by %s, sorted by %s; %s\n", in.Time.UTC().Format("15:04:05"),
		in.Time.Sub(in.Start).Round(time.Second), by, sortName(ew.o.Sort), prices)
	tw := tabwriter.NewWriter(ew.w, 0, 0, 2, ' ', 0)
	var head []string
	for _, f := range sum.By {
		head = append(head, strings.ToUpper(f.String()))
	}
	head = append(head, "SENT", "RECEIVED", "SENT/S"+mark, "RECV/S"+mark, "COST", "COST/H"+mark)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	row := func(g egress.Group, total bool) {
		var cells []string
		for i, f := range sum.By {
			v := keyField(g.Key, f)
			if total {
				v = ""
				if i == 0 {
					v = "TOTAL"
				}
			}
			cells = append(cells, format.Sanitize(v, 60))
		}
		cells = append(cells, format.Bytes(g.Sent, ew.o.Units.IEC), format.Bytes(g.Received, ew.o.Units.IEC),
			format.Rate(g.SentRate, ew.o.Units), format.Rate(g.ReceivedRate, ew.o.Units),
			format.Money(g.Cost.Amount, float64(g.Cost.UnpricedBytes), float64(g.Sent+g.Received), ew.o.Prices.Currency),
			format.Money(g.PerHour.Amount, g.PerHour.UnpricedBytesPerHr, (g.SentRate+g.ReceivedRate)*3600, ew.o.Prices.Currency))
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if len(sum.By) > 0 {
		for _, g := range ew.shown(sum) {
			row(g, false)
		}
	}
	row(sum.Total, true)
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := len(sum.Groups) - len(ew.shown(sum)); n > 0 {
		fmt.Fprintf(ew.w, "(%s in the total; -L 0 shows all)\n", format.Plural(n, "more group"))
	}
	if in.FoldedFlows > 0 {
		fmt.Fprintf(ew.w, "note: %s went to their class's (other) row: more remote hosts than the egress rows hold\n", format.Plural(int(in.FoldedFlows), "flow"))
	}
	if n := in.Names; n != nil && (n.Tap.Drops > 0 || n.Cache.Evicted > 0) {
		fmt.Fprintf(ew.w, "note: names: %s dropped by the names ring, %s evicted from the cache: some remotes may show addresses only\n",
			format.Plural(int(n.Tap.Drops), "packet"), format.Plural(int(n.Cache.Evicted), "name"))
	}
	return nil
}

func keyField(k egress.Key, f egress.Field) string {
	switch f {
	case egress.ByClass:
		return string(k.Class)
	case egress.ByNetwork:
		return k.Network
	case egress.ByName:
		return k.Name
	case egress.ByProcess:
		if k.Process == "" {
			return "(unattributed)"
		}
		return k.Process
	}
	return ""
}
