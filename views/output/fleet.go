package output

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"netriage/triage/fleet"
	"netriage/views/format"
)

// FleetRecord is fleet's JSON document (docs/json.md, "Fleet").
type FleetRecord struct {
	Prometheus    string      `json:"prometheus"`
	Time          *time.Time  `json:"time"`
	WindowSeconds float64     `json:"window_seconds"`
	Hosts         []string    `json:"hosts"`
	SilentHosts   []string    `json:"silent_hosts"`
	Links         int         `json:"links"`
	SaturatedNow  int         `json:"saturated_now"`
	CongestedNow  int         `json:"congested_now"`
	Problems      []FleetLink `json:"problems"`
}

// FleetLink is one saturated or congested link of FleetRecord.
type FleetLink struct {
	Host             string         `json:"host"`
	Interface        string         `json:"interface"`
	Direction        string         `json:"direction"`
	Now              string         `json:"now"`
	Utilization      *float64       `json:"utilization"`
	PeakUtilization  *float64       `json:"peak_utilization"`
	SaturatedSeconds float64        `json:"saturated_seconds"`
	CongestedSeconds float64        `json:"congested_seconds"`
	FlowBps          *uint64        `json:"flow_bps"`
	Processes        []FleetProcess `json:"processes"`
	Remotes          []FleetRemote  `json:"remotes"`
}

// FleetProcess is one of a link's top processes.
type FleetProcess struct {
	Process   string   `json:"process"`
	Container string   `json:"container"`
	Scope     string   `json:"scope"`
	RateBps   uint64   `json:"rate_bps"`
	Share     *float64 `json:"share"`
}

// FleetRemote is one of a link's top remotes.
type FleetRemote struct {
	Remote  string   `json:"remote"`
	Name    string   `json:"name"`
	Scope   string   `json:"scope"`
	RateBps uint64   `json:"rate_bps"`
	Share   *float64 `json:"share"`
}

// Caps of the label values fleet prints: they come from a Prometheus
// server, so they are untrusted whatever serve exported.
const (
	fleetHostCap      = 128
	fleetIfaceCap     = 64
	fleetProcessCap   = 64
	fleetContainerCap = 96
	fleetRemoteCap    = 64
	fleetNameCap      = 128
	fleetScopeCap     = 128
)

// NewFleetRecord is rep as fleet's JSON record, every string sanitised.
func NewFleetRecord(rep fleet.Report, server string) FleetRecord {
	r := FleetRecord{Prometheus: format.Sanitize(server, 0), WindowSeconds: rep.Window.Seconds(),
		Hosts: clean(rep.Hosts, fleetHostCap), SilentHosts: clean(rep.Silent, fleetHostCap),
		Links: rep.Links, SaturatedNow: rep.Saturated, CongestedNow: rep.Congested, Problems: []FleetLink{}}
	if !rep.Time.IsZero() {
		t := rep.Time.UTC()
		r.Time = &t
	}
	for _, l := range rep.Problems {
		fl := FleetLink{Host: format.Sanitize(l.Instance, fleetHostCap), Interface: format.Sanitize(l.Interface, fleetIfaceCap),
			Direction: format.Sanitize(l.Direction, 8), Now: string(l.Now), Utilization: l.Utilization, PeakUtilization: l.Peak,
			SaturatedSeconds: l.SaturatedSeconds, CongestedSeconds: l.CongestedSeconds,
			Processes: []FleetProcess{}, Remotes: []FleetRemote{}}
		if l.FlowBytesPerSec != nil {
			fl.FlowBps = ptr(bps(*l.FlowBytesPerSec))
		}
		if l.Now == fleet.StateNone {
			fl.Now = "none"
		}
		fl.Now = format.Sanitize(fl.Now, 16)
		for _, p := range l.Processes {
			fl.Processes = append(fl.Processes, FleetProcess{Process: format.Sanitize(p.Name, fleetProcessCap),
				Container: format.Sanitize(p.Container, fleetContainerCap), Scope: format.Sanitize(p.Scope, fleetScopeCap),
				RateBps: bps(p.BytesPerSec), Share: p.Share})
		}
		for _, p := range l.Remotes {
			fl.Remotes = append(fl.Remotes, FleetRemote{Remote: format.Sanitize(p.Name, fleetRemoteCap),
				Name: format.Sanitize(p.Host, fleetNameCap), Scope: format.Sanitize(p.Scope, fleetScopeCap),
				RateBps: bps(p.BytesPerSec), Share: p.Share})
		}
		r.Problems = append(r.Problems, fl)
	}
	return r
}

// bps is a rate in bytes per second as whole bits per second.
func bps(bytesPerSec float64) uint64 { return uint64(math.Round(max(bytesPerSec, 0) * 8)) }

func clean(ss []string, n int) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, format.Sanitize(s, n))
	}
	return out
}

// WriteFleet writes fleet's report from server as a table, or as one JSON
// document when outFormat is "json". Rates are in bits per second unless
// u says bytes.
func WriteFleet(w io.Writer, rep fleet.Report, server, outFormat string, u format.Units) error {
	r := NewFleetRecord(rep, server)
	if outFormat == "json" {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("fleet json: %w", err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	return writeFleetTable(w, r, u)
}

func writeFleetTable(w io.Writer, r FleetRecord, u format.Units) error {
	window := shortDuration(time.Duration(r.WindowSeconds * float64(time.Second)))
	at := "no samples"
	if r.Time != nil {
		at = "at " + r.Time.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "Prometheus %s, %s, window %s\n", r.Prometheus, at, window)
	fmt.Fprintf(w, "hosts reporting: %d, links: %d; saturated now: %d, congested now: %d\n", len(r.Hosts), r.Links, r.SaturatedNow, r.CongestedNow)
	if len(r.SilentHosts) > 0 {
		fmt.Fprintf(w, "silent now, seen in the window: %s\n", strings.Join(r.SilentHosts, ", "))
	}
	if len(r.Problems) == 0 {
		_, err := fmt.Fprintf(w, "\nno link saturated or congested, now or in the last %s\n", window)
		return err
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tHOST\tINTERFACE\tDIR\tNOW\tUTIL\tPEAK\tSATURATED\tCONGESTED\tFLOWS")
	for i, l := range r.Problems {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, l.Host, l.Interface, l.Direction, l.Now,
			optPercent(l.Utilization), optPercent(l.PeakUtilization), seconds(l.SaturatedSeconds), seconds(l.CongestedSeconds), optRate(l.FlowBps, u))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ntop talkers (rates over %s):\n", fleet.TalkerRange)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tBY\tTALKER\tRATE\tSHARE")
	for i, l := range r.Problems {
		if len(l.Processes)+len(l.Remotes) == 0 {
			fmt.Fprintf(tw, "%d\t-\t(no talker series: no capture, or no traffic)\t-\t-\n", i+1)
		}
		for _, p := range l.Processes {
			name := p.Process
			if p.Container != "" {
				name += " (" + p.Container + ")"
			}
			fmt.Fprintf(tw, "%d\tprocess\t%s\t%s\t%s\n", i+1, name, format.Rate(float64(p.RateBps)/8, u), optPercent(p.Share))
		}
		for _, p := range l.Remotes {
			name := p.Remote
			if p.Name != "" {
				name += " (" + p.Name + ")"
			}
			fmt.Fprintf(tw, "%d\tremote\t%s\t%s\t%s\n", i+1, name, format.Rate(float64(p.RateBps)/8, u), optPercent(p.Share))
		}
	}
	return tw.Flush()
}

func optPercent(p *float64) string {
	if p == nil {
		return "-"
	}
	return format.Percent(*p)
}

func optRate(bps *uint64, u format.Units) string {
	if bps == nil {
		return "-"
	}
	return format.Rate(float64(*bps)/8, u)
}

// seconds formats a count of seconds as a duration rounded to the second.
func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}

// shortDuration is d without its zero tails: 1h, 1h30m, 90s.
func shortDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
